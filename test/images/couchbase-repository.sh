#!/usr/bin/env bash
# Offline test of install-couchbase.sh in repository mode, up to (not including) the apt update
# that would reach Couchbase's repository: download (a file:// URL, test only), sha256 pin,
# unpacking without maintainer scripts, the exact-set fingerprint check, the keyring and the
# signed-by source. Each case runs in a fresh overlay of the cached debootstrap root
# (scripts/local/rootfs.sh) inside a private mount namespace, as test/images/provisioners.sh does.
#
# Inputs are made here: throwaway OpenPGP keys (gpg, batch, no passphrase, temporary GNUPGHOME)
# and a STAND-IN couchbase-release .deb (dpkg-deb) laid out like the real one as far as the script
# cares: an armored key at /etc/apt/trusted.gpg.d/couchbase-gpg.asc, a sources.list template and a
# postinst (here one that leaves a marker, so running it would show).
#
# apt-get is replaced in the root by a stub on PATH (the script is unchanged for it): it records
# its calls, answers the first "update" without touching the network, and fails the "update" that
# follows the Couchbase source being written, so the test stops exactly before the repository.
# Not covered (needs internet): the real package, the real key, the real apt repository.
#
# Usage: test/images/couchbase-repository.sh   (root; TAP-style lines; exit 1 on any failure)
set -o errexit -o nounset -o pipefail

# gpg --quick-gen-key starts an agent for the temporary GNUPGHOME: stop exactly that one.
image_test_cleanup() {
	if [[ -d "$work/gnupg" ]]; then GNUPGHOME="$work/gnupg" gpgconf --kill all; fi
}
# shellcheck source=test/images/namespace.sh
source "$(dirname "${BASH_SOURCE[0]}")/namespace.sh" "${BASH_SOURCE[0]}"
script="$scripts/install-couchbase.sh"

### Inputs: two throwaway keys (A is "Couchbase's", B an unexpected one) and stand-in packages.
export GNUPGHOME="$work/gnupg"
install -d -m 0700 "$GNUPGHOME"
for name in A B; do
	gpg --batch --quiet --passphrase '' --quick-gen-key \
		"couchbase-release test key $name (throwaway) <test-$name@example.invalid>" ed25519 sign 1d
done
fpr() {
	gpg --batch --quiet --with-colons --list-keys "test-$1@example.invalid" |
		awk -F: '$1 == "pub" { want = 1; next } $1 == "fpr" && want { print $10; exit }'
}
fpr_a="$(fpr A)"
fpr_b="$(fpr B)"
gpg --batch --armor --export "$fpr_a" >"$work/key-a.asc"
gpg --batch --armor --export "$fpr_b" >"$work/key-b.asc"
gpg --batch --export "$fpr_a" >"$work/key-a.gpg"
gpgconf --kill all # the agent is not needed any more; the EXIT trap stops it again if this failed

readonly MARKER=/var/tmp/couchbase-release-maintainer-script-ran

# stand_in_deb NAME KEYFILE=PATH-IN-PACKAGE...: a couchbase-release-shaped .deb in $work/debs.
stand_in_deb() {
	local name="$1" d="$work/pkg-$1" spec maint
	shift
	install -d "$d/DEBIAN" "$d/etc/apt/sources.list.d" "$work/debs"
	cat >"$d/DEBIAN/control" <<'CONTROL'
Package: couchbase-release
Version: 1.0-0standin
Architecture: all
Maintainer: couchbase-images tests <tests@example.invalid>
Description: STAND-IN for offline tests, not Couchbase's couchbase-release
 Carries a throwaway test key. Never install it.
CONTROL
	for maint in preinst postinst; do
		printf '#!/bin/sh\necho %s >>%s\n' "$maint" "$MARKER" >"$d/DEBIAN/$maint"
		chmod 0755 "$d/DEBIAN/$maint"
	done
	echo 'deb http://packages.couchbase.com/releases/couchbase-server/enterprise/deb/ %DCODE_SERVER% %DCODE_SERVER%/main' \
		>"$d/etc/apt/sources.list.d/couchbase.list"
	for spec in "$@"; do
		install -D -m 0644 "${spec%%=*}" "$d/${spec#*=}"
	done
	dpkg-deb --root-owner-group --build "$d" "$work/debs/$name.deb" >/dev/null
}
asc=etc/apt/trusted.gpg.d/couchbase-gpg.asc
stand_in_deb real-layout "$work/key-a.asc=$asc"
stand_in_deb extra-key "$work/key-a.asc=$asc" "$work/key-b.asc=usr/share/keyrings/couchbase-extra.asc"
stand_in_deb same-key-twice "$work/key-a.asc=$asc" "$work/key-a.gpg=usr/share/keyrings/couchbase.gpg"
stand_in_deb unnamed-key "$work/key-a.asc=etc/apt/trusted.gpg.d/GPG-KEY-COUCHBASE-1.0"
sha() { sha256sum "$work/debs/$1.deb" | cut -d' ' -f1; }

arch="$(dpkg --print-architecture)"
apt_url=https://packages.couchbase.com/releases/couchbase-server/enterprise/deb/
want_source="deb [arch=$arch signed-by=/etc/apt/keyrings/couchbase.gpg] $apt_url bookworm bookworm/main"
stub_stop="apt-get stub: stopped before apt-get update against the Couchbase repository"

# A fresh root per case, with the packages uploaded and apt-get stubbed: case_root NAME -> path.
case_root() {
	local root
	root="$(mount_root "$1")"
	install -d "$root/tmp/image-build/couchbase-release" "$root/tmp/apt-stub"
	cp "$work/debs"/*.deb "$root/tmp/image-build/couchbase-release/"
	cat >"$root/tmp/apt-stub/apt-get" <<STUB
#!/bin/sh
# Test double for apt-get (test/images/couchbase-repository.sh): no network, calls recorded.
echo "\$*" >>/tmp/apt-stub/calls
case " \$* " in
*" update "*)
	if [ -e /etc/apt/sources.list.d/couchbase-server.list ]; then
		echo "$stub_stop" >&2
		exit 100
	fi
	exit 0 ;;
esac
echo "apt-get stub: unexpected call: \$*" >&2
exit 100
STUB
	chmod 0755 "$root/tmp/apt-stub/apt-get"
	touch "$root/tmp/apt-stub/calls"
	printf '%s\n' "$root"
}

# install_repo ROOT DEB SHA256 FINGERPRINTS [URL]: the script in ROOT, as Packer runs it.
install_repo() {
	local root="$1" deb="$2" sha="$3" pins="$4"
	local url="${5:-file:///tmp/image-build/couchbase-release/$deb.deb}"
	cp "$script" "$root/tmp/image-build/install-couchbase.sh"
	chroot "$root" /usr/bin/env -i PATH=/tmp/apt-stub:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		COUCHBASE_EDITION=enterprise COUCHBASE_VERSION=8.0.0 COUCHBASE_PACKAGE_SOURCE=repository \
		COUCHBASE_RELEASE_URL="$url" COUCHBASE_RELEASE_SHA256="$sha" COUCHBASE_KEY_FINGERPRINTS="$pins" \
		bash /tmp/image-build/install-couchbase.sh
}

keyring_fprs() { gpg --batch --with-colons --show-keys "$1" | awk -F: '$1 == "fpr" && p { print $10 } { p = ($1 == "pub") }' | sort | tr '\n' ' '; }
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' '; }
apt_calls() { tr '\n' ';' <"$1/tmp/apt-stub/calls"; }
is_binary_keyring() { [[ -s "$1" ]] && ! grep -q 'BEGIN PGP' "$1"; }

# nothing_written ROOT: no keyring, no source, no trace of the package or its scripts.
nothing_written() {
	local root="$1"
	check "... no keyring written" test ! -e "$root/etc/apt/keyrings/couchbase.gpg"
	check "... no apt source written" test ! -e "$root/etc/apt/sources.list.d/couchbase-server.list"
	check "... maintainer scripts not run" test ! -e "$root$MARKER"
	check "... never reached the apt update after the source" output_lacks "$stub_stop"
}

echo "# base root: $base"
echo "# keys: A=$fpr_a B=$fpr_b"
check "stand-in packages are named as such" \
	bash -c "dpkg-deb --field '$work/debs/real-layout.deb' Description | grep -q STAND-IN"

### Right sha256 and fingerprint, the real package's layout.
root="$(case_root good)"
check_fails "right sha256 + fingerprint: runs up to the apt update against the repository" \
	install_repo "$root" real-layout "$(sha real-layout)" "$fpr_a"
check "... and stops there (the stub), not earlier" output_has "$stub_stop"
check "... saying the file:// download is test only" output_has "TEST ONLY: reading the couchbase-release .deb from a local file"
check "... after logging the verified key" output_has "signing keys verified: $fpr_a"
check "... keyring holds exactly key A" test "$(keyring_fprs "$root/etc/apt/keyrings/couchbase.gpg")" = "$fpr_a "
check "... keyring is a binary keyring (as a .gpg file for signed-by must be)" \
	is_binary_keyring "$root/etc/apt/keyrings/couchbase.gpg"
check "... keyring mode 0644 root" test "$(stat -c '%a %U' "$root/etc/apt/keyrings/couchbase.gpg")" = "644 root"
check "... apt source is exactly the signed-by https line" \
	test "$(cat "$root/etc/apt/sources.list.d/couchbase-server.list")" = "$want_source"
check "... maintainer scripts not run (no marker)" test ! -e "$root$MARKER"
check "... package not registered with dpkg" \
	test -z "$(dpkg-query --admindir="$root/var/lib/dpkg" --show couchbase-release 2>/dev/null)"
check "... package files not installed (its key and its unpinned source)" \
	test ! -e "$root/$asc" -a ! -e "$root/etc/apt/sources.list.d/couchbase.list"
check "... apt-get called: update, then update with the source (stopped); no install; each with the lock timeout" \
	test "$(apt_calls "$root")" = "-q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o APT::Install-Recommends=false -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=900 update;-q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o APT::Install-Recommends=false -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=900 update;"
check "... cached root untouched" test ! -e "$base/etc/apt/keyrings/couchbase.gpg"

### Wrong sha256: fails at the check, before unpacking.
root="$(case_root bad-sha)"
check_fails "wrong sha256: fails" install_repo "$root" real-layout "$(sha extra-key)" "$fpr_a"
check "... at sha256sum --check" output_has "sha256sum: WARNING: 1 computed checksum did NOT match"
check "... before the key check (nothing unpacked was read)" output_lacks "signing key"
nothing_written "$root"

### Right sha256, wrong fingerprint.
root="$(case_root bad-fpr)"
check_fails "right sha256 + wrong fingerprint: fails" install_repo "$root" real-layout "$(sha real-layout)" "$fpr_b"
check "... saying the keys do not match the pins" output_has "signing keys in couchbase-release do not match the pins; found: $fpr_a expected: $fpr_b"
nothing_written "$root"

### Exactly the pinned set: an extra key, a missing key, and both pinned.
root="$(case_root extra-key)"
check_fails "a package carrying an extra, unpinned key: fails" \
	install_repo "$root" extra-key "$(sha extra-key)" "$fpr_a"
check "... naming both keys found" output_has "found: $(sorted "$fpr_a" "$fpr_b")expected: $fpr_a"
nothing_written "$root"
root="$(case_root missing-key)"
check_fails "a pinned key the package does not carry: fails" \
	install_repo "$root" real-layout "$(sha real-layout)" "$fpr_a $fpr_b"
nothing_written "$root"
root="$(case_root both-pinned)"
check_fails "both keys carried and both pinned: accepted (stops at the stub)" \
	install_repo "$root" extra-key "$(sha extra-key)" "$fpr_b $fpr_a"
check "... at the stub" output_has "$stub_stop"
check "... keyring holds exactly A and B" \
	test "$(keyring_fprs "$root/etc/apt/keyrings/couchbase.gpg")" = "$(sorted "$fpr_a" "$fpr_b")"
root="$(case_root same-key-twice)"
check_fails "the same key twice (armored .asc + binary .gpg): accepted (stops at the stub)" \
	install_repo "$root" same-key-twice "$(sha same-key-twice)" "$fpr_a"
check "... at the stub" output_has "$stub_stop"
check "... keyring holds key A once" test "$(keyring_fprs "$root/etc/apt/keyrings/couchbase.gpg")" = "$fpr_a "

### A key in a file the script does not look at (no .asc/.gpg/.key/.pub name): fails closed.
root="$(case_root unnamed-key)"
check_fails "key only in a file without a key extension: fails closed" \
	install_repo "$root" unnamed-key "$(sha unnamed-key)" "$fpr_a"
check "... saying no signing key was found" output_has "no signing key found in"
nothing_written "$root"

### Fingerprint spelling: the script uppercases; spaces separate pins (the program strips them).
root="$(case_root lowercase)"
check_fails "lowercase fingerprint: accepted (stops at the stub)" \
	install_repo "$root" real-layout "$(sha real-layout)" "${fpr_a,,}"
check "... at the stub" output_has "$stub_stop"
check "... keyring holds key A" test "$(keyring_fprs "$root/etc/apt/keyrings/couchbase.gpg")" = "$fpr_a "
root="$(case_root spaced)"
spaced="$(sed 's/..../& /g; s/ $//' <<<"$fpr_a")"
check_fails "fingerprint in gpg's spaced form: rejected (the program normalizes it before Packer)" \
	install_repo "$root" real-layout "$(sha real-layout)" "$spaced"
check "... as not a 40-hex-digit fingerprint" output_has "not a 40-hex-digit key fingerprint: ${fpr_a:0:4}"
check "... before apt or the download" test ! -s "$root/tmp/apt-stub/calls"
nothing_written "$root"

### URL schemes: https (real use) or file:// (tests); anything else is refused up front.
root="$(case_root http)"
check_fails "an http:// URL: refused" install_repo "$root" real-layout "$(sha real-layout)" "$fpr_a" \
	http://packages.couchbase.com/releases/couchbase-release/couchbase-release-1.0-noarch.deb
check "... as not https" output_has "COUCHBASE_RELEASE_URL must be an https:// URL"
check "... before apt or the download" test ! -s "$root/tmp/apt-stub/calls"
nothing_written "$root"

echo "1..$count"
if ((failures > 0)); then
	echo "# $failures of $count failed"
	exit 1
fi
echo "# all $count passed"
