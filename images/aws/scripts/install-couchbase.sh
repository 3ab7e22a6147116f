#!/usr/bin/env bash
# Install Couchbase Server, exactly COUCHBASE_VERSION, and hold it (no unattended upgrades). The
# package's scripts run with INSTALL_DONT_START_SERVER=1, so the build never starts the server;
# couchbase-server.service is enabled, so every instance starts its own at first boot.
#
# Three package sources:
#   download    Couchbase's release site, as Couchbase's own container images install: exactly the
#               .deb at COUCHBASE_PACKAGE_URL (its file name must be the edition's, version's and
#               this machine's architecture's) is downloaded (curl, retries, a deadline) and
#               refused unless its sha256 is COUCHBASE_PACKAGE_SHA256, before dpkg sees it; then
#               installed as from a folder.
#   repository  Couchbase's apt repository. The couchbase-release .deb is downloaded, checked
#               against a pinned sha256, and unpacked (its maintainer scripts never run); the
#               signing keys it carries must have exactly the pinned fingerprints. They go to
#               /etc/apt/keyrings/couchbase.gpg and the source is written with signed-by.
#               No apt-key, no trusted=yes, nothing piped into a shell.
#   <folder>    offline: a folder holding the couchbase-server .deb of COUCHBASE_VERSION for this
#               machine's architecture or "all" (for example the stand-in from
#               scripts/local/standin-couchbase.sh). When the folder holds a SHA256SUMS file, it
#               is checked first.
#
# Runs inside the target system (on the builder, or in a chroot in tests): apt and dpkg need it.
#
# Env:
#   COUCHBASE_EDITION           enterprise | community (required)
#   COUCHBASE_VERSION           X.Y.Z (required)
#   COUCHBASE_PACKAGE_SOURCE    download | repository | <folder> (required)
#   COUCHBASE_PACKAGE_URL       https URL of the .deb (download mode), named
#                               couchbase-server-<edition>_<version>-linux_<arch>.deb. TEST ONLY:
#                               http://127.0.0.1:<port>/... is also accepted, so
#                               test/images/couchbase-download.sh can serve a stand-in from a
#                               loopback server in its own network namespace; the Packer template
#                               and the Pulumi program pass https only. The sha256 applies either way.
#   COUCHBASE_PACKAGE_SHA256    sha256 the downloaded .deb must have (download mode; 64 hex digits)
#   COUCHBASE_DOWNLOAD_TIMEOUT  seconds one download attempt may take (default 1800)
#   COUCHBASE_DOWNLOAD_RETRIES  attempts after the first on a transient failure (default 5)
#   COUCHBASE_RELEASE_URL       https URL of the couchbase-release .deb (repository mode). TEST ONLY:
#                               file:///path is also accepted, so test/images/couchbase-repository.sh
#                               can check a stand-in offline; the Packer template and the Pulumi
#                               program accept https only. The sha256 pin applies either way.
#   COUCHBASE_RELEASE_SHA256    pinned sha256 of that .deb (repository mode)
#   COUCHBASE_KEY_FINGERPRINTS  pinned signing key fingerprints, space-separated (repository mode)
#   COUCHBASE_APT_URL           apt repository base URL (repository mode; default by edition)
#   APT_LOCK_TIMEOUT            seconds to wait for another apt or dpkg to release its lock (default 900)
#   ROOT                        must be / (run this script inside the root)
set -o errexit -o nounset -o pipefail

die() {
	printf 'install-couchbase: error: %s\n' "$*" >&2
	exit 1
}
log() { printf 'install-couchbase: %s\n' "$*"; }

[[ "${ROOT:-/}" == / ]] || die "ROOT=${ROOT}: run this script inside the target root (chroot), apt needs it"

COUCHBASE_EDITION="${COUCHBASE_EDITION:?Error: COUCHBASE_EDITION is required}"
COUCHBASE_VERSION="${COUCHBASE_VERSION:?Error: COUCHBASE_VERSION is required}"
COUCHBASE_PACKAGE_SOURCE="${COUCHBASE_PACKAGE_SOURCE:?Error: COUCHBASE_PACKAGE_SOURCE is required}"

[[ "$COUCHBASE_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "COUCHBASE_VERSION must look like 8.0.0, got '$COUCHBASE_VERSION'"
case "$COUCHBASE_EDITION" in
enterprise) package=couchbase-server ;;
community) package=couchbase-server-community ;;
*) die "COUCHBASE_EDITION must be enterprise or community, got '$COUCHBASE_EDITION'" ;;
esac

# On a fresh instance apt-daily and unattended-upgrades often hold the dpkg lock for minutes, and
# apt-get (unlike apt) fails at once on a held lock unless told to wait.
APT_LOCK_TIMEOUT="${APT_LOCK_TIMEOUT:-900}"
[[ "$APT_LOCK_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "APT_LOCK_TIMEOUT must be a number of seconds, got '$APT_LOCK_TIMEOUT'"

# Non-interactive apt: no debconf prompts or frontend warnings, keep existing config files,
# no recommends, plain progress output for the build log; wait for the dpkg lock.
export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true
# The package's scripts must never start the server during the build: a started server writes the
# node's identity (UUID, certificates, config) and every instance of the image would share it.
# Couchbase's own container images install with this variable for the same reason. The service is
# enabled below, so each instance starts its own, uninitialised server at first boot.
export INSTALL_DONT_START_SERVER=1
apt_get=(apt-get -q -y
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
	-o APT::Install-Recommends=false -o Dpkg::Use-Pty=0
	-o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT")

# DPkg::Lock::Timeout covers apt-get install, not the package lists' own lock that
# `apt-get update` takes, nor the dpkg run behind apt-mark. Those run through this: while the
# command fails because another apt or dpkg holds a lock, it is tried again every 2 s (apt's own
# wait polls every second) until APT_LOCK_TIMEOUT has passed. Any other failure is returned as
# it is.
# Usage: retry_while_locked NAME COMMAND...   (NAME for messages)
retry_while_locked() {
	local name="$1" deadline=$((SECONDS + APT_LOCK_TIMEOUT)) out rc pause
	shift
	while :; do
		rc=0
		out="$(LC_ALL=C "$@" 2>&1)" || rc=$?
		printf '%s\n' "$out"
		((rc != 0)) || return 0
		grep -qE 'Could not get lock|Unable to lock directory|locked by another process' <<<"$out" || return "$rc"
		((SECONDS < deadline)) || die "$name: another apt or dpkg (apt-daily, unattended-upgrades?) still holds the lock after ${APT_LOCK_TIMEOUT}s"
		pause=$((deadline - SECONDS < 2 ? deadline - SECONDS : 2))
		log "$name: another apt or dpkg holds the lock; trying again in ${pause} s"
		sleep "$pause"
	done
}
apt_update() { retry_while_locked "apt-get update" "${apt_get[@]}" update; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Debian version strings of Couchbase's packages start with the release: 8.0.0-1234-1.
version_matches() { [[ "$1" == "$COUCHBASE_VERSION" || "$1" == "$COUCHBASE_VERSION"-* ]]; }

# Primary-key fingerprints of the OpenPGP keys in the given files, one per line, sorted.
key_fingerprints() {
	local f
	for f in "$@"; do
		GNUPGHOME="$tmp/gnupg" gpg --batch --quiet --with-colons --show-keys "$f"
	done | awk -F: '$1 == "pub" { want = 1; next } $1 == "fpr" && want { print $10; want = 0 }' | sort -u
}

install_from_repository() {
	local url="${COUCHBASE_RELEASE_URL:-https://packages.couchbase.com/releases/couchbase-release/couchbase-release-1.0-noarch.deb}"
	local sha="${COUCHBASE_RELEASE_SHA256:-}"
	local pins="${COUCHBASE_KEY_FINGERPRINTS:-}"
	local apt_url="${COUCHBASE_APT_URL:-https://packages.couchbase.com/releases/couchbase-server/$COUCHBASE_EDITION/deb/}"
	# Fail closed: without both pins there is nothing to trust the repository by.
	[[ "$sha" =~ ^[0-9a-f]{64}$ ]] || die "repository mode needs COUCHBASE_RELEASE_SHA256 (64 hex digits): the pinned sha256 of $url"
	[[ -n "$pins" ]] || die "repository mode needs COUCHBASE_KEY_FINGERPRINTS: the pinned fingerprints of Couchbase's signing keys"
	local expected fp
	for fp in $pins; do
		[[ "$fp" =~ ^[0-9A-Fa-f]{40}$ ]] || die "not a 40-hex-digit key fingerprint: $fp"
	done
	expected="$(for fp in $pins; do printf '%s\n' "${fp^^}"; done | sort -u)"
	case "$url" in
	https://*) ;;
	file:///*) log "TEST ONLY: reading the couchbase-release .deb from a local file: $url" ;;
	*) die "COUCHBASE_RELEASE_URL must be an https:// URL, got '$url'" ;;
	esac

	apt_update
	local need=()
	if [[ "$url" == https://* ]]; then
		command -v curl >/dev/null || need+=(curl)
	fi
	command -v gpg >/dev/null || need+=(gpg)
	[[ -e /etc/ssl/certs/ca-certificates.crt ]] || need+=(ca-certificates)
	((${#need[@]} == 0)) || "${apt_get[@]}" install "${need[@]}"

	if [[ "$url" == file:///* ]]; then
		cp -- "${url#file://}" "$tmp/couchbase-release.deb"
	else
		curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 \
			--retry 3 --output "$tmp/couchbase-release.deb" "$url"
	fi
	printf '%s  %s\n' "$sha" "$tmp/couchbase-release.deb" | sha256sum --check --strict -

	# Unpack only: the release package's own scripts would write an unpinned source.
	dpkg-deb --extract "$tmp/couchbase-release.deb" "$tmp/release"
	local keys=()
	mapfile -t keys < <(find "$tmp/release" -type f \( -name '*.asc' -o -name '*.gpg' -o -name '*.key' -o -name '*.pub' \) | sort)
	((${#keys[@]} > 0)) || die "no signing key found in $url"
	install -d -m 0700 "$tmp/gnupg"
	local found
	found="$(key_fingerprints "${keys[@]}")"
	if [[ "$found" != "$expected" ]]; then
		die "signing keys in couchbase-release do not match the pins; found: $(echo "$found" | tr '\n' ' ')expected: $(echo "$expected" | tr '\n' ' ')"
	fi

	install -d -m 0755 /etc/apt/keyrings
	GNUPGHOME="$tmp/gnupg" gpg --batch --quiet --no-default-keyring --keyring "$tmp/couchbase.kbx" --import "${keys[@]}"
	GNUPGHOME="$tmp/gnupg" gpg --batch --quiet --no-default-keyring --keyring "$tmp/couchbase.kbx" --export >"$tmp/couchbase.gpg"
	[[ "$(key_fingerprints "$tmp/couchbase.gpg")" == "$expected" ]] || die "exported keyring does not hold exactly the pinned keys"
	install -m 0644 "$tmp/couchbase.gpg" /etc/apt/keyrings/couchbase.gpg
	log "signing keys verified: $(echo "$expected" | tr '\n' ' ')"

	local codename arch
	# shellcheck source=/dev/null
	codename="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}")"
	arch="$(dpkg --print-architecture)"
	printf 'deb [arch=%s signed-by=/etc/apt/keyrings/couchbase.gpg] %s %s %s/main\n' \
		"$arch" "$apt_url" "$codename" "$codename" >/etc/apt/sources.list.d/couchbase-server.list
	apt_update

	local candidate
	candidate="$(apt-cache madison "$package" | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' |
		while read -r v; do version_matches "$v" && printf '%s\n' "$v"; done | head -n 1)"
	[[ -n "$candidate" ]] || die "$package $COUCHBASE_VERSION is not in $apt_url ($codename); available: $(apt-cache madison "$package" | awk -F'|' '{ printf "%s", $2 }')"
	"${apt_get[@]}" install "$package=$candidate"
}

install_from_download() {
	local url="${COUCHBASE_PACKAGE_URL:-}" sha="${COUCHBASE_PACKAGE_SHA256:-}"
	local timeout="${COUCHBASE_DOWNLOAD_TIMEOUT:-1800}" retries="${COUCHBASE_DOWNLOAD_RETRIES:-5}"
	local arch want proto actual
	arch="$(dpkg --print-architecture)"
	want="couchbase-server-${COUCHBASE_EDITION}_${COUCHBASE_VERSION}-linux_${arch}.deb"
	# Fail closed: without the sha256 there is nothing to trust the download by.
	[[ "$sha" =~ ^[0-9a-f]{64}$ ]] || die "download mode needs COUCHBASE_PACKAGE_SHA256 (64 lowercase hex digits): the sha256 Couchbase publishes at <package URL>.sha256"
	[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || die "COUCHBASE_DOWNLOAD_TIMEOUT must be a number of seconds, got '$timeout'"
	[[ "$retries" =~ ^[0-9]+$ ]] || die "COUCHBASE_DOWNLOAD_RETRIES must be a number, got '$retries'"
	case "$url" in
	https://*/*) proto='=https' ;;
	http://127.0.0.1:*/*)
		proto='=http'
		log "TEST ONLY: downloading from a loopback http server: $url"
		;;
	*) die "COUCHBASE_PACKAGE_URL must be an https:// URL of the .deb, got '$url'" ;;
	esac
	[[ "${url##*/}" == "$want" ]] || die "COUCHBASE_PACKAGE_URL names ${url##*/}, but this $arch machine installs $COUCHBASE_EDITION $COUCHBASE_VERSION from $want"

	if ! command -v curl >/dev/null; then
		apt_update
		"${apt_get[@]}" install curl ca-certificates
	fi
	install -d -m 0755 "$tmp/download"
	log "downloading $url"
	# Transient failures (refused or dropped connections, timeouts, HTTP 408/429/5xx) are tried
	# again; a 404 or a checksum mismatch is not. Redirects must stay on the same scheme.
	curl --fail --silent --show-error --location --proto "$proto" --proto-redir "$proto" --tlsv1.2 \
		--connect-timeout 30 --max-time "$timeout" --retry "$retries" --retry-delay 2 --retry-connrefused \
		--output "$tmp/download/$want" "$url" || die "could not download $url"
	actual="$(sha256sum "$tmp/download/$want" | cut -d' ' -f1)"
	if [[ "$actual" != "$sha" ]]; then
		rm -f -- "$tmp/download/$want"
		die "$want has sha256 $actual, not the expected $sha: refused, nothing installed"
	fi
	log "sha256 verified: $want $sha"
	install_from_folder "$tmp/download"
}

install_from_folder() {
	local dir="$1"
	[[ -d "$dir" ]] || die "COUCHBASE_PACKAGE_SOURCE is neither 'repository' nor a folder: $dir"
	if [[ -f "$dir/SHA256SUMS" ]]; then
		(cd "$dir" && sha256sum --check --strict --ignore-missing SHA256SUMS)
	fi
	local matches=() f
	shopt -s nullglob
	for f in "$dir"/couchbase-server*_"$COUCHBASE_VERSION"[-_]*.deb "$dir"/couchbase-server*_"$COUCHBASE_VERSION".deb; do
		if [[ "$(dpkg-deb --field "$f" Package)" == "$package" ]] && version_matches "$(dpkg-deb --field "$f" Version)" &&
			[[ "$(dpkg-deb --field "$f" Architecture)" == "$(dpkg --print-architecture)" || "$(dpkg-deb --field "$f" Architecture)" == all ]]; then
			matches+=("$f")
		fi
	done
	shopt -u nullglob
	((${#matches[@]} == 1)) || die "expected exactly one $package $COUCHBASE_VERSION .deb in $dir, found ${#matches[@]}: ${matches[*]:-none} (folder holds: $(find "$dir" -mindepth 1 -maxdepth 1 -printf '%f '))"
	local deb="${matches[0]}"
	log "installing $(dpkg-deb --field "$deb" Package) $(dpkg-deb --field "$deb" Version) from $deb: $(dpkg-deb --field "$deb" Description | head -n 1)"
	# Refresh the package lists only when the .deb has dependencies apt may have to fetch.
	if [[ -n "$(dpkg-deb --field "$deb" Depends Pre-Depends)" ]]; then
		apt_update
	fi
	# A copy apt may read: it drops privileges to _apt for local files.
	install -m 0644 "$deb" "$tmp/$(basename "$deb")"
	chmod 0755 "$tmp"
	"${apt_get[@]}" install "$tmp/$(basename "$deb")"
}

if [[ "$COUCHBASE_PACKAGE_SOURCE" == download ]]; then
	install_from_download
elif [[ "$COUCHBASE_PACKAGE_SOURCE" == repository ]]; then
	install_from_repository
else
	install_from_folder "$COUCHBASE_PACKAGE_SOURCE"
fi

retry_while_locked "apt-mark hold" apt-mark hold "$package"

installed="$(dpkg-query --show --showformat='${Version}' "$package")"
version_matches "$installed" || die "installed $package $installed, wanted $COUCHBASE_VERSION"
apt-mark showhold | grep -qx "$package" || die "$package is not held"
log "$package $installed installed and held"

# Enabled, not started: first boot starts it (whatever the package's own scripts did about enabling).
systemctl enable couchbase-server.service
if [[ -d /run/systemd/system ]] && systemctl is-active --quiet couchbase-server.service; then
	die "couchbase-server.service is running after the install although INSTALL_DONT_START_SERVER=1: the build must never start the server"
fi
log "couchbase-server.service enabled; not started (INSTALL_DONT_START_SERVER=1)"
