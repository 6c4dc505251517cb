package io.splitserve.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes the trained tokenizers whose Hugging Face goldens the tests compare against, for
 * make_tokenizer_goldens.py: DIR/demo (tokenizer.json and tokenizer_config.json of the demo model) and
 * DIR/corpus_trained (tokenizer.json trained on the test corpus). Run from the module directory after test-compile:
 * {@code java -cp target/classes:target/test-classes:DEPS io.splitserve.tokenizer.WriteTrainedTokenizers DIR}.
 */
public final class WriteTrainedTokenizers {
    private WriteTrainedTokenizers() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: WriteTrainedTokenizers OUTPUT_DIR");
            System.exit(2);
        }
        Path demo = Files.createDirectories(Path.of(args[0], "demo"));
        Files.writeString(demo.resolve("tokenizer.json"), HfGoldens.demoTokenizerJson());
        Files.writeString(demo.resolve("tokenizer_config.json"), BpeTrainer.demoTokenizerConfigJson());
        Path corpus = Files.createDirectories(Path.of(args[0], "corpus_trained"));
        Files.writeString(corpus.resolve("tokenizer.json"), HfGoldens.corpusTrainedTokenizerJson());
    }
}
