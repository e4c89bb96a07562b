#!/usr/bin/env python3
"""Estimate Xet-style chunk dedup of a new release against a previous one.

Content-defined chunking like xet-core: gear rolling hash
h = ((h << 1) + GEAR[b]) mod 2**64, boundary where h & MASK == 0 with MASK
= 16 one-bits in the high bits (target 64 KiB), min chunk 8 KiB, max 128 KiB.
Chunks are keyed by sha256. The GEAR table is pseudo-random from a fixed seed
(xet-core uses its own fixed table; any fixed random table behaves alike).

usage: scripts/xet-dedup.py OLD_RELEASE NEW_RELEASE
Reports, for every Parquet file under NEW/data, the bytes in chunks that also
occur anywhere in OLD's Parquet files (what Xet would not upload again).
"""
import hashlib
import os
import random
import sys
from collections import defaultdict

TARGET = 64 * 1024
MIN = 8 * 1024
MAX = 128 * 1024
MASK = 0xFFFF000000000000  # 16 high bits -> 1/65536 boundary chance
M64 = (1 << 64) - 1
_rng = random.Random(20251130)
GEAR = [_rng.getrandbits(64) for _ in range(256)]
WINDOW = 64  # a 64-bit gear hash only depends on the last 64 bytes


def chunks(data):
    """Yield (start, end) of content-defined chunks of data."""
    n = len(data)
    start = 0
    gear = GEAR
    while start < n:
        if n - start <= MIN:
            yield start, n
            return
        end_max = min(start + MAX, n)
        # The hash at position i depends only on data[i-63..i], so start
        # hashing WINDOW bytes before the minimum cut point.
        i = start + MIN - WINDOW
        h = 0
        cut = end_max
        while i < end_max:
            h = ((h << 1) + gear[data[i]]) & M64
            i += 1
            if i - start >= MIN and not (h & MASK):
                cut = i
                break
        yield start, cut
        start = cut


def parquet_files(root):
    out = []
    for d, _, fs in os.walk(os.path.join(root, "data")):
        for f in fs:
            if f.endswith(".parquet"):
                p = os.path.join(d, f)
                out.append((os.path.relpath(p, root), p))
    return sorted(out)


def file_chunks(path):
    with open(path, "rb") as f:
        data = f.read()
    return [(hashlib.sha256(data[s:e]).digest(), e - s) for s, e in chunks(data)]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    old, new = sys.argv[1], sys.argv[2]
    seen = set()
    for _, p in parquet_files(old):
        seen.update(h for h, _ in file_chunks(p))
    per_cfg = defaultdict(lambda: [0, 0])
    tot = dup = nch = 0
    print(f"# {new} vs {old}: chunk target {TARGET}, min {MIN}, max {MAX}")
    print(f"{'file':45s} {'bytes':>10s} {'chunks':>6s} {'dedup_bytes':>11s} {'dedup%':>7s}")
    for rel, p in parquet_files(new):
        cs = file_chunks(p)
        b = sum(n for _, n in cs)
        d = sum(n for h, n in cs if h in seen)
        cfg = rel.split(os.sep)[1]
        per_cfg[cfg][0] += b
        per_cfg[cfg][1] += d
        tot, dup, nch = tot + b, dup + d, nch + len(cs)
        print(f"{rel:45s} {b:10d} {len(cs):6d} {d:11d} {100.0 * d / b:6.1f}%")
    for cfg, (b, d) in sorted(per_cfg.items()):
        print(f"{'config ' + cfg:45s} {b:10d} {'':6s} {d:11d} {100.0 * d / b:6.1f}%")
    print(f"{'TOTAL':45s} {tot:10d} {nch:6d} {dup:11d} {100.0 * dup / tot:6.1f}%")


if __name__ == "__main__":
    main()
