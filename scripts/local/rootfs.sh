#!/usr/bin/env bash
# Print the path of a cached Debian bookworm root (debootstrap minbase) for the local sandbox
# build host and the image script tests; build it once if missing.
#
# The root is shared: callers must never modify it. Use an overlayfs upper or a copy per use.
# Cache key: suite + variant + package list, so a changed package list builds a new root and
# never mutates an old one. Building happens in a temporary folder renamed into place, under a
# lock, so concurrent callers and interrupted builds never see a half-built root.
#
# Usage: scripts/local/rootfs.sh            (prints the root's path on stdout; logs on stderr)
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
target="$base/$SUITE-$key"

if [[ -x "$target/usr/bin/apt-get" ]]; then
	printf '%s\n' "$target"
	exit 0
fi

mkdir -p "$base"
exec 9>"$base/.lock"
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

mirror="${ROOTFS_MIRROR:-$(machine_mirror)}"
tmp="$(mktemp -d "$base/.build-$SUITE-XXXXXX")"
cleanup() {
	if [[ -n "${tmp:-}" && -d "$tmp" ]]; then rm -rf --one-file-system "$tmp"; fi
}
trap cleanup EXIT

log "building $SUITE $VARIANT root from $mirror (once; about a minute)"
debootstrap --variant="$VARIANT" --include="$PACKAGES" "$SUITE" "$tmp" "$mirror" >&2
mv -T "$tmp" "$target"
tmp=""
log "built $target"
printf '%s\n' "$target"
