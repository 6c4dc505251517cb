package io.splitserve.model;

/**
 * The transformer families the engine runs, by their Hugging Face {@code architectures} name, and the structural
 * switches that tell them apart in the forward pass.
 */
public enum Architecture {
    /** Llama 2/3.x: optional attention bias from config, llama3 rope scaling. */
    LLAMA("LlamaForCausalLM", false, false),
    /** Qwen2 / Qwen2.5: bias on the q, k and v projections. */
    QWEN2("Qwen2ForCausalLM", true, false),
    /** Qwen3: per-head RMSNorm of q and k before RoPE, explicit head_dim. */
    QWEN3("Qwen3ForCausalLM", false, true);

    private final String hfName;
    private final boolean qkvBias;
    private final boolean qkNorm;

    Architecture(String hfName, boolean qkvBias, boolean qkNorm) {
        this.hfName = hfName;
        this.qkvBias = qkvBias;
        this.qkNorm = qkNorm;
    }

    public String hfName() {
        return hfName;
    }

    /** Whether q/k/v projections always carry a bias (Llama decides per config instead). */
    public boolean qkvBias() {
        return qkvBias;
    }

    public boolean qkNorm() {
        return qkNorm;
    }

    /** The architecture with this Hugging Face name, or null. */
    public static Architecture fromHfName(String name) {
        for (Architecture a : values()) {
            if (a.hfName.equals(name)) {
                return a;
            }
        }
        return null;
    }

    public static String supportedNames() {
        final StringBuilder names = new StringBuilder();
        for (Architecture a : values()) {
            names.append(names.length() == 0 ? "" : ", ").append(a.hfName);
        }
        return names.toString();
    }
}
