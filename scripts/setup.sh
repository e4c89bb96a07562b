#!/usr/bin/env bash
# Sets up a Debian 12 machine to run kforge builds: git, bubblewrap (confines
# candidate runs) and the HIP compiler (compile-only backend; GPU machines
# bring ROCm or CUDA themselves), then builds the kforge binary into ./bin.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
missing=()
for p in git bubblewrap hipcc libamdhip64-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
mkdir -p bin
go build -o bin/kforge ./cmd/kforge
echo "built bin/kforge; run 'bin/kforge doctor' to see what this machine can verify"
