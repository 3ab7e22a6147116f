#!/usr/bin/env bash
# Test of install-couchbase.sh in download mode, for real and without the internet: the script
# downloads the package over HTTP with the real curl, checks its sha256 and installs it with the
# real apt and dpkg, inside a fresh overlay of the cached Debian root (scripts/local/rootfs.sh)
# per case. The "release site" is a loopback HTTP server (python3 -m http.server on 127.0.0.1)
# in the test's own network namespace (test/images/namespace.sh: only a loopback, which this test
# brings up), serving the STAND-IN couchbase-server .deb (scripts/local/standin-couchbase.sh)
# under Couchbase's file name, couchbase-server-enterprise_<version>-linux_<arch>.deb.
#
# The root (Debian minbase) has no curl; this machine's own curl and the libraries the root lacks
# are copied into each case's overlay (same Debian release as the root; the test stops if that
# curl does not run there). systemctl is a recording stand-in, with /run/systemd/system present,
# so the package's scripts behave as under a running systemd and must honour
# INSTALL_DONT_START_SERVER.
#
# Cases: right sha256 (installed, held, the server never started); wrong sha256 (refused after
# the download, nothing installed); a package the server lacks (404: no retry, nothing installed);
# a URL for another architecture, a non-https URL, a missing sha256 (refused before any request);
# a server that starts late (retried until it answers); one that never answers (the deadline).
# Not covered (needs internet): Couchbase's real site, TLS, the real package.
#
# Usage: test/images/couchbase-download.sh   (root; TAP-style lines; exit 1 on any failure)
set -o errexit -o nounset -o pipefail

# shellcheck source=test/images/namespace.sh
source "$(dirname "${BASH_SOURCE[0]}")/namespace.sh" "${BASH_SOURCE[0]}"
script="$scripts/install-couchbase.sh"
version=8.0.0

# The servers this test starts live in its network namespace: stop exactly those.
servers=()
stop_servers() {
	local pid
	for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${servers[@]}"; do wait "$pid" 2>/dev/null || true; done
	servers=()
}
trap stop_servers EXIT

### The release site: a loopback HTTP server in this namespace.
ip link set lo up
arch="$(chroot "$base" dpkg --print-architecture)"
file="couchbase-server-enterprise_${version}-linux_${arch}.deb"
install -d "$work/www/releases/$version"
deb="$(bash "$repo/scripts/local/standin-couchbase.sh" --out "$work/packages" --version "$version" --arch "$arch")"
cp "$deb" "$work/www/releases/$version/$file"
sha="$(sha256sum "$work/www/releases/$version/$file" | cut -d' ' -f1)"
wrong_sha="$(printf 'not the package\n' | sha256sum | cut -d' ' -f1)"
url() { printf 'http://127.0.0.1:%s/releases/%s/%s\n' "$1" "$2" "$3"; }

# serve PORT [DELAY]: the www folder on 127.0.0.1:PORT (after DELAY seconds); log in http-PORT.log.
python=/usr/bin/python3
serve() {
	local port="$1" delay="${2:-0}"
	(
		sleep "$delay"
		exec "$python" -m http.server "$port" --bind 127.0.0.1 --directory "$work/www"
	) >"$work/http-$port.log" 2>&1 &
	servers+=("$!")
}
# A server that accepts connections and never answers: silent PORT.
silent() {
	"$python" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); conns = []
while True: conns.append(s.accept()[0])' "$1" >"$work/silent-$1.log" 2>&1 &
	servers+=("$!")
}
wait_for_port() {
	local i
	for ((i = 0; i < 50; i++)); do
		if (: >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "no server on 127.0.0.1:$1" >&2
	return 1
}
requests() { grep -c "\"GET $1 " "$work/http-$2.log" || true; }

# A fresh root with this machine's curl and a recording systemctl: case_root NAME -> path.
case_root() {
	local root lib
	root="$(mount_root "$1")"
	install -D -m 0755 "$(command -v curl)" "$root/usr/bin/curl"
	while read -r lib; do
		[[ -e "$root$lib" ]] || install -D -m 0644 "$lib" "$root$lib"
	done < <(ldd "$(command -v curl)" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
	# In /usr/sbin: ahead of the real /usr/bin/systemctl in the PATH apt gives dpkg (DPkg::Path).
	install -d "$root/tmp/stub" "$root/run/systemd/system"
	cat >"$root/usr/sbin/systemctl" <<'STUB'
#!/bin/sh
# STAND-IN systemctl (test/images/couchbase-download.sh), not systemd's: records its calls;
# enable is the real one, offline; nothing is ever started.
echo "$*" >>/tmp/stub/systemctl.calls
case "$1" in
enable) exec /usr/bin/systemctl --root=/ "$@" ;;
is-active) exit 3 ;;
esac
exit 0
STUB
	chmod 0755 "$root/usr/sbin/systemctl"
	touch "$root/tmp/stub/systemctl.calls"
	printf '%s\n' "$root"
}

# install_download ROOT URL SHA256 [VAR=value...]: the script in ROOT, as Packer runs it.
install_download() {
	local root="$1" u="$2" s="$3"
	shift 3
	install -D -m 0644 "$script" "$root/tmp/image-build/install-couchbase.sh"
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		ROOT=/ COUCHBASE_EDITION=enterprise COUCHBASE_VERSION="$version" COUCHBASE_PACKAGE_SOURCE=download \
		COUCHBASE_PACKAGE_URL="$u" COUCHBASE_PACKAGE_SHA256="$s" "$@" \
		bash /tmp/image-build/install-couchbase.sh
}
status() { dpkg-query --admindir="$1/var/lib/dpkg" --show --showformat='${Status}|${Version}' couchbase-server 2>/dev/null || true; }
held() { chroot "$1" apt-mark showhold; }
# nothing_installed ROOT: no package registered or held, none of its files, no download left.
nothing_installed() {
	local root="$1"
	check "... couchbase-server not installed" test -z "$(status "$root" | grep ' installed|' || true)"
	check "... nothing held" test -z "$(held "$root")"
	check "... none of its files" test ! -e "$root/opt/couchbase"
	check "... no downloaded .deb left" test -z "$(find "$root/tmp" "$root/var/cache/apt" -name 'couchbase*.deb')"
	check "... the service was never started" test -z "$(grep -w start "$root/tmp/stub/systemctl.calls" || true)"
}

echo "# base root: $base ($arch)"
check "the served package is the stand-in" bash -c "dpkg-deb --field '$work/www/releases/$version/$file' Description | grep -q STAND-IN"
serve 8080
wait_for_port 8080
probe="$(case_root probe)"
check "this machine's curl runs in the root" chroot "$probe" /usr/bin/curl --version

### Right sha256: downloaded once, checked, installed with INSTALL_DONT_START_SERVER=1, held.
root="$(case_root good)"
check "right sha256: installs" install_download "$root" "$(url 8080 "$version" "$file")" "$sha"
check "... saying the loopback download is test only" output_has "TEST ONLY: downloading from a loopback http server"
check "... after verifying the sha256" output_has "sha256 verified: $file $sha"
check "... the package's scripts saw INSTALL_DONT_START_SERVER" \
	output_has "INSTALL_DONT_START_SERVER is set: not starting the service"
check "... installed and held" test "$(status "$root")" = "hold ok installed|$version-standin"
check "... apt-mark shows it held" test "$(held "$root")" = couchbase-server
check "... the service was never started" test -z "$(grep -w start "$root/tmp/stub/systemctl.calls" || true)"
check "... it is the stand-in" grep -q STAND-IN "$root/opt/couchbase/STAND-IN.txt"
check "... downloaded exactly once" test "$(requests "/releases/$version/$file" 8080)" = 1
check "... no downloaded .deb left" test -z "$(find "$root/tmp" "$root/var/cache/apt" -name 'couchbase*.deb')"
check "... the service enabled, for first boot" test -L "$root/etc/systemd/system/multi-user.target.wants/couchbase-server.service"
check "... cached root untouched" test ! -e "$base/opt/couchbase"

### Wrong sha256: downloaded, refused before dpkg, nothing installed.
root="$(case_root bad-sha)"
check_fails "wrong sha256: refused" install_download "$root" "$(url 8080 "$version" "$file")" "$wrong_sha"
check "... naming both sha256s" output_has "$file has sha256 $sha, not the expected $wrong_sha: refused, nothing installed"
check "... before dpkg" output_lacks "installing couchbase-server"
nothing_installed "$root"

### A package the site does not have: a 404 is final (no retry).
root="$(case_root missing)"
before="$(requests "/releases/8.0.1/couchbase-server-enterprise_8.0.1-linux_$arch.deb" 8080)"
check_fails "a 404: fails" install_download "$root" \
	"$(url 8080 8.0.1 "couchbase-server-enterprise_8.0.1-linux_$arch.deb")" "$sha" COUCHBASE_VERSION=8.0.1
check "... saying it could not download" output_has "could not download http://127.0.0.1:8080/releases/8.0.1/"
check "... with the server's answer" output_has "404"
check "... asked once" test "$(($(requests "/releases/8.0.1/couchbase-server-enterprise_8.0.1-linux_$arch.deb" 8080) - before))" = 1
nothing_installed "$root"

### Refused before any request: another architecture's package, no https, no sha256.
other=arm64
[[ "$arch" != arm64 ]] || other=amd64
other_file="couchbase-server-enterprise_${version}-linux_${other}.deb"
root="$(case_root other-arch)"
check_fails "a URL of the $other package on this $arch machine: refused" \
	install_download "$root" "$(url 8080 "$version" "$other_file")" "$sha"
check "... naming both files" output_has "COUCHBASE_PACKAGE_URL names $other_file, but this $arch machine installs enterprise $version from $file"
check "... before any request" test "$(requests "/releases/$version/$other_file" 8080)" = 0
nothing_installed "$root"
root="$(case_root http)"
check_fails "an http:// URL off loopback: refused" \
	install_download "$root" "http://packages.couchbase.com/releases/$version/$file" "$sha"
check "... as not https" output_has "COUCHBASE_PACKAGE_URL must be an https:// URL of the .deb"
nothing_installed "$root"
root="$(case_root no-sha)"
check_fails "no sha256: refused" install_download "$root" "$(url 8080 "$version" "$file")" ""
check "... saying where Couchbase publishes it" output_has "download mode needs COUCHBASE_PACKAGE_SHA256 (64 lowercase hex digits): the sha256 Couchbase publishes at <package URL>.sha256"
nothing_installed "$root"

### Transient failures: a server that is not up yet is tried again; one that never answers has a deadline.
serve 8081 3
root="$(case_root late)"
started=$SECONDS
check "a server that starts 3 s late: retried until it answers, then installs" \
	install_download "$root" "$(url 8081 "$version" "$file")" "$sha"
check "... after waiting for it" test $((SECONDS - started)) -ge 3
check "... installed and held" test "$(status "$root")" = "hold ok installed|$version-standin"
silent 8082
wait_for_port 8082
root="$(case_root silent)"
started=$SECONDS
check_fails "a server that never answers: gives up (COUCHBASE_DOWNLOAD_TIMEOUT=2, one retry)" \
	install_download "$root" "$(url 8082 "$version" "$file")" "$sha" COUCHBASE_DOWNLOAD_TIMEOUT=2 COUCHBASE_DOWNLOAD_RETRIES=1
check "... saying it could not download" output_has "could not download http://127.0.0.1:8082/"
check "... after two attempts of 2 s and one pause, not more" test $((SECONDS - started)) -le 15
nothing_installed "$root"

stop_servers
echo "1..$count"
if ((failures > 0)); then
	echo "# $failures of $count failed"
	exit 1
fi
echo "# all $count passed"
