package io.splitserve.kernels.cuda;

import static jcuda.driver.JCudaDriver.cuCtxEnablePeerAccess;
import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceCanAccessPeer;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDeviceGetUuid;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUuuid;
import jcuda.driver.JCudaDriver;

/**
 * One GPU with its primary context and the module of every SplitServe kernel, loaded from the fatbin that the
 * build compiled with nvcc. The thread that calls {@link #open} (or {@link #makeCurrent}) owns the context;
 * like every class of this package it is meant for one GPU worker thread.
 *
 * <p>{@link #unavailableReason()} answers, in one line and without throwing, why the CUDA backend cannot run
 * here (kernels not built, JCuda or the driver missing, no device), so a backend can say so at start-up.
 */
public final class CudaDevice implements AutoCloseable {
    /** Class-path location of the fatbin holding every kernel (absent when nvcc was missing at build time). */
    public static final String FATBIN_RESOURCE = "/io/splitserve/kernels/cuda/native/splitserve_kernels.fatbin";

    private static boolean availabilityChecked;
    private static String unavailable;

    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUmodule module = new CUmodule();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final int ordinal;
    private final String name;
    private final int multiprocessors;
    private final int computeCapability;
    private final String uuid;

    private CudaDevice(int ordinal) {
        this.ordinal = ordinal;
        JCudaDriver.setExceptionsEnabled(true);
        cuInit(0);
        cuDeviceGet(device, ordinal);
        cuDevicePrimaryCtxRetain(context, device);
        cuCtxSetCurrent(context);
        byte[] nameBytes = new byte[256];
        cuDeviceGetName(nameBytes, nameBytes.length, device);
        int end = 0;
        while (end < nameBytes.length && nameBytes[end] != 0) {
            end++;
        }
        this.name = new String(nameBytes, 0, end, StandardCharsets.US_ASCII);
        this.multiprocessors = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        this.computeCapability = 10 * attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
                + attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        this.uuid = uuidOf(device);
        byte[] fatbin = readFatbin();
        if (fatbin == null) {
            throw new IllegalStateException("CUDA kernels were not built (nvcc was absent at build time)");
        }
        cuModuleLoadData(module, fatbin);
    }

    /** Opens GPU {@code ordinal}, makes its primary context current on this thread and loads the kernels. */
    public static CudaDevice open(int ordinal) {
        String reason = unavailableReason();
        if (reason != null) {
            throw new IllegalStateException("CUDA backend unavailable: " + reason);
        }
        return new CudaDevice(ordinal);
    }

    /**
     * Why the CUDA backend cannot run here, in one line, or null when it can (kernels built, JCuda and the
     * driver load, at least one device).
     */
    public static synchronized String unavailableReason() {
        if (availabilityChecked) {
            return unavailable;
        }
        availabilityChecked = true;
        unavailable = probe();
        return unavailable;
    }

    private static String probe() {
        if (CudaDevice.class.getResource(FATBIN_RESOURCE) == null) {
            return "CUDA kernels were not built (nvcc was absent at build time)";
        }
        try {
            JCudaDriver.setExceptionsEnabled(false);
            int status = cuInit(0);
            if (status != 0) {
                return "the CUDA driver did not initialise (" + jcuda.driver.CUresult.stringFor(status) + ")";
            }
            int[] count = {0};
            cuDeviceGetCount(count);
            JCudaDriver.setExceptionsEnabled(true);
            return count[0] == 0 ? "no CUDA device present" : null;
        } catch (LinkageError e) {
            String cause = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            return "the CUDA driver or JCuda's native library could not be loaded (" + cause.lines().findFirst().orElse("")
                    + ")";
        }
    }

    private static byte[] readFatbin() {
        try (InputStream in = CudaDevice.class.getResourceAsStream(FATBIN_RESOURCE)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + FATBIN_RESOURCE + ": " + e.getMessage(), e);
        }
    }

    private int attribute(int attribute) {
        int[] value = {0};
        cuDeviceGetAttribute(value, attribute, device);
        return value[0];
    }

    /** The kernel named {@code name} (its extern "C" name in the .cu file). */
    public CUfunction function(String functionName) {
        return functions.computeIfAbsent(functionName, n -> {
            CUfunction f = new CUfunction();
            cuModuleGetFunction(f, module, n);
            return f;
        });
    }

    /** Binds this device's context to the calling thread. */
    public void makeCurrent() {
        cuCtxSetCurrent(context);
    }

    /** Waits for all work on this device's context. */
    public void synchronize() {
        cuCtxSynchronize();
    }

    public int ordinal() {
        return ordinal;
    }

    public String name() {
        return name;
    }

    public int multiprocessorCount() {
        return multiprocessors;
    }

    /**
     * The GPU's UUID as 32 lower-case hex digits: the same physical GPU gives the same string in every process of
     * the host, whatever CUDA_VISIBLE_DEVICES makes its ordinal there.
     */
    public String uuid() {
        return uuid;
    }

    /** The ordinal, in this process, of the GPU with {@code uuid} (as {@link #uuid()} writes it), or -1 if not visible. */
    public static int ordinalOfUuid(String uuid) {
        JCudaDriver.setExceptionsEnabled(true);
        cuInit(0);
        int[] count = {0};
        cuDeviceGetCount(count);
        for (int ordinal = 0; ordinal < count[0]; ordinal++) {
            CUdevice candidate = new CUdevice();
            cuDeviceGet(candidate, ordinal);
            if (uuidOf(candidate).equalsIgnoreCase(uuid)) {
                return ordinal;
            }
        }
        return -1;
    }

    private static String uuidOf(CUdevice device) {
        CUuuid id = new CUuuid();
        cuDeviceGetUuid(id, device);
        StringBuilder hex = new StringBuilder(32);
        for (byte b : id.bytes) {
            hex.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
        }
        return hex.toString();
    }

    /** Whether this GPU can map memory of GPU {@code otherOrdinal} (always for itself). */
    public boolean canAccessPeer(int otherOrdinal) {
        if (otherOrdinal == ordinal) {
            return true;
        }
        int[] count = {0};
        cuDeviceGetCount(count);
        if (otherOrdinal < 0 || otherOrdinal >= count[0]) {
            throw new IllegalArgumentException("no GPU " + otherOrdinal + " in this process (" + count[0] + " visible)");
        }
        CUdevice other = new CUdevice();
        cuDeviceGet(other, otherOrdinal);
        int[] can = {0};
        cuDeviceCanAccessPeer(can, device, other);
        return can[0] != 0;
    }

    /**
     * Lets this device's context read and write {@code other}'s memory directly (copies and kernels on peer
     * addresses). Idempotent: access already enabled, or {@code other} being this same GPU, is fine. A refusal
     * (no peer path between the GPUs, for one) throws an {@link IllegalStateException} naming the CUresult.
     * Leaves this device's context current.
     */
    public void enablePeerAccess(CudaDevice other) {
        if (other.ordinal == ordinal) {
            return;
        }
        cuCtxSetCurrent(context);
        String result = DriverCall.result(() -> cuCtxEnablePeerAccess(other.context, 0));
        if (!DriverCall.SUCCESS.equals(result)
                && !CUresult.stringFor(CUresult.CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED).equals(result)) {
            throw new IllegalStateException("enabling peer access from GPU " + ordinal + " to GPU " + other.ordinal
                    + " failed: " + result);
        }
    }

    /** Compute capability as major * 10 + minor (90 for Hopper). */
    public int computeCapability() {
        return computeCapability;
    }

    @Override
    public void close() {
        cuCtxSetCurrent(context);
        cuModuleUnload(module);
        cuDevicePrimaryCtxRelease(device);
    }
}
