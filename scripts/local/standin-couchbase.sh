#!/usr/bin/env bash
# Build a tiny, harmless STAND-IN for the couchbase-server .deb, for image builds and tests that
# cannot reach packages.couchbase.com. It is NOT Couchbase Server. It behaves like the real package
# where the image depends on it:
#   - /opt/couchbase/bin/couchbase-server (the path the agent checks) is a small static Go program
#     (scripts/local/standin-couchbase/, standard library only) that answers the REST calls the
#     agent makes as an UNINITIALISED node does, on 127.0.0.1:8091 only, and writes nothing;
#   - couchbase-server.service runs it as the system user couchbase (made by postinst, as the real
#     package makes it);
#   - postinst enables the service and, when systemd is running, starts it, unless
#     INSTALL_DONT_START_SERVER is set (the variable Couchbase's own images install with); prerm
#     stops it, postrm disables it.
# Every description, notice and version string says STAND-IN.
#
# Deterministic: the same arguments give a byte-identical .deb (fixed mtimes, root ownership,
# SOURCE_DATE_EPOCH for dpkg-deb's ar timestamps, a trimmed Go build without build id).
#
# Usage: scripts/local/standin-couchbase.sh --out DIR [--version X.Y.Z] [--edition enterprise|community]
#                                           [--arch amd64|arm64]
# Needs go on PATH. Prints the .deb's path on stdout.
set -o errexit -o nounset -o pipefail

# Keep equal to the default of var.couchbase_version in images/aws/couchbase-cloud.pkr.hcl
# (test/images/ci.sh checks it).
readonly DEFAULT_VERSION=8.0.0

usage() {
	echo "usage: $0 --out DIR [--version X.Y.Z] [--edition enterprise|community] [--arch amd64|arm64]" >&2
	exit 2
}

out=""
version="$DEFAULT_VERSION"
edition=enterprise
arch=amd64
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
	--arch)
		arch="${2:-}"
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

case "$arch" in
amd64 | arm64) ;;
*)
	echo "standin-couchbase: --arch must be amd64 or arm64, got '$arch'" >&2
	exit 2
	;;
esac
command -v go >/dev/null || {
	echo "standin-couchbase: go not found on PATH (run scripts/bootstrap.sh)" >&2
	exit 1
}

deb_version="$version-standin"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
deb="$out/${package}_${deb_version}_${arch}.deb"
# Earlier stand-ins were Architecture: all; one left in the folder would match beside this one and
# make the folder install refuse two packages, so a checkout that built one before drops it here.
rm -f "$out/${package}_${deb_version}_all.deb"
source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/standin-couchbase" && pwd)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pkg="$work/pkg"
mkdir -p "$pkg/DEBIAN" "$pkg/opt/couchbase/bin" "$pkg/lib/systemd/system"

# The stand-in REST server: static, reproducible (as agent/build.sh builds the agent).
(
	cd "$source_dir"
	export CGO_ENABLED=0 GOOS=linux GOARCH="$arch" GOAMD64=v1 GOARM64=v8.0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly
	go build -trimpath -buildvcs=false \
		-ldflags "-s -w -buildid= -X main.version=$version -X main.edition=$edition" \
		-o "$pkg/opt/couchbase/bin/couchbase-server" .
)

cat >"$pkg/DEBIAN/control" <<CONTROL
Package: $package
Version: $deb_version
Architecture: $arch
Maintainer: couchbase-images project <noreply@invalid>
Section: misc
Priority: optional
Description: STAND-IN for Couchbase Server $version ($edition) - not Couchbase
 A test fixture of the couchbase-images project. It contains no Couchbase
 software: /opt/couchbase/bin/couchbase-server is a small program that answers
 the REST calls of the image's agent as an uninitialised node would, on
 127.0.0.1:8091 only, and a systemd unit that runs it. Its maintainer scripts
 enable and start the service as the real package does, unless
 INSTALL_DONT_START_SERVER is set. For offline image builds and boot tests.
CONTROL

# As the real package: a system user for the service, the unit enabled, started when systemd runs
# unless INSTALL_DONT_START_SERVER is set (image builds set it: the build must never start it).
cat >"$pkg/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
# STAND-IN couchbase-server package (scripts/local/standin-couchbase.sh), not Couchbase Server.
set -e
if [ "$1" = configure ]; then
	if ! getent passwd couchbase >/dev/null; then
		useradd --system --user-group --home-dir /opt/couchbase --no-create-home \
			--shell /usr/sbin/nologin --comment "STAND-IN couchbase-server" couchbase
	fi
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload
	fi
	systemctl enable couchbase-server.service
	if [ -d /run/systemd/system ]; then
		if [ -n "${INSTALL_DONT_START_SERVER:-}" ]; then
			echo "couchbase-server (STAND-IN): INSTALL_DONT_START_SERVER is set: not starting the service"
		else
			systemctl start couchbase-server.service
		fi
	fi
fi
POSTINST
cat >"$pkg/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
# STAND-IN couchbase-server package (scripts/local/standin-couchbase.sh), not Couchbase Server.
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	systemctl stop couchbase-server.service || true
fi
PRERM
cat >"$pkg/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
# STAND-IN couchbase-server package (scripts/local/standin-couchbase.sh), not Couchbase Server.
set -e
if [ "$1" = remove ] || [ "$1" = purge ]; then
	systemctl disable couchbase-server.service >/dev/null 2>&1 || true
fi
POSTRM
chmod 0755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/prerm" "$pkg/DEBIAN/postrm"

printf '%s\n' "$version-standin" >"$pkg/opt/couchbase/VERSION.txt"
cat >"$pkg/opt/couchbase/STAND-IN.txt" <<NOTICE
This is a STAND-IN package, not Couchbase Server.
It was built by scripts/local/standin-couchbase.sh for offline image builds and boot tests:
/opt/couchbase/bin/couchbase-server only answers the Couchbase REST calls of the image's agent,
as an uninitialised node would, on 127.0.0.1:8091.
An image containing it must never be used for anything but tests.
NOTICE

cat >"$pkg/lib/systemd/system/couchbase-server.service" <<'UNIT'
[Unit]
Description=STAND-IN for couchbase-server (an uninitialised node's REST API on 127.0.0.1:8091; not Couchbase Server)
Documentation=file:///opt/couchbase/STAND-IN.txt
After=network.target

[Service]
Type=exec
User=couchbase
Group=couchbase
ExecStart=/opt/couchbase/bin/couchbase-server --listen 127.0.0.1:8091
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT

find "$pkg" -exec touch --no-dereference --date=@0 {} +
chmod -R u=rwX,go=rX "$pkg"
SOURCE_DATE_EPOCH=0 dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
printf '%s\n' "$deb"
