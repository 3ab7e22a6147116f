#!/usr/bin/env bash
# Prints a content hash of the agent sources: the inputs that decide the bytes
# of dp-agent.gz apart from the Go toolchain and the target platform.
#
# Covered files (paths relative to agent/): every *.go file except *_test.go,
# go.mod, go.sum (when present), VERSION and build.sh.
# Algorithm: `sha256sum` over those files sorted by path (LC_ALL=C byte
# order), i.e. lines "<sha256 of contents>  <relative path>\n", then the
# sha256 of that listing. Only paths and contents count: mtime, mode, owner
# and the clone location do not, so a fresh clone, a `touch` or a `chmod`
# give the same hash; an edit or a rename changes it.
set -o errexit -o nounset -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

find . -type f \( \( -name '*.go' ! -name '*_test.go' \) -o -path ./go.mod -o -path ./go.sum -o -path ./VERSION -o -path ./build.sh \) -print0 |
	sed -z 's|^\./||' |
	LC_ALL=C sort -z |
	xargs -0 sha256sum |
	sha256sum |
	cut -d ' ' -f 1
