#!/usr/bin/env bash
# gpu-check.sh: run kforge's GPU verification backends end to end on the
# fixture HIP program (filters/verify/testdata/poly) and its adversarial
# candidates, and print what a GPU machine must show.
#
#   scripts/gpu-check.sh [cuda|rocm]     (default: whichever GPU is present)
#   scripts/gpu-check.sh host-test       (the same checks on the CPU, to test this
#                                         script; builds kforge with -tags hosttest)
#
# Environment:
#   KFORGE              kforge binary (default: build one with go into a temporary directory)
#   KFORGE_HIP_INCLUDE  directory holding hip/ headers for the cuda backend
#                       (default /usr/include; Debian: libamdhip64-dev)
#   RUN_TIMEOUT         wall-clock limit of one program run (default 15s)
#   PROFILER            auto|ncu|rocprofv3|program (default auto)
#
# Exit status: 0 when every adversarial candidate is rejected by its rule and
# the reference and good candidates are correct; 1 otherwise; 2 when the
# machine lacks the GPU or toolchain for the backend.
set -u
cd "$(dirname "$0")/.."
fx=filters/verify/testdata/poly
backend="${1:-}"
if [ -z "$backend" ]; then
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then backend=cuda
  elif command -v rocminfo >/dev/null && rocminfo 2>/dev/null | grep -q 'gfx'; then backend=rocm
  else echo "gpu-check: no NVIDIA or AMD GPU found" >&2; exit 2; fi
fi

echo "== machine"
date -u
uname -srm
case "$backend" in
  cuda)
    nvidia-smi --query-gpu=name,driver_version,compute_cap,clocks.sm,clocks.mem,memory.total --format=csv || exit 2
    if ! command -v nvcc >/dev/null; then
      for d in /usr/local/cuda/bin /usr/local/cuda-*/bin; do [ -x "$d/nvcc" ] && PATH="$d:$PATH" && break; done
    fi
    command -v nvcc >/dev/null || { echo "gpu-check: nvcc not found" >&2; exit 2; }
    nvcc --version | tail -2
    inc="${KFORGE_HIP_INCLUDE:-/usr/include}"
    [ -f "$inc/hip/hip_runtime.h" ] || { echo "gpu-check: HIP headers not found under $inc (set KFORGE_HIP_INCLUDE)" >&2; exit 2; }
    echo "HIP headers: $inc/hip"
    command -v ncu >/dev/null && ncu --version | tail -1 || echo "ncu: not installed (timing from the program's own line)"
    ;;
  rocm)
    rocminfo | grep -E 'Marketing Name|^  Name: +gfx' | head -4
    hipcc --version 2>/dev/null | grep -i version
    command -v rocprofv3 >/dev/null && echo "rocprofv3: $(command -v rocprofv3)" || echo "rocprofv3: not installed (timing from the program's own line)"
    ;;
  host-test)
    c++ --version | head -1
    ;;
  *) echo "gpu-check: backend must be cuda, rocm or host-test" >&2; exit 2 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
kf="${KFORGE:-}"
if [ -z "$kf" ]; then
  tags=""
  [ "$backend" = host-test ] && tags="-tags hosttest"
  # shellcheck disable=SC2086
  go build $tags -o "$work/kforge" ./cmd/kforge || exit 2
  kf="$work/kforge"
fi
field() { sed -n "s/^  \"$2\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$1" | head -1; }

# name | expected: a status, or "rejected:<rule>", or "correct" (kept, not-faster or
# noise: it ran correctly; whether it is faster depends on the GPU).
checks="reference|correct
single|correct
horner|correct
skip_work|rejected:correctness
tail_skip|rejected:correctness
uninit|rejected:correctness
oob|rejected:correctness
loop|rejected:timeout
stale|rejected:gate/no-device-globals
fork|rejected:gate/no-process
openfile|rejected:gate/no-files
blas|rejected:gate/no-library
blas_include|rejected:gate/no-include
macro|rejected:gate/no-preprocessor
fakeperf|rejected:gate/no-output"

# The reference region itself as a candidate.
python3 - "$fx/tasks.jsonl" > "$work/reference.hip" <<'PY' 2>/dev/null || sed -n '/KFORGE-REGION-BEGIN/,/KFORGE-REGION-END/p' "$fx/main.hip" | sed '1d;$d' > "$work/reference.hip"
import json, sys
print(json.loads(open(sys.argv[1]).readline())["region"]["text"], end="")
PY

echo
echo "== verdicts ($backend)"
printf '%-14s %-12s %-28s %-9s %-10s %s\n' candidate status rejected_by speedup timing result
bad=0
while IFS='|' read -r name want; do
  cand="$fx/candidates/$name.hip"
  [ "$name" = reference ] && cand="$work/reference.hip"
  out="$work/$name.json"
  "$kf" verify --tasks "$fx/tasks.jsonl" --candidate "$cand" --backend "$backend" \
    --run-timeout "${RUN_TIMEOUT:-15s}" --profiler "${PROFILER:-auto}" >"$out" 2>"$work/$name.err"
  rc=$?
  status=$(field "$out" status); rule=$(field "$out" rejected_by); speedup=$(field "$out" speedup)
  src=$(sed -n 's/^    "source": "\(.*\)",$/\1/p' "$out" | head -1)
  ok=OK
  if [ $rc -ne 0 ]; then ok="NO VERDICT: $(tail -1 "$work/$name.err")"
  else
    case "$want" in
      correct) case "$status:$rule" in kept:|quarantined:*|rejected:not-faster|rejected:noise) ;; *) ok="MISMATCH (want correct runs)";; esac ;;
      *) [ "$status:$rule" = "$want" ] || ok="MISMATCH (want $want)" ;;
    esac
  fi
  [ "$ok" = OK ] || bad=1
  printf '%-14s %-12s %-28s %-9s %-10s %s\n' "$name" "$status" "${rule:--}" "${speedup:--}" "${src:--}" "$ok"
done <<< "$checks"

echo
echo "== verdict of the half-work candidate (single)"
cat "$work/single.json"
echo
if [ $bad -ne 0 ]; then
  echo "gpu-check: FAILED"
  for f in "$work"/*.err; do [ -s "$f" ] && { echo "--- $(basename "$f")"; tail -5 "$f"; }; done
  exit 1
fi
echo "gpu-check: every adversarial candidate rejected by its rule; reference and rewrites ran correctly on $backend"
