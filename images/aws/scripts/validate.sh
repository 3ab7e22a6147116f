#!/usr/bin/env bash
# The image's last gate: fail (exit 1) when anything that must not be in the image remains or
# anything the image must contain is missing. Lists every problem, not only the first.
#
# Hygiene: no SSH host keys, no authorized_keys, no cloud-init state, no shell history, no
# non-empty logs, an empty /etc/machine-id, no build uploads, no Couchbase Server node state
# (and, on a booted builder, couchbase-server not running, so it cannot write any after this).
# Content: disable-thp.service installed, enabled and conditioned on a writable THP setting,
# vm.swappiness 0 or 1, Couchbase Server's limits (LimitNOFILE >= 70000, LimitNPROC >= 10000 in
# a drop-in of its unit), ssh-host-keys.service installed and enabled (host keys at first boot),
# dp-agent installed (0755) and enabled, and, when COUCHBASE_EDITION and COUCHBASE_VERSION are
# set, that version of Couchbase Server installed, held, and its service enabled (started at first
# boot, never during the build).
#
# Env:
#   ROOT               root of the system to check (default /)
#   COUCHBASE_EDITION  enterprise | community (optional: enables the package check)
#   COUCHBASE_VERSION  X.Y.Z (optional: enables the package check)
set -o errexit -o nounset -o pipefail
shopt -s nullglob dotglob

ROOT="${ROOT:-/}"
r="${ROOT%/}"

problems=()
problem() { problems+=("$*"); }

# Paths as seen inside the image, for messages.
inside() {
	local p
	for p in "$@"; do printf '%s ' "${p#"$r"}"; done
}

### Hygiene
keys=("$r"/etc/ssh/ssh_host_*)
((${#keys[@]} == 0)) || problem "SSH host keys present: $(inside "${keys[@]}")"

homes=("$r/root" "$r"/home/*)
auth=()
hist=()
for home in "${homes[@]}"; do
	auth+=("$home"/.ssh/authorized_keys*)
	hist+=("$home"/.*_history "$home"/.lesshst*)
done
((${#auth[@]} == 0)) || problem "authorized_keys present: $(inside "${auth[@]}")"
((${#hist[@]} == 0)) || problem "shell history present: $(inside "${hist[@]}")"

cloud=("$r"/var/lib/cloud/*)
((${#cloud[@]} == 0)) || problem "cloud-init state present: $(inside "${cloud[@]}")"

if [[ -d "$r/var/log" ]]; then
	mapfile -t logs < <(find "$r/var/log" -type f -size +0c | sort)
	((${#logs[@]} == 0)) || problem "non-empty logs: $(inside "${logs[@]}")"
fi

if [[ ! -f "$r/etc/machine-id" ]]; then
	problem "/etc/machine-id missing (must exist and be empty)"
elif [[ -s "$r/etc/machine-id" ]]; then
	problem "/etc/machine-id not empty"
fi

[[ ! -e "$r/tmp/image-build" ]] || problem "build uploads left in /tmp/image-build"

# Couchbase Server's node state, as cleanup.sh lists it: every instance would share this node's
# identity (node UUID and configuration, certificates and keys, name, tokens) and its logs.
cb="$r/opt/couchbase/var/lib/couchbase"
node_state=()
for p in "$cb"/config/config.dat "$cb"/config/chronicle/* "$cb"/config/certs/* "$cb"/config/data_keys \
	"$cb"/config/gosecrets.cfg "$cb"/inbox "$cb"/ip "$cb"/ip_start "$cb"/localtoken "$cb"/isasl.pw \
	"$cb"/couchbase-server.cookie* "$cb"/couchbase-server.pid "$cb"/logs/*; do
	if [[ -e "$p" || -L "$p" ]]; then node_state+=("$p"); fi
done
((${#node_state[@]} == 0)) || problem "Couchbase Server node state present: $(inside "${node_state[@]}")"
if [[ "$ROOT" == / && -d /run/systemd/system ]] && systemctl is-active --quiet couchbase-server.service; then
	problem "couchbase-server.service is running: it would write node state after this check"
fi

### Content
# A unit is enabled when some *.wants/ (or *.requires/) folder links to it.
enabled() {
	local links=("$r"/etc/systemd/system/*.wants/"$1" "$r"/etc/systemd/system/*.requires/"$1")
	((${#links[@]} > 0))
}

[[ -f "$r/etc/systemd/system/disable-thp.service" ]] || problem "disable-thp.service missing"
enabled disable-thp.service || problem "disable-thp.service not enabled"
if [[ -f "$r/etc/systemd/system/disable-thp.service" ]] &&
	! grep -qx 'ConditionPathIsReadWrite=/sys/kernel/mm/transparent_hugepage' "$r/etc/systemd/system/disable-thp.service"; then
	problem "disable-thp.service lacks ConditionPathIsReadWrite=/sys/kernel/mm/transparent_hugepage (it would fail where /sys is read-only)"
fi

# limit NAME MINIMUM: the value of NAME= in the couchbase-server.service drop-ins is at least MINIMUM.
limit() {
	local value
	value="$(cat "$r"/etc/systemd/system/couchbase-server.service.d/*.conf /dev/null | sed -n "s/^$1=\([0-9]*\)\(:[0-9]*\)\{0,1\}\$/\1/p" | tail -n 1)"
	if [[ -n "$value" ]] && ((value >= $2)); then return 0; fi
	problem "couchbase-server.service: $1 not set to at least $2 in /etc/systemd/system/couchbase-server.service.d (found '${value}')"
}
limit LimitNOFILE 70000
limit LimitNPROC 10000

[[ -f "$r/etc/systemd/system/ssh-host-keys.service" ]] || problem "ssh-host-keys.service missing (nothing would make SSH host keys at first boot without cloud-init)"
enabled ssh-host-keys.service || problem "ssh-host-keys.service not enabled"

swappiness="$(cat "$r"/etc/sysctl.d/*.conf /dev/null | sed -n 's/^[[:space:]]*vm\.swappiness[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' | tail -n 1)"
[[ "$swappiness" == 0 || "$swappiness" == 1 ]] || problem "vm.swappiness not set to 0 or 1 in /etc/sysctl.d (found '${swappiness}')"

agent="$r/usr/local/bin/dp-agent"
if [[ ! -f "$agent" ]]; then
	problem "/usr/local/bin/dp-agent missing"
elif [[ "$(stat -c '%a %U' "$agent")" != "755 root" ]]; then
	problem "/usr/local/bin/dp-agent is $(stat -c '%a %U' "$agent"), want 755 root"
fi
[[ -f "$r/etc/systemd/system/dp-agent.service" ]] || problem "dp-agent.service missing"
enabled dp-agent.service || problem "dp-agent.service not enabled"

if [[ -n "${COUCHBASE_EDITION:-}" && -n "${COUCHBASE_VERSION:-}" ]]; then
	package=couchbase-server
	[[ "$COUCHBASE_EDITION" != community ]] || package=couchbase-server-community
	status="$(dpkg-query --admindir="$r/var/lib/dpkg" --show --showformat='${Status}|${Version}' "$package" 2>/dev/null || true)"
	version="${status#*|}"
	if [[ "$status" != *" installed|"* ]]; then
		problem "$package not installed"
	else
		[[ "$version" == "$COUCHBASE_VERSION" || "$version" == "$COUCHBASE_VERSION"-* ]] ||
			problem "$package $version installed, want $COUCHBASE_VERSION"
		[[ "$status" == "hold "* ]] || problem "$package not held (apt-mark hold)"
		enabled couchbase-server.service || problem "couchbase-server.service not enabled (nothing would start Couchbase Server at boot)"
	fi
fi

if ((${#problems[@]} > 0)); then
	printf 'validate: FAIL: %s\n' "${problems[@]}" >&2
	printf 'validate: %d problem(s); the image must not be created\n' "${#problems[@]}" >&2
	exit 1
fi
echo "validate: OK (hygiene clean; THP unit, swappiness, limits, SSH host keys at first boot, dp-agent${COUCHBASE_VERSION:+, couchbase $COUCHBASE_VERSION held and enabled})"
