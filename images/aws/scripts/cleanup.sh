#!/usr/bin/env bash
# Remove everything that must not be baked into the image: SSH host keys (and install the unit
# that makes new ones at first boot where cloud-init does not), authorized_keys,
# cloud-init state, shell history, logs, Couchbase Server's node state, apt lists and caches,
# the build's uploads, and the machine identity (an empty /etc/machine-id makes systemd generate
# a new one on first boot). validate.sh, the last step, checks the result.
#
# The live SSH session of the build survives the removal of keys (it is already established).
#
# Env:
#   ROOT  root of the system to clean (default /)
set -o errexit -o nounset -o pipefail
shopt -s nullglob dotglob

ROOT="${ROOT:-/}"
r="${ROOT%/}"

log() { printf 'cleanup: %s\n' "$*"; }

# Services that keep writing under /var/log (or, for couchbase-server, its node state) after
# they are emptied: the SSM agent preinstalled on Canonical's AMIs (a snap; the .deb elsewhere),
# apt's daily timers and a run of theirs still going (apt-daily-upgrade.service runs
# unattended-upgrade), unattended-upgrades.service (its stop hook logs), and Couchbase Server.
writers=(
	apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service
	unattended-upgrades.service
	snap.amazon-ssm-agent.amazon-ssm-agent.service amazon-ssm-agent.service
	couchbase-server.service
)
readonly quiet_marker=/run/image-build-quiet

# Stop each writer that is installed, and keep it from starting again for the rest of the build:
# a drop-in in /run makes its start a no-op while the marker exists. /run is gone at the next
# boot, so the image starts them as usual. (Not `systemctl mask --runtime`: that has no effect on
# units whose file is in /etc, as snap services are.)
quiesce_writers() {
	local unit present=()
	for unit in "${writers[@]}"; do
		if [[ "$(systemctl show --property=LoadState --value -- "$unit" 2>/dev/null)" == loaded ]]; then
			present+=("$unit")
		fi
	done
	((${#present[@]} > 0)) || return 0
	: >"$quiet_marker"
	for unit in "${present[@]}"; do
		install -d -m 0755 "/run/systemd/system/$unit.d"
		printf '[Unit]\n# The image build (cleanup.sh): not again before the next boot.\nConditionPathExists=!%s\n' \
			"$quiet_marker" >"/run/systemd/system/$unit.d/90-image-build-quiet.conf"
	done
	systemctl daemon-reload
	systemctl stop -- "${present[@]}"
	log "stopped until the next boot: ${present[*]}"
}

# On a booted builder, stop the writers first so nothing re-fills the logs before the image
# is taken (Packer stops the instance through the EC2 API right after the last provisioner).
if [[ "$ROOT" == / && -d /run/systemd/system ]]; then
	quiesce_writers
	systemctl stop rsyslog.service syslog.socket 2>/dev/null || true
	journalctl --flush --rotate 2>/dev/null || true
	systemctl stop systemd-journald-dev-log.socket systemd-journald-audit.socket \
		systemd-journald.socket systemd-journald.service 2>/dev/null || true
	if command -v cloud-init >/dev/null; then
		cloud-init clean --logs || true
	fi
fi

### SSH: host keys are regenerated on first boot; nobody's keys stay in the image.
# cloud-init (Ubuntu's cloud images) makes new ones at first boot; without it nothing would, and
# ssh.service would fail. This unit makes them where none exist, after cloud-init's network stage
# (there it finds the keys and is skipped) and before sshd starts.
install -d -m 0755 "$r/etc/systemd/system"
cat >"$r/etc/systemd/system/ssh-host-keys.service" <<'UNIT'
[Unit]
Description=Generate SSH host keys at first boot where nothing else did
Documentation=https://man.openbsd.org/ssh-keygen.1
ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key
After=cloud-init.service cloud-init-network.service
Before=ssh.service sshd.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target ssh.service
UNIT
chmod 0644 "$r/etc/systemd/system/ssh-host-keys.service"
if [[ "$ROOT" == / ]]; then
	systemctl enable ssh-host-keys.service
else
	systemctl --root="$ROOT" enable ssh-host-keys.service
fi
rm -f -- "$r"/etc/ssh/ssh_host_*
for home in "$r/root" "$r"/home/*; do
	rm -f -- "$home"/.ssh/authorized_keys "$home"/.ssh/authorized_keys2
done
log "removed SSH host keys and authorized_keys; ssh-host-keys.service makes new host keys at first boot"

### cloud-init: no per-instance state, so it runs again on the image's first boot.
if [[ -d "$r/var/lib/cloud" ]]; then
	rm -rf --one-file-system -- "$r"/var/lib/cloud/*
fi
log "removed cloud-init state"

### Shell and tool history.
for home in "$r/root" "$r"/home/*; do
	rm -f -- "$home"/.*_history "$home"/.lesshst "$home"/.viminfo "$home"/.wget-hsts
done
log "removed shell history"

### Logs: rotated and journal files removed, the rest truncated (keeps owners and modes).
if [[ -d "$r/var/log" ]]; then
	find "$r/var/log" -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' -o -name '*.journal' -o -name '*.journal~' \) -delete
	find "$r/var/log" -type f -exec truncate --size=0 {} +
fi
log "removed and truncated logs"

### Couchbase Server: a server started during the build (the package starts it) left the node's
### identity; every instance must make its own on first start. What Couchbase documents as the
### node's configuration (config.dat, chronicle/), its generated certificates and keys (certs/,
### data_keys/, gosecrets.cfg; inbox/ for uploaded ones), its name (ip, ip_start), local token,
### cookie and password files, and logs that name the builder. The list is validate.sh's too.
cb="$r/opt/couchbase/var/lib/couchbase"
if [[ -d "$cb" ]]; then
	rm -rf --one-file-system -- "$cb"/config/config.dat "$cb"/config/chronicle/* "$cb"/config/certs/* \
		"$cb"/config/data_keys "$cb"/config/gosecrets.cfg "$cb"/inbox "$cb"/ip "$cb"/ip_start \
		"$cb"/localtoken "$cb"/isasl.pw "$cb"/couchbase-server.cookie* "$cb"/couchbase-server.pid "$cb"/logs/*
fi
log "removed Couchbase Server node state"

### apt: lists and downloaded packages (the image refreshes its lists when it needs them).
rm -rf -- "$r"/var/lib/apt/lists/*
rm -f -- "$r"/var/cache/apt/archives/*.deb "$r"/var/cache/apt/*.bin
log "removed apt lists and caches"

### Build uploads and temporary files.
rm -rf --one-file-system -- "$r/tmp/image-build" "$r"/var/tmp/*
log "removed build uploads"

### Machine identity: empty, not missing (systemd then treats the first boot as first boot).
: >"$r/etc/machine-id"
chmod 0444 "$r/etc/machine-id"
if [[ -f "$r/var/lib/dbus/machine-id" && ! -L "$r/var/lib/dbus/machine-id" ]]; then
	rm -f -- "$r/var/lib/dbus/machine-id"
fi
log "emptied /etc/machine-id"
