#!/usr/bin/env bash
# The test command: installs the test dependencies, then runs the format
# check, go vet, staticcheck and the whole test suite with the race detector
# (host-test backend and Slurm end-to-end test included).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-test-deps.sh
export PATH="$PATH:$(go env GOPATH)/bin"

echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$bad" ]; then echo "gofmt would change:"; echo "$bad"; exit 1; fi
echo "== go vet"
go vet -tags hosttest ./...
echo "== staticcheck"
staticcheck -tags hosttest ./...

# The Slurm end-to-end test needs a one-node cluster; start it when we can.
if [ -x scripts/slurm-up.sh ] && [ "$(id -u)" = 0 ]; then
  scripts/slurm-up.sh || echo "slurm: could not start the one-node cluster; its test will skip"
  trap '[ -x scripts/slurm-down.sh ] && scripts/slurm-down.sh || true' EXIT
fi
echo "== go test"
go test -race -tags hosttest -count=1 -timeout 40m ./...
