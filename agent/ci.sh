#!/usr/bin/env bash
# CI entry for the agent (called by scripts/test.sh): format, vet, tests
# (unit, binary against fakes, unit file, reproducible build), shell lint.
set -o errexit -o nounset -o pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
cd "$here"
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly

step() { echo "== agent/ci.sh: $*" >&2; }
start=$SECONDS

step "gofmt"
unformatted="$(gofmt -l .)"
if [[ -n "$unformatted" ]]; then
	echo "gofmt needed on:" >&2
	echo "$unformatted" >&2
	exit 1
fi

step "go vet"
go vet ./...

step "go test"
go test -count=1 ./...

step "shellcheck + shfmt"
shell_files=("$here"/*.sh)
if compgen -G "$repo/bench/agent/*.sh" >/dev/null; then
	shell_files+=("$repo"/bench/agent/*.sh)
fi
for tool in shellcheck shfmt; do
	command -v "$tool" >/dev/null || {
		echo "$tool not found (scripts/bootstrap.sh installs it)" >&2
		exit 1
	}
done
shellcheck "${shell_files[@]}"
shfmt -d "${shell_files[@]}"

step "ok in $((SECONDS - start)) s"
