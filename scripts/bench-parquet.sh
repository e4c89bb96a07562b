#!/usr/bin/env bash
# bench-parquet.sh: kforge's Parquet sink against DuckDB's COPY … TO parquet
# on the same sft rows, side by side, plus the peak memory of exporting a
# build of many rows.
#
#   scripts/bench-parquet.sh [ROWS] [EXPORT_ROWS]     (defaults 200000 and 1000000)
#
# The writer-alone comparison (rows already in memory for kforge, already in
# a table for DuckDB, both on all cores) runs ROUNDS (default 4) alternating
# rounds of 3 runs each and prints the medians: a shared machine's speed
# drifts by tens of percent from minute to minute, so single runs mislead.
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
"$work/benchsink" write -i "$work/rows.jsonl" -o "$work/kf" | sed 's/^kforge sink/kforge sink (JSONL decoded on the way)/'
node scripts/duckdb-copy.mjs "$work/rows.jsonl" "$work/duck.parquet" 1 | sed 's/^duckdb/duckdb (1 thread)/'
rounds=${ROUNDS:-4}
: > "$work/kf.txt"
: > "$work/duck.txt"
for _ in $(seq "$rounds"); do
  "$work/benchsink" write -in-memory -repeat 3 -i "$work/rows.jsonl" -o "$work/kf2" | tee -a "$work/kf.txt"
  node scripts/duckdb-copy.mjs "$work/rows.jsonl" "$work/duck.parquet" 0 3 | grep 'table->parquet' | tee -a "$work/duck.txt"
done
median() { grep -o '= [0-9]* rows/s' "$1" | awk '{print $2}' | sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : int((v[NR/2]+v[NR/2+1])/2))}'; }
kf=$(median "$work/kf.txt")
duck=$(median "$work/duck.txt")
echo "== writer alone, median of $((rounds * 3)) runs each: kforge sink $kf rows/s, DuckDB COPY table->parquet $duck rows/s, ratio $(awk -v a="$kf" -v b="$duck" 'BEGIN {printf "%.2f", a/b}')"
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
