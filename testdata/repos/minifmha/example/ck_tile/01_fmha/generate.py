# kforge test fixture: a tiny kernel generator in the shape of an fmha codegen.
import argparse
import sys
from pathlib import Path

import codegen.ops.fmha_fwd as fwd

if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="generate")
    p.add_argument("-a", "--api", default="fwd")
    p.add_argument("-o", "--output_dir", required=True)
    p.add_argument("-f", "--filter")
    p.add_argument("-r", "--receipt", default=0)
    args = p.parse_args()
    if args.api != "fwd":
        sys.exit("unknown api " + args.api)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    fwd.write_blobs(out, args.filter)
