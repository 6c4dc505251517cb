package io.splitserve.kernels.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The JNI entry points of the cuBLAS bridge ({@code src/main/c/cublas_bridge.c}) and its loading: the bridge
 * library is extracted from the jar to a temporary file, then it dlopens the installed cuBLAS,
 * {@code libcublas.so.13} first and {@code libcublas.so.12} next, through the loader's search path and
 * then inside {@code CUDA_HOME} and {@code /usr/local/cuda}. Every native call returns the cuBLAS status.
 */
final class CublasNative {
    static final String BRIDGE_RESOURCE = "/io/splitserve/kernels/cuda/native/libsplitserve_cublas.so";
    private static final String[] SONAMES = {"libcublas.so.13", "libcublas.so.12"};

    private static String loadedLibrary;

    private CublasNative() {
    }

    /** Loads the bridge and cuBLAS once; returns the cuBLAS library name, or throws naming what was tried. */
    static synchronized String load() {
        if (loadedLibrary != null) {
            return loadedLibrary;
        }
        try (InputStream in = CublasNative.class.getResourceAsStream(BRIDGE_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the cuBLAS JNI bridge was not built (gcc was absent at build time)");
            }
            Path file = Files.createTempFile("splitserve_cublas", ".so");
            file.toFile().deleteOnExit();
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            System.load(file.toAbsolutePath().toString());
        } catch (IOException e) {
            throw new IllegalStateException("cannot extract the cuBLAS JNI bridge: " + e.getMessage(), e);
        }
        loadedLibrary = nLoad(candidates());
        return loadedLibrary;
    }

    /** The sonames through the loader's search path first, then inside CUDA_HOME and /usr/local/cuda. */
    private static String[] candidates() {
        java.util.List<String> names = new java.util.ArrayList<>(java.util.List.of(SONAMES));
        java.util.Set<String> homes = new java.util.LinkedHashSet<>();
        for (String variable : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
            String home = System.getenv(variable);
            if (home != null && !home.isBlank()) {
                homes.add(home);
            }
        }
        homes.add("/usr/local/cuda");
        for (String home : homes) {
            for (String soname : SONAMES) {
                names.add(home + "/lib64/" + soname);
            }
        }
        return names.toArray(new String[0]);
    }

    static native String nLoad(String[] libraries);

    static native long nCreate(int[] status);

    static native int nDestroy(long handle);

    static native int nSetStream(long handle, long stream);

    static native int nSetWorkspace(long handle, long workspace, long bytes);

    static native int nSetMathMode(long handle, int mode);

    static native int nVersion(long handle);

    static native int nGemmEx(long handle, int transA, int transB, int m, int n, int k, float alpha, long a,
                              int aType, int lda, long b, int bType, int ldb, float beta, long c, int cType, int ldc);
}
