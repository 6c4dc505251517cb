package io.splitserve.kernels.cuda;

import java.lang.reflect.Field;

import jcuda.NativePointerObject;
import jcuda.Pointer;

/**
 * Reads (and for reusable pointers sets) the raw native address behind a JCuda handle or pointer, so device memory, streams and handles can be
 * passed to kernels as plain 64-bit values and to the cuBLAS JNI bridge. JCuda keeps the address in the private
 * {@code nativePointer} field of {@link NativePointerObject}, plus {@code byteOffset} for a {@link Pointer};
 * this class is the only place that knows that.
 */
final class RawAddress {
    private static final Field NATIVE_POINTER = field(NativePointerObject.class, "nativePointer");
    private static final Field BYTE_OFFSET = field(Pointer.class, "byteOffset");

    private RawAddress() {
    }

    /** Address of a handle (stream, event, context) or of a pointer including its byte offset. */
    static long of(NativePointerObject object) {
        try {
            long address = NATIVE_POINTER.getLong(object);
            if (object instanceof Pointer) {
                address += BYTE_OFFSET.getLong(object);
            }
            return address;
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot read the native address of a JCuda object", e);
        }
    }

    /**
     * Points a reusable pointer object at {@code address}, so a call that takes a JCuda pointer can be given a raw
     * address without allocating one per call.
     */
    static <P extends Pointer> P point(P pointer, long address) {
        try {
            NATIVE_POINTER.setLong(pointer, address);
            BYTE_OFFSET.setLong(pointer, 0L);
            return pointer;
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot set the native address of a JCuda pointer", e);
        }
    }

    private static Field field(Class<?> owner, String name) {
        try {
            Field f = owner.getDeclaredField(name);
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("this JCuda version has no field " + owner.getName() + "." + name, e);
        }
    }
}
