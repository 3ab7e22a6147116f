#!/usr/bin/env bash
# Tests scripts/local/rootfs.sh's first (cold) build and its cache hit without a real debootstrap:
# a fake debootstrap on PATH makes the root. A cold build must exit 0 and print the root's path:
# it once exited 1 (the EXIT trap's last test was false), which broke `npm run local` and CI only
# on a fresh machine.
set -o errexit -o nounset -o pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/rootfs-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/bin"
cat >"$work/bin/debootstrap" <<'FAKE'
#!/usr/bin/env bash
# fake debootstrap: debootstrap [options] SUITE TARGET MIRROR
set -o errexit -o nounset -o pipefail
target="${*: -2:1}"
mkdir -p "$target/usr/bin"
printf '#!/bin/sh\n' >"$target/usr/bin/apt-get"
chmod +x "$target/usr/bin/apt-get"
echo "$*" >>"$(dirname "$0")/calls"
FAKE
chmod +x "$work/bin/debootstrap"

run() { PATH="$work/bin:$PATH" COUCHBASE_IMAGES_CACHE="$work/cache" bash "$repo/scripts/local/rootfs.sh" 2>"$work/err"; }

first="$(run)" || {
	echo "not ok - cold build exited non-zero:" >&2
	cat "$work/err" >&2
	exit 1
}
[[ -x "$first/usr/bin/apt-get" && "$first" == "$work/cache/rootfs/bookworm-"* ]] || {
	echo "not ok - cold build printed '$first'" >&2
	exit 1
}
echo "ok - cold build exits 0 and prints the root ($first)"
second="$(run)"
[[ "$second" == "$first" && "$(wc -l <"$work/bin/calls")" -eq 1 ]] || {
	echo "not ok - cache hit: '$second', debootstrap calls $(wc -l <"$work/bin/calls")" >&2
	exit 1
}
echo "ok - second call is a cache hit (no debootstrap)"
[[ -z "$(find "$work/cache/rootfs" -maxdepth 1 -name '.build-*')" ]] || {
	echo "not ok - a temporary build folder was left behind" >&2
	exit 1
}
echo "ok - no temporary build folder left"
