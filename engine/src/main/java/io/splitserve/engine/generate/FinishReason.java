package io.splitserve.engine.generate;

/** Why a generation ended, with the names the OpenAI API uses. */
public enum FinishReason {
    /** A stop token or stop string was produced. */
    STOP("stop"),
    /** The token limit was reached. */
    LENGTH("length");

    private final String apiName;

    FinishReason(String apiName) {
        this.apiName = apiName;
    }

    public String apiName() {
        return apiName;
    }
}
