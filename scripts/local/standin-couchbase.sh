#!/usr/bin/env bash
# Build a tiny, harmless STAND-IN for the couchbase-server .deb, for image builds and tests that
# cannot reach packages.couchbase.com. It is NOT Couchbase Server: it installs a version file, a
# notice and a no-op systemd unit, so the image's install step (local package mode), its
# `apt-mark hold` and the hygiene checks can run end to end offline.
#
# Deterministic: the same arguments give a byte-identical .deb (fixed mtimes, root ownership,
# SOURCE_DATE_EPOCH for dpkg-deb's ar timestamps).
#
# Usage: scripts/local/standin-couchbase.sh --out DIR [--version X.Y.Z] [--edition enterprise|community]
# Prints the .deb's path on stdout.
set -o errexit -o nounset -o pipefail

# Keep equal to the default of var.couchbase_version in images/aws/couchbase-cloud.pkr.hcl
# (images/aws/ci.sh checks it).
readonly DEFAULT_VERSION=8.0.0

usage() {
	echo "usage: $0 --out DIR [--version X.Y.Z] [--edition enterprise|community]" >&2
	exit 2
}

out=""
version="$DEFAULT_VERSION"
edition=enterprise
while (($# > 0)); do
	case "$1" in
	--out)
		out="${2:-}"
		shift 2 || usage
		;;
	--version)
		version="${2:-}"
		shift 2 || usage
		;;
	--edition)
		edition="${2:-}"
		shift 2 || usage
		;;
	-h | --help) usage ;;
	*)
		echo "standin-couchbase: unknown argument: $1" >&2
		usage
		;;
	esac
done
[[ -n "$out" ]] || usage
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || {
	echo "standin-couchbase: --version must look like 8.0.0, got '$version'" >&2
	exit 2
}
# Same package names as Couchbase's own packages.
case "$edition" in
enterprise) package=couchbase-server ;;
community) package=couchbase-server-community ;;
*)
	echo "standin-couchbase: --edition must be enterprise or community, got '$edition'" >&2
	exit 2
	;;
esac

deb_version="$version-standin"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
deb="$out/${package}_${deb_version}_all.deb"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pkg="$work/pkg"
mkdir -p "$pkg/DEBIAN" "$pkg/opt/couchbase" "$pkg/lib/systemd/system"

cat >"$pkg/DEBIAN/control" <<CONTROL
Package: $package
Version: $deb_version
Architecture: all
Maintainer: couchbase-images project <noreply@invalid>
Section: misc
Priority: optional
Description: STAND-IN for Couchbase Server $version ($edition) - not Couchbase
 A test fixture of the couchbase-images project. It contains no Couchbase
 software: only /opt/couchbase/VERSION.txt, a notice and a no-op systemd unit,
 so offline image builds can exercise the install, hold and validation steps.
CONTROL

printf '%s\n' "$version-standin" >"$pkg/opt/couchbase/VERSION.txt"
cat >"$pkg/opt/couchbase/STAND-IN.txt" <<NOTICE
This is a STAND-IN package, not Couchbase Server.
It was built by scripts/local/standin-couchbase.sh for offline image builds.
An image containing it must never be used for anything but tests.
NOTICE

cat >"$pkg/lib/systemd/system/couchbase-server.service" <<'UNIT'
[Unit]
Description=STAND-IN for couchbase-server (no-op; not Couchbase Server)
Documentation=file:///opt/couchbase/STAND-IN.txt

[Service]
Type=oneshot
ExecStart=/bin/true
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
UNIT

find "$pkg" -exec touch --no-dereference --date=@0 {} +
chmod -R u=rwX,go=rX "$pkg"
SOURCE_DATE_EPOCH=0 dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
printf '%s\n' "$deb"
