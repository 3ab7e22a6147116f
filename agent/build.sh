#!/usr/bin/env bash
# Reproducible cross-compiled build of dp-agent.
#
#   agent/build.sh --out DIR [--arch amd64|arm64] [--provider aws] [--version V] [--commit C]
#
# Writes DIR/dp-agent.gz (gzip -n -9: no name, no timestamp) and
# DIR/dp-agent.gz.sha256 ("<hex>  dp-agent.gz"), and prints the hex sha256 as
# the last line of stdout; everything else goes to stderr.
# Version defaults to agent/VERSION, commit to the first 12 hex digits of
# agent/source-hash.sh (a content hash, not git: a fresh clone gives the same
# bytes). Same sources + same Go version + same arch => byte-identical output.
set -o errexit -o nounset -o pipefail

usage() {
	sed -n '3,4p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2
	exit 2
}

die() {
	echo "build.sh: $*" >&2
	exit 2
}

out=""
arch="amd64"
provider="aws"
version=""
commit=""
while (($# > 0)); do
	case "$1" in
	--out) out="${2:-}" && shift 2 ;;
	--arch) arch="${2:-}" && shift 2 ;;
	--provider) provider="${2:-}" && shift 2 ;;
	--version) version="${2:-}" && shift 2 ;;
	--commit) commit="${2:-}" && shift 2 ;;
	-h | --help) usage ;;
	*) die "unknown argument: $1" ;;
	esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -n "$out" ]] || die "--out DIR is required"
case "$arch" in
amd64 | arm64) ;;
*) die "--arch must be amd64 or arm64, got '$arch'" ;;
esac
[[ "$provider" =~ ^[a-z0-9]+$ ]] || die "--provider must be lowercase letters/digits, got '$provider'"
if [[ -z "$version" ]]; then
	version="$(tr -d '[:space:]' <"$here/VERSION")"
fi
[[ "$version" =~ ^[0-9A-Za-z.+~-]+$ ]] || die "bad version '$version'"
if [[ -z "$commit" ]]; then
	commit="$(bash "$here/source-hash.sh")"
	commit="${commit:0:12}"
fi
[[ "$commit" =~ ^[0-9A-Za-z.+~-]+$ ]] || die "bad commit '$commit'"
command -v go >/dev/null || die "go not found on PATH"

mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Pin everything that changes the bytes: no cgo, fixed microarchitecture
# levels, no VCS stamping, trimmed paths, local toolchain, read-only go.mod.
(
	cd "$here"
	export CGO_ENABLED=0 GOOS=linux GOARCH="$arch" GOAMD64=v1 GOARM64=v8.0 \
		GOTOOLCHAIN=local GOFLAGS=-mod=readonly
	go build -trimpath -buildvcs=false \
		-ldflags "-s -w -buildid= -X main.Provider=$provider -X main.Version=$version -X main.Commit=$commit" \
		-o "$work/dp-agent" ./cmd/dp-agent
)
gzip -n -9 -c "$work/dp-agent" >"$work/dp-agent.gz"
sum="$(sha256sum "$work/dp-agent.gz" | cut -d ' ' -f 1)"
mv -f "$work/dp-agent.gz" "$out/dp-agent.gz"
printf '%s  dp-agent.gz\n' "$sum" >"$out/dp-agent.gz.sha256"

echo "build.sh: linux/$arch provider=$provider version=$version commit=$commit go=$(go env GOVERSION)" >&2
echo "build.sh: $out/dp-agent.gz $(stat -c %s "$out/dp-agent.gz") bytes (binary $(stat -c %s "$work/dp-agent") bytes)" >&2
echo "$sum"
