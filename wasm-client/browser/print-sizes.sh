#!/bin/sh
# wasm-client/browser/print-sizes.sh — prints each file's size raw and gzipped (gzip -9), the
# numbers that matter for a page load. Run by the wasm build after every link.
set -eu
for file in "$@"; do
  raw=$(wc -c < "$file")
  gz=$(gzip -9 -c "$file" | wc -c)
  printf 'tandem size: %-18s %8d bytes raw, %8d bytes gzip -9\n' "$(basename "$file")" "$raw" "$gz"
done
