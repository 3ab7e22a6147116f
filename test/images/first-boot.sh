#!/usr/bin/env bash
# Tests that the build waits for a fresh instance's first boot instead of racing it, in fresh
# overlays of the cached Debian root (as test/images/provisioners.sh runs the scripts):
#
# - wait-for-cloud-init.sh against a STAND-IN cloud-init (a script at /usr/bin/cloud-init that
#   records its arguments and exits as told): done (0), degraded (2, tolerated), failed (1, the
#   build fails with a message), never done (the timeout), and no cloud-init at all.
# - install-couchbase.sh (local stand-in package) while another process holds apt's locks, as
#   apt-daily and unattended-upgrades do on a fresh Ubuntu instance: the dpkg locks (apt-get
#   install waits) and the package lists' lock (apt-get update is tried again), each released
#   after a while (the install waits, then succeeds) or held past APT_LOCK_TIMEOUT (it fails,
#   saying why). The holder is a python3 process on the host taking the same fcntl locks apt
#   and dpkg take, on the root's lock files.
#
# Usage: test/images/first-boot.sh   (root; TAP-style lines; exit 1 on any failure)
set -o errexit -o nounset -o pipefail

# shellcheck source=test/images/namespace.sh
source "$(dirname "${BASH_SOURCE[0]}")/namespace.sh" "${BASH_SOURCE[0]}"
version=8.0.0

holder=""
trap 'if [[ -n "$holder" ]]; then kill "$holder" 2>/dev/null || true; fi' EXIT

# timed COMMAND...: runs COMMAND, its wall time in ms goes to $work/elapsed.
timed() {
	local start="${EPOCHREALTIME/./}" rc=0
	"$@" || rc=$?
	echo $(((${EPOCHREALTIME/./} - start) / 1000)) >"$work/elapsed"
	return "$rc"
}
elapsed_at_least() { (($(cat "$work/elapsed") >= $1)); }
elapsed_below() { (($(cat "$work/elapsed") < $1)); }

### wait-for-cloud-init.sh

# standin_cloud_init ROOT EXIT_CODE [SECONDS]: `status --wait` waits SECONDS (default 0) and exits
# EXIT_CODE; `status --long` prints a detailed status and exits the same.
standin_cloud_init() {
	cat >"$1/usr/bin/cloud-init" <<STANDIN
#!/bin/sh
# STAND-IN cloud-init (test/images/first-boot.sh), not cloud-init.
echo "\$*" >>/var/tmp/cloud-init.calls
case "\$*" in
"status --wait") sleep ${3:-0}; echo "status: stand-in finished with exit $2"; exit $2 ;;
"status --long") echo "status: stand-in"; echo "detail: stand-in detailed status"; exit $2 ;;
*) echo "stand-in cloud-init: unexpected arguments: \$*" >&2; exit 64 ;;
esac
STANDIN
	chmod 0755 "$1/usr/bin/cloud-init"
}
wait_script=/tmp/wait-for-cloud-init.sh

root="$(mount_root no-cloud-init)"
cp "$scripts/wait-for-cloud-init.sh" "$root$wait_script"
check "no cloud-init: nothing to wait for" in_root "$root" bash $wait_script
check "... and says so" output_has "no cloud-init on this host"

root="$(mount_root cloud-init-done)"
cp "$scripts/wait-for-cloud-init.sh" "$root$wait_script"
standin_cloud_init "$root" 0 0.5
check "cloud-init done (exit 0): waits for it" timed in_root "$root" bash $wait_script
check "... and says so" output_has "cloud-init finished"
check "... asking cloud-init status --wait" test "$(head -n 1 "$root/var/tmp/cloud-init.calls")" = "status --wait"
check "... until it finished" elapsed_at_least 400

root="$(mount_root cloud-init-degraded)"
cp "$scripts/wait-for-cloud-init.sh" "$root$wait_script"
standin_cloud_init "$root" 2
check "cloud-init degraded (exit 2, recoverable errors): tolerated" in_root "$root" bash $wait_script
check "... reported" output_has "recoverable errors (exit 2, degraded); continuing"
check "... with the detailed status" output_has "detail: stand-in detailed status"

root="$(mount_root cloud-init-failed)"
cp "$scripts/wait-for-cloud-init.sh" "$root$wait_script"
standin_cloud_init "$root" 1
check_fails "cloud-init failed (exit 1): the build fails" in_root "$root" bash $wait_script
check "... saying why" output_has "cloud-init failed on this instance (cloud-init status --wait exited 1)"
check "... with the detailed status" output_has "detail: stand-in detailed status"

root="$(mount_root cloud-init-hangs)"
cp "$scripts/wait-for-cloud-init.sh" "$root$wait_script"
standin_cloud_init "$root" 0 30
check_fails "cloud-init never done: fails after CLOUD_INIT_TIMEOUT" timed in_root "$root" CLOUD_INIT_TIMEOUT=1 bash $wait_script
check "... saying so" output_has "cloud-init did not finish within 1s"
check "... without waiting longer" elapsed_below 5000

### install-couchbase.sh while apt's locks are held

bash "$repo/scripts/local/standin-couchbase.sh" --out "$work/packages" --version "$version" >/dev/null
# A variant with a dependency (satisfied by the root), so the install runs apt-get update first.
deb="$(basename "$work"/packages/*.deb)"
dpkg-deb --raw-extract "$work/packages/$deb" "$work/depends-pkg"
sed -i '/^Package:/a Depends: base-files' "$work/depends-pkg/DEBIAN/control"
mkdir -p "$work/packages-depends"
dpkg-deb --root-owner-group --build "$work/depends-pkg" "$work/packages-depends/$deb" >/dev/null

# hold_locks SECONDS FILE...: a process that takes the same fcntl write locks as apt and dpkg on
# FILEs and holds them for SECONDS; returns once they are held (its pid in $holder).
hold_locks() {
	local seconds="$1"
	shift
	rm -f "$work/held"
	python3 -c '
import fcntl, sys, time
locks = [open(path, "a") for path in sys.argv[3:]]
for f in locks:
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
open(sys.argv[2], "w").close()
time.sleep(float(sys.argv[1]))
' "$seconds" "$work/held" "$@" &
	holder=$!
	for _ in {1..100}; do
		if [[ -e "$work/held" ]]; then return 0; fi
		sleep 0.05
	done
	echo "the lock holder did not take the locks" >&2
	return 1
}
release_locks() {
	kill "$holder" 2>/dev/null || true
	wait "$holder" 2>/dev/null || true
	holder=""
}

# install ROOT PACKAGE_FOLDER [VAR=value...]: the script inside the root, as on the builder.
install() {
	local root="$1" folder="$2"
	shift 2
	rm -rf "$root/tmp/packages"
	cp -r "$folder" "$root/tmp/packages"
	cp "$scripts/install-couchbase.sh" "$root/tmp/install-couchbase.sh"
	in_root "$root" COUCHBASE_EDITION=enterprise COUCHBASE_VERSION="$version" \
		COUCHBASE_PACKAGE_SOURCE=/tmp/packages "$@" bash /tmp/install-couchbase.sh
}
held_version() {
	dpkg-query --admindir="$1/var/lib/dpkg" --show --showformat='${Status}|${Version}' couchbase-server 2>/dev/null
}
not_installed() { [[ "$(held_version "$1")" != *" installed|"* ]]; }

root="$(mount_root dpkg-lock)"
hold_locks 2 "$root/var/lib/dpkg/lock-frontend" "$root/var/lib/dpkg/lock"
check "dpkg locks held by another process: the install waits, then succeeds" timed install "$root" "$work/packages"
release_locks
check "... it waited for the lock" output_has "Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend"
check "... until it was released" elapsed_at_least 1500
check "... couchbase-server $version installed and held" test "$(held_version "$root")" = "hold ok installed|$version-standin"
check "... its service enabled for the first boot" test -L "$root/etc/systemd/system/multi-user.target.wants/couchbase-server.service"

root="$(mount_root lists-lock)"
: >"$root/etc/apt/sources.list" # apt-get update offline: no sources, only its lock
hold_locks 1 "$root/var/lib/apt/lists/lock"
check "package lists locked by another apt: apt-get update is tried again, then the install succeeds" \
	install "$root" "$work/packages-depends"
release_locks
check "... it said why it tried again" output_has "apt-get update: another apt or dpkg holds the lock; trying again"
check "... couchbase-server $version installed and held" test "$(held_version "$root")" = "hold ok installed|$version-standin"

root="$(mount_root dpkg-lock-kept)"
hold_locks 60 "$root/var/lib/dpkg/lock-frontend" "$root/var/lib/dpkg/lock"
check_fails "dpkg locks held past APT_LOCK_TIMEOUT: the install fails" timed install "$root" "$work/packages" APT_LOCK_TIMEOUT=1
release_locks
check "... naming the lock" output_has "Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend)"
check "... after the timeout, not at once" elapsed_at_least 800
check "... nor much later" elapsed_below 10000
check "... nothing installed" not_installed "$root"

root="$(mount_root lists-lock-kept)"
: >"$root/etc/apt/sources.list"
hold_locks 60 "$root/var/lib/apt/lists/lock"
check_fails "package lists locked past APT_LOCK_TIMEOUT: the install fails" timed install "$root" "$work/packages-depends" APT_LOCK_TIMEOUT=2
release_locks
check "... saying why" output_has "apt-get update: another apt or dpkg (apt-daily, unattended-upgrades?) still holds the lock after 2s"
check "... after the timeout, not later" elapsed_below 6000
check "... nothing installed" not_installed "$root"

check_fails "APT_LOCK_TIMEOUT must be a number" install "$root" "$work/packages" APT_LOCK_TIMEOUT=soon
check "... saying so" output_has "APT_LOCK_TIMEOUT must be a number of seconds"

echo "1..$count"
if ((failures > 0)); then
	echo "# $failures of $count failed"
	exit 1
fi
echo "# all $count passed"
