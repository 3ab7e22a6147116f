#!/usr/bin/env bash
# Print the path of a cached Debian bookworm root (debootstrap minbase) for the local sandbox
# build host and the image script tests; build it once if missing. One root per architecture,
# with the same packages: amd64 (this machine's own) and arm64, made on an amd64 machine by
# `debootstrap --arch=arm64` with both stages under user-mode emulation (qemu-aarch64 registered
# with binfmt_misc by scripts/bootstrap.sh; about 3 minutes, against about 1 for amd64).
#
# The root is shared: callers must never modify it. Use an overlayfs upper or a copy per use.
# Cache key: suite + variant + package list, so a changed package list builds a new root and
# never mutates an old one; the arm64 root sits next to the amd64 one, its folder named for its
# architecture (bookworm-<key> is amd64, bookworm-arm64-<key> arm64). Building happens in a
# temporary folder renamed into place, under a lock per architecture, so concurrent callers and
# interrupted builds never see a half-built root.
#
# Usage: scripts/local/rootfs.sh [--arch amd64|arm64]   (default amd64; prints the root's path on
#        stdout; logs on stderr)
# Env:   ROOTFS_MIRROR   Debian mirror (default: the first Debian URI in this machine's apt sources)
set -o errexit -o nounset -o pipefail

# shellcheck source=scripts/env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/env.sh"

readonly SUITE=bookworm
readonly VARIANT=minbase
# Keep sorted: part of the cache key. apt-utils: as on Ubuntu cloud images, so apt does not print
# "debconf: delaying package configuration, since apt-utils is not installed".
readonly PACKAGES=apt-utils,ca-certificates,gnupg,openssh-server,procps,sudo,systemd

log() { printf 'rootfs: %s\n' "$*" >&2; }
usage() {
	log "usage: scripts/local/rootfs.sh [--arch amd64|arm64]"
	exit 2
}

arch=amd64
while (($# > 0)); do
	case "$1" in
	--arch)
		(($# >= 2)) || usage
		arch="$2"
		shift 2
		;;
	-h | --help) usage ;;
	*)
		log "unknown argument: $1"
		usage
		;;
	esac
done
case "$arch" in
amd64 | arm64) ;;
*)
	log "--arch must be amd64 or arm64, got '$arch'"
	exit 2
	;;
esac

# native_arch: the architecture this machine runs without emulation.
native_arch() {
	case "$(uname -m)" in
	x86_64) echo amd64 ;;
	aarch64 | arm64) echo arm64 ;;
	*) uname -m ;;
	esac
}

# The kernel runs the foreign root's binaries only through a binfmt_misc rule with flag F (the
# interpreter opened once, so it works inside the root's chroot): say what is missing, and the fix.
check_emulation() {
	local entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
	[[ "$arch" == arm64 ]] || {
		log "an $arch root on a $(native_arch) machine is not supported (only arm64 under emulation on amd64)"
		exit 1
	}
	if [[ ! -r "$entry" ]]; then
		log "qemu-aarch64 is not registered with binfmt_misc ($entry is missing), so arm64 binaries cannot run here: run scripts/bootstrap.sh as root (installs qemu-user-static and registers it)"
		exit 1
	fi
	if ! grep -qx enabled "$entry" || ! grep -q '^flags: .*F' "$entry"; then
		log "qemu-aarch64 is registered but disabled or without flag F ($(tr '\n' ' ' <"$entry")): run scripts/bootstrap.sh as root"
		exit 1
	fi
}

# The mirror this machine already uses for bookworm (deb822 or one-line format).
machine_mirror() {
	local uri=""
	if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
		uri="$(awk '
			/^URIs:/ { uris = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") found = 1 }
			/^$/ { if (found && uris != "") { print uris; exit } uris = ""; found = 0 }
			END { if (found && uris != "") print uris }
		' /etc/apt/sources.list.d/*.sources | head -n 1)"
	fi
	if [[ -z "$uri" && -r /etc/apt/sources.list ]]; then
		uri="$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)"
	fi
	printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

key="$(printf '%s\n' "$SUITE" "$VARIANT" "$PACKAGES" | sha256sum | cut -c1-12)"
base="$PROJECT_CACHE/rootfs"
if [[ "$arch" == amd64 ]]; then
	name="$SUITE-$key" # the name the amd64 root had before there were two
else
	name="$SUITE-$arch-$key"
fi
target="$base/$name"

if [[ -x "$target/usr/bin/apt-get" ]]; then
	printf '%s\n' "$target"
	exit 0
fi

mkdir -p "$base"
# One lock per architecture: a cold arm64 build (minutes) never holds up an amd64 one.
if [[ "$arch" == amd64 ]]; then lock="$base/.lock"; else lock="$base/.lock-$arch"; fi
exec 9>"$lock"
flock 9
# Another caller may have finished while we waited for the lock.
if [[ -x "$target/usr/bin/apt-get" ]]; then
	printf '%s\n' "$target"
	exit 0
fi

command -v debootstrap >/dev/null || {
	log "debootstrap is missing: run scripts/bootstrap.sh (or apt-get install debootstrap)"
	exit 1
}

arch_args=()
about="about a minute"
if [[ "$arch" != "$(native_arch)" ]]; then
	check_emulation
	arch_args=(--arch="$arch")
	about="about 3 minutes: debootstrap's second stage runs $arch binaries under qemu"
fi

mirror="${ROOTFS_MIRROR:-$(machine_mirror)}"
tmp="$(mktemp -d "$base/.build-$name-XXXXXX")"
cleanup() {
	if [[ -n "${tmp:-}" && -d "$tmp" ]]; then
		# An interrupted second stage can leave its proc/sys mounts in the root.
		awk -v t="$tmp" 'index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m" || true; done
		rm -rf --one-file-system "$tmp"
	fi
}
trap cleanup EXIT

log "building the $arch $SUITE $VARIANT root from $mirror (once; $about)"
debootstrap "${arch_args[@]}" --variant="$VARIANT" --include="$PACKAGES" "$SUITE" "$tmp" "$mirror" >&2
mv -T "$tmp" "$target"
tmp=""
log "built $target"
printf '%s\n' "$target"
