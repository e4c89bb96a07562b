#!/usr/bin/env bash
# bench-parquet.sh: kforge's Parquet sink against DuckDB's COPY … TO parquet
# on the same sft rows, side by side, plus the peak memory of exporting a
# build of many rows.
#
#   scripts/bench-parquet.sh [ROWS] [EXPORT_ROWS]     (defaults 200000 and 1000000)
#
# Needs go, node and the npm module @duckdb/node-api (npm install in the repo
# root) and GNU time (/usr/bin/time) for the memory figure.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-200000}
export_rows=${2:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/benchsink" ./sinks/parquet/internal/benchsink
go build -o "$work/genbuild" ./sinks/release/internal/genbuild
go build -o "$work/kforge" ./cmd/kforge

echo "== $rows sft rows, JSONL in, Parquet (zstd) out; $(nproc) cores"
"$work/benchsink" gen -n "$rows" -o "$work/rows.jsonl"
ls -l "$work/rows.jsonl" | awk '{printf "input: %.1f MB JSONL\n", $5/1e6}'
"$work/benchsink" write -i "$work/rows.jsonl" -o "$work/kf"
"$work/benchsink" write -in-memory -i "$work/rows.jsonl" -o "$work/kf2"
node scripts/duckdb-copy.mjs "$work/rows.jsonl" "$work/duck.parquet"
node scripts/duckdb-copy.mjs "$work/rows.jsonl" "$work/duck1.parquet" 1 | sed 's/^duckdb/duckdb (1 thread)/'
rm -rf "$work/rows.jsonl" "$work/kf" "$work/kf2" "$work"/duck*.parquet

if [ "$export_rows" -gt 0 ]; then
  echo "== kforge export of a build with $export_rows kept variants"
  "$work/genbuild" -out "$work/build" -rows "$export_rows"
  du -sh "$work/build/shards" | awk '{print "shards on disk: " $1}'
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$work/kforge" export --from "$work/build" --out "$work/release" 2> "$work/time.txt" >/dev/null
    grep -E 'Maximum resident|Elapsed' "$work/time.txt"
  else
    "$work/kforge" export --from "$work/build" --out "$work/release" >/dev/null
  fi
  du -sh "$work/release/data" | awk '{print "release data: " $1}'
fi
