#!/usr/bin/env bash
# Tune the host for Couchbase Server: transparent huge pages off at every boot, swappiness 1, and
# the process and file limits Couchbase documents. Couchbase Server warns about THP and swappiness
# at install time when they are not set.
#
# Env:
#   ROOT  root of the system to modify (default /). Anything else: an offline root (tests).
set -o errexit -o nounset -o pipefail

ROOT="${ROOT:-/}"
r="${ROOT%/}"

log() { printf 'tune-host: %s\n' "$*"; }

enable_unit() {
	if [[ "$ROOT" == / ]]; then
		systemctl enable "$1"
	else
		systemctl --root="$ROOT" enable "$1"
	fi
}

# True on a booted host (not a chroot or an offline root): then the settings apply now too, so
# the Couchbase install that follows does not warn.
live() { [[ "$ROOT" == / && -d /run/systemd/system ]]; }

### Transparent huge pages: disabled by a oneshot unit before couchbase-server starts.
# https://docs.couchbase.com/server/current/install/thp-disable.html ("Using a THP Service").
install -d -m 0755 "$r/etc/systemd/system"
cat >"$r/etc/systemd/system/disable-thp.service" <<'UNIT'
[Unit]
Description=Disable Transparent Huge Pages (THP) for Couchbase Server
Documentation=https://docs.couchbase.com/server/current/install/thp-disable.html
# Early, before any service that allocates memory; only where the kernel has THP and lets this
# system set it: on a VM /sys is read-write; in a container (a local boot test) it is read-only,
# and the unit is skipped by this condition instead of failing.
DefaultDependencies=no
After=sysinit.target local-fs.target
Before=basic.target couchbase-server.service
ConditionPathIsDirectory=/sys/kernel/mm/transparent_hugepage
ConditionPathIsReadWrite=/sys/kernel/mm/transparent_hugepage

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo never > /sys/kernel/mm/transparent_hugepage/enabled'
ExecStart=/bin/sh -c 'echo never > /sys/kernel/mm/transparent_hugepage/defrag'

[Install]
WantedBy=basic.target
UNIT
chmod 0644 "$r/etc/systemd/system/disable-thp.service"
enable_unit disable-thp.service
log "disable-thp.service installed and enabled"

### Swappiness: 1.
# Couchbase: "Swappiness should be set to 1 or 0 on most Linux systems"
# (https://docs.couchbase.com/server/current/install/install-swap-space.html). We use 1, not 0:
# since Linux 3.5, 0 stops swapping anonymous memory entirely until the OOM killer runs, while 1
# keeps swap as a last resort.
install -d -m 0755 "$r/etc/sysctl.d"
cat >"$r/etc/sysctl.d/90-couchbase.conf" <<'CONF'
# Couchbase Server: keep its managed cache in RAM; swap only as a last resort.
# https://docs.couchbase.com/server/current/install/install-swap-space.html
vm.swappiness = 1
CONF
chmod 0644 "$r/etc/sysctl.d/90-couchbase.conf"
log "vm.swappiness = 1 in /etc/sysctl.d/90-couchbase.conf"

### Limits: at least 10,000 processes and 70,000 open files for Couchbase Server.
# Couchbase: "The maximum number of user processes for Couchbase Server must therefore be reset to
# at least 10,000; and the maximum number of file descriptors to at least 70,000"
# (https://docs.couchbase.com/server/current/install/non-root.html, "Establish Limits for User
# Processes and File Descriptors"). The server runs as a systemd service, which limits.conf does
# not reach: a drop-in of the unit sets them there; limits.d sets them for the couchbase user's
# sessions (the docs' way, for tools run as that user).
install -d -m 0755 "$r/etc/systemd/system/couchbase-server.service.d" "$r/etc/security/limits.d"
cat >"$r/etc/systemd/system/couchbase-server.service.d/90-couchbase-limits.conf" <<'CONF'
# Couchbase Server: at least 10,000 processes and 70,000 open files.
# https://docs.couchbase.com/server/current/install/non-root.html
[Service]
LimitNOFILE=70000
LimitNPROC=10000
CONF
cat >"$r/etc/security/limits.d/90-couchbase.conf" <<'CONF'
# Couchbase Server: at least 10,000 processes and 70,000 open files.
# https://docs.couchbase.com/server/current/install/non-root.html
couchbase soft nproc 10000
couchbase hard nproc 10000
couchbase soft nofile 70000
couchbase hard nofile 70000
CONF
chmod 0644 "$r/etc/systemd/system/couchbase-server.service.d/90-couchbase-limits.conf" "$r/etc/security/limits.d/90-couchbase.conf"
log "couchbase-server.service limits: LimitNOFILE=70000, LimitNPROC=10000 (drop-in and limits.d)"

if live; then
	systemctl daemon-reload
	systemctl start disable-thp.service
	sysctl --load=/etc/sysctl.d/90-couchbase.conf
	log "applied now: THP $(cat /sys/kernel/mm/transparent_hugepage/enabled), swappiness $(cat /proc/sys/vm/swappiness)"
fi
