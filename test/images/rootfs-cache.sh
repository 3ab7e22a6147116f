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

# arm64: its own folder next to the amd64 one (same key), debootstrap asked for --arch=arm64, and
# the amd64 root untouched; without qemu-aarch64 registered it fails naming scripts/bootstrap.sh.
arm64() { PATH="$work/bin:$PATH" COUCHBASE_IMAGES_CACHE="$work/cache" bash "$repo/scripts/local/rootfs.sh" --arch arm64 2>"$work/err"; }
if [[ "$(uname -m)" == x86_64 ]] && grep -qsx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64; then
	a="$(arm64)" || {
		echo "not ok - arm64 cold build exited non-zero:" >&2
		cat "$work/err" >&2
		exit 1
	}
	[[ "$a" == "$work/cache/rootfs/bookworm-arm64-${first##*/bookworm-}" && -x "$a/usr/bin/apt-get" ]] || {
		echo "not ok - arm64 build printed '$a' (amd64: $first)" >&2
		exit 1
	}
	[[ "$(tail -n 1 "$work/bin/calls")" == "--arch=arm64 "* && "$(arm64)" == "$a" && "$(wc -l <"$work/bin/calls")" -eq 2 ]] || {
		echo "not ok - arm64: debootstrap calls $(cat "$work/bin/calls")" >&2
		exit 1
	}
	echo "ok - arm64: its own folder next to the amd64 root ($a), debootstrap --arch=arm64 once, then a cache hit"
elif [[ "$(uname -m)" == x86_64 ]]; then
	if arm64 >/dev/null || ! grep -q 'qemu-aarch64 is not registered.*scripts/bootstrap.sh' "$work/err"; then
		echo "not ok - arm64 without qemu-aarch64 registered: $(cat "$work/err")" >&2
		exit 1
	fi
	echo "ok - arm64 without qemu-aarch64 registered fails naming scripts/bootstrap.sh"
fi
[[ "$(run)" == "$first" ]] || {
	echo "not ok - the amd64 root moved" >&2
	exit 1
}
echo "ok - the amd64 root is where it was"
