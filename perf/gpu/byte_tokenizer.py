"""Writes a stand-in tokenizer.json for a random-weight checkpoint (no hub on the GPU machine): byte-level BPE with
the 256 byte symbols and filler tokens up to the model's vocabulary size, no merges, so every id decodes and the
`splitserve generate` command can run end to end on the model.

usage: python3 byte_tokenizer.py MODEL_DIR
"""
import json
import os
import sys

from tokenizers import Tokenizer, decoders, models, pre_tokenizers


def byte_symbols():
    # the GPT-2 byte-to-printable-character table used by byte-level BPE
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = [], 0
    for b in range(256):
        if b in keep:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def main(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        vocab_size = json.load(f)["vocab_size"]
    vocab = {c: i for i, c in enumerate(byte_symbols())}
    while len(vocab) < vocab_size:
        vocab[f"w{len(vocab)}"] = len(vocab)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.save(os.path.join(model_dir, "tokenizer.json"))
    print(f"wrote a {vocab_size}-token byte-level tokenizer to {model_dir}")


if __name__ == "__main__":
    main(sys.argv[1])
