/*
 * JNI bridge to cuBLAS for io.splitserve.kernels.cuda.CublasNative.
 *
 * Why it exists: JCublas 12.6 links libcublas.so.12, which CUDA 13 machines do not have. This bridge needs no CUDA
 * headers or libraries at build time: it declares the few cuBLAS entry points it calls and dlopens whichever
 * cuBLAS is installed (libcublas.so.13 first, then .12). All device memory arrives as raw addresses taken from
 * JCuda, and every call returns the cuBLAS status so the Java side can raise a clear error.
 */
#include <jni.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef int (*create_fn)(void **handle);
typedef int (*destroy_fn)(void *handle);
typedef int (*set_stream_fn)(void *handle, void *stream);
typedef int (*set_workspace_fn)(void *handle, void *workspace, size_t bytes);
typedef int (*set_math_mode_fn)(void *handle, int mode);
typedef int (*get_version_fn)(void *handle, int *version);
typedef int (*gemm_ex_fn)(void *handle, int transa, int transb, int m, int n, int k,
                          const void *alpha, const void *a, int a_type, int lda,
                          const void *b, int b_type, int ldb, const void *beta,
                          void *c, int c_type, int ldc, int compute_type, int algo);

/* cublasComputeType_t CUBLAS_COMPUTE_32F and cublasGemmAlgo_t CUBLAS_GEMM_DEFAULT */
#define COMPUTE_32F 68
#define GEMM_DEFAULT (-1)

static void *library;
static create_fn p_create;
static destroy_fn p_destroy;
static set_stream_fn p_set_stream;
static set_workspace_fn p_set_workspace;
static set_math_mode_fn p_set_math_mode;
static get_version_fn p_get_version;
static gemm_ex_fn p_gemm_ex;

static void throw_error(JNIEnv *env, const char *message) {
    jclass cls = (*env)->FindClass(env, "java/lang/IllegalStateException");
    if (cls != NULL) {
        (*env)->ThrowNew(env, cls, message);
    }
}

static void *symbol(JNIEnv *env, const char *name, const char *lib_name) {
    void *p = dlsym(library, name);
    if (p == NULL) {
        char message[512];
        snprintf(message, sizeof message, "cuBLAS library %s lacks symbol %s", lib_name, name);
        throw_error(env, message);
    }
    return p;
}

/* Loads the first library of `names` that dlopen accepts; returns its name, or throws naming every one tried. */
JNIEXPORT jstring JNICALL Java_io_splitserve_kernels_cuda_CublasNative_nLoad(JNIEnv *env, jclass cls, jobjectArray names) {
    (void) cls;
    if (library != NULL) {
        return (*env)->NewStringUTF(env, "already loaded");
    }
    char tried[2048];
    tried[0] = '\0';
    jsize count = (*env)->GetArrayLength(env, names);
    for (jsize i = 0; i < count; i++) {
        jstring jname = (jstring) (*env)->GetObjectArrayElement(env, names, i);
        const char *name = (*env)->GetStringUTFChars(env, jname, NULL);
        void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (handle != NULL) {
            library = handle;
            p_create = (create_fn) symbol(env, "cublasCreate_v2", name);
            p_destroy = (destroy_fn) symbol(env, "cublasDestroy_v2", name);
            p_set_stream = (set_stream_fn) symbol(env, "cublasSetStream_v2", name);
            p_set_workspace = (set_workspace_fn) symbol(env, "cublasSetWorkspace_v2", name);
            p_set_math_mode = (set_math_mode_fn) symbol(env, "cublasSetMathMode", name);
            p_get_version = (get_version_fn) symbol(env, "cublasGetVersion_v2", name);
            p_gemm_ex = (gemm_ex_fn) symbol(env, "cublasGemmEx", name);
            jstring loaded = (*env)->NewStringUTF(env, name);
            (*env)->ReleaseStringUTFChars(env, jname, name);
            return loaded;
        }
        size_t used = strlen(tried);
        snprintf(tried + used, sizeof tried - used, "%s%s (%s)", used == 0 ? "" : "; ", name, dlerror());
        (*env)->ReleaseStringUTFChars(env, jname, name);
    }
    char message[2300];
    snprintf(message, sizeof message, "no cuBLAS library could be loaded; tried: %s", tried);
    throw_error(env, message);
    return NULL;
}

JNIEXPORT jlong JNICALL Java_io_splitserve_kernels_cuda_CublasNative_nCreate(JNIEnv *env, jclass cls, jintArray status) {
    (void) cls;
    void *handle = NULL;
    jint s = p_create(&handle);
    (*env)->SetIntArrayRegion(env, status, 0, 1, &s);
    return (jlong) (intptr_t) handle;
}

JNIEXPORT jint JNICALL Java_io_splitserve_kernels_cuda_CublasNative_nDestroy(JNIEnv *env, jclass cls, jlong handle) {
    (void) env; (void) cls;
    return p_destroy((void *) (intptr_t) handle);
}

JNIEXPORT jint JNICALL Java_io_splitserve_kernels_cuda_CublasNative_nSetStream(JNIEnv *env, jclass cls, jlong handle, jlong stream) {
    (void) env; (void) cls;
    return p_set_stream((void *) (intptr_t) handle, (void *) (intptr_t) stream);
}

JNIEXPORT jint JNICALL Java_io_splitserve_kernels_cuda_CublasNative_nSetWorkspace(JNIEnv *env, jclass cls, jlong handle, jlong workspace, jlong bytes) {
    (void) env; (void) cls;
    return p_set_workspace((void *) (intptr_t) handle, (void *) (intptr_t) workspace, (size_t) bytes);
}

JNIEXPORT jint JNICALL Java_io_splitserve_kernels_cuda_CublasNative_nSetMathMode(JNIEnv *env, jclass cls, jlong handle, jint mode) {
    (void) env; (void) cls;
    return p_set_math_mode((void *) (intptr_t) handle, mode);
}

JNIEXPORT jint JNICALL Java_io_splitserve_kernels_cuda_CublasNative_nVersion(JNIEnv *env, jclass cls, jlong handle) {
    (void) env; (void) cls;
    int version = -1;
    int s = p_get_version((void *) (intptr_t) handle, &version);
    return s == 0 ? version : -1;
}

/* Column-major C = alpha * op(A) * op(B) + beta * C with fp32 accumulation; alpha and beta are host floats. */
JNIEXPORT jint JNICALL Java_io_splitserve_kernels_cuda_CublasNative_nGemmEx(JNIEnv *env, jclass cls, jlong handle,
        jint trans_a, jint trans_b, jint m, jint n, jint k, jfloat alpha, jlong a, jint a_type, jint lda,
        jlong b, jint b_type, jint ldb, jfloat beta, jlong c, jint c_type, jint ldc) {
    (void) env; (void) cls;
    return p_gemm_ex((void *) (intptr_t) handle, trans_a, trans_b, m, n, k, &alpha,
                     (const void *) (intptr_t) a, a_type, lda, (const void *) (intptr_t) b, b_type, ldb, &beta,
                     (void *) (intptr_t) c, c_type, ldc, COMPUTE_32F, GEMM_DEFAULT);
}
