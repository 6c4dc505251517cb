package io.splitserve.kernels.cuda;

/**
 * Every kernel of the fatbin with its parameter signature (one letter per parameter, see {@link KernelArgs}).
 * Launch parameters are untyped at the driver level, so this list is checked against the extern "C"
 * declarations of {@code src/main/cuda} by a test that needs no GPU.
 */
enum KernelSpec {
    EMBEDDING_GATHER("embedding_gather", "pppii"),
    RMSNORM("rmsnorm", "pppif"),
    ADD_RMSNORM("add_rmsnorm", "ppppif"),
    HEAD_RMSNORM("head_rmsnorm", "piipif"),
    ROPE_NEOX("rope_neox", "piipiippi"),
    ROPE_KV_WRITE("rope_kv_write", "piiipppppi"),
    SILU_AND_MUL("silu_and_mul", "ppi"),
    BIAS_ADD("bias_add", "ppi"),
    KV_WRITE("kv_write", "ppppipi"),
    KV_COPY_PAGES("kv_copy_pages", "ppii"),
    DECODE_PARTIAL_HD64("decode_attention_partial_hd64", "pipppipppipiiiiif"),
    DECODE_PARTIAL_HD128("decode_attention_partial_hd128", "pipppipppipiiiiif"),
    DECODE_REDUCE("decode_attention_reduce", "pipppiiii"),
    PREFILL_HD64("prefill_attention_hd64", "pipipppppiiiiif"),
    PREFILL_HD128("prefill_attention_hd128", "pipipppppiiiiif"),
    SAMPLE_TOKENS("sample_tokens", "ppiipppppp"),
    APPLY_LOGIT_PROCESSING("apply_logit_processing", "pippp"),
    LOGPROBS_TOP("logprobs_top", "piipp"),
    LOGPROBS_CHOSEN("logprobs_chosen", "pipppppp"),
    GEMV_BF16("gemv_bf16", "ppppiii"),
    GEMV_F32("gemv_f32", "ppppiii"),
    GEMV_SWIGLU("gemv_swiglu", "ppppiii"),
    CRC32C_PARTIAL("crc32c_partial", "pppp"),
    CRC32C_COMBINE("crc32c_combine", "ppp");

    final String function;
    final String signature;

    KernelSpec(String function, String signature) {
        this.function = function;
        this.signature = signature;
    }
}
