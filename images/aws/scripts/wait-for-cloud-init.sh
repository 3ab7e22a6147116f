#!/usr/bin/env bash
# Wait until cloud-init has finished the builder's first boot, before anything else runs.
#
# On a fresh EC2 instance SSH is up before cloud-init is done: it may still be writing users,
# keys and apt sources, and apt-daily / unattended-upgrades start right after it. Provisioning
# that races it fails or is undone.
#
# `cloud-init status --wait` exits 0 when done, 1 on a critical error and, since cloud-init 23.4
# (Ubuntu 24.04), 2 when it finished with recoverable errors ("degraded": for example a
# deprecated key in the image's own vendor data). 2 is reported and tolerated; anything else
# fails the build with cloud-init's detailed status.
# https://cloudinit.readthedocs.io/en/latest/explanation/failure_states.html#error-codes
#
# Without cloud-init (the local sandbox, other base images) there is nothing to wait for.
#
# Env:
#   CLOUD_INIT_TIMEOUT  seconds to wait at most (default 900)
set -o errexit -o nounset -o pipefail

CLOUD_INIT_TIMEOUT="${CLOUD_INIT_TIMEOUT:-900}"

die() {
	printf 'wait-for-cloud-init: error: %s\n' "$*" >&2
	exit 1
}
log() { printf 'wait-for-cloud-init: %s\n' "$*"; }

[[ "$CLOUD_INIT_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "CLOUD_INIT_TIMEOUT must be a number of seconds, got '$CLOUD_INIT_TIMEOUT'"

if ! command -v cloud-init >/dev/null; then
	log "no cloud-init on this host: nothing to wait for"
	exit 0
fi

# The detailed status, for the build log, when cloud-init did not simply succeed.
details() { cloud-init status --long 2>&1 | sed 's/^/    /' || true; }

log "waiting up to ${CLOUD_INIT_TIMEOUT}s for cloud-init to finish"
rc=0
timeout "$CLOUD_INIT_TIMEOUT" cloud-init status --wait || rc=$?
case "$rc" in
0) log "cloud-init finished" ;;
2)
	log "cloud-init finished with recoverable errors (exit 2, degraded); continuing:"
	details
	;;
124) die "cloud-init did not finish within ${CLOUD_INIT_TIMEOUT}s (CLOUD_INIT_TIMEOUT)" ;;
*)
	details >&2
	die "cloud-init failed on this instance (cloud-init status --wait exited $rc); see /var/log/cloud-init.log"
	;;
esac
