#!/bin/sh
# wasm-client/browser/print-sizes.sh — prints each file's size raw and gzipped (gzip -9), the
# numbers that matter for a page load, and their total against the budget (issue 15: the
# browser client, wasm + loader + tandem.mjs, within 64 KiB gzipped; since issue 18 the web
# root's tandem.mjs holds the loader). Run by the wasm build after every link.
set -eu
budget=65536
total_raw=0
total_gz=0
for file in "$@"; do
  raw=$(wc -c < "$file")
  gz=$(gzip -9 -c "$file" | wc -c)
  total_raw=$((total_raw + raw))
  total_gz=$((total_gz + gz))
  printf 'tandem size: %-18s %8d bytes raw, %8d bytes gzip -9\n' "$(basename "$file")" "$raw" "$gz"
done
if [ "$total_gz" -le "$budget" ]; then verdict="within"; else verdict="over"; fi
printf 'tandem size: %-18s %8d bytes raw, %8d bytes gzip -9 (%s the %d budget by %d)\n' \
  "total" "$total_raw" "$total_gz" "$verdict" "$budget" "$(( total_gz > budget ? total_gz - budget : budget - total_gz ))"
