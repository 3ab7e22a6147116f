#!/usr/bin/env bash
# Tests of the image's provisioning scripts (images/aws/scripts/) against a Debian root, no VM:
# an overlay of the cached debootstrap root (scripts/local/rootfs.sh) per case, inside a private
# mount namespace, so every mount disappears with the test and the cached root is never written.
#
# Case "chroot": the scripts run inside the root, as Packer runs them on the builder, with the
# uploads where the template puts them (/tmp/image-build/...).
# Case "prefix": tune-host, install-agent, cleanup and validate run from the host with ROOT=<dir>.
# Case "live install": install-couchbase as on a booted builder, with a STAND-IN systemctl that
# records its calls: the package's scripts enable the service and never start it (and do start it
# when installed without INSTALL_DONT_START_SERVER, as the real package does).
# Case "live": cleanup and validate in the root as on a booted builder (/run/systemd/system
# exists), with a STAND-IN systemctl (records its calls; enable is the real one, offline; the
# units it lists are "loaded"; stopping one ends the stand-in process that plays it) and stand-in
# processes that keep writing where the SSM agent, unattended-upgrades and Couchbase Server write.
#
# Usage: test/images/provisioners.sh   (root; prints TAP-style lines; exit 1 on any failure)
set -o errexit -o nounset -o pipefail

# shellcheck source=test/images/namespace.sh
source "$(dirname "${BASH_SOURCE[0]}")/namespace.sh" "${BASH_SOURCE[0]}"
version=8.0.0

glob_exists() { compgen -G "$1" >/dev/null; }
glob_absent() { ! compgen -G "$1" >/dev/null; }
# Runs COMMAND, shows its output, fails when apt/debconf warned.
no_debconf_warnings() {
	local out
	out="$("$@" 2>&1)"
	echo "$out"
	! grep -Ei "debconf|warning" <<<"$out"
}

### Inputs: stand-in package, a dummy agent and its unit.
bash "$repo/scripts/local/standin-couchbase.sh" --out "$work/packages" --version "$version" >/dev/null
mkdir -p "$work/agent"
printf '#!/bin/sh\necho dp-agent test double\n' >"$work/agent/dp-agent"
gzip -n -c "$work/agent/dp-agent" >"$work/agent/dp-agent.gz"
agent_sha="$(sha256sum "$work/agent/dp-agent.gz" | cut -d' ' -f1)"
if [[ -f "$repo/agent/dp-agent.service" ]]; then
	cp "$repo/agent/dp-agent.service" "$work/agent/dp-agent.service"
else
	cat >"$work/agent/dp-agent.service" <<'UNIT'
[Unit]
Description=dp-agent (test unit)

[Service]
ExecStart=/usr/local/bin/dp-agent

[Install]
WantedBy=multi-user.target
UNIT
fi

# Upload like the template does.
stage_uploads() {
	local root="$1"
	install -d "$root/tmp/image-build/scripts" "$root/tmp/image-build/couchbase-packages" "$root/tmp/image-build/agent"
	cp "$scripts"/*.sh "$root/tmp/image-build/scripts/"
	cp "$work/packages"/*.deb "$root/tmp/image-build/couchbase-packages/"
	cp "$work/agent/dp-agent.gz" "$work/agent/dp-agent.service" "$root/tmp/image-build/agent/"
}

# Leave the traces a real build leaves, plus some, so cleanup has work to do.
make_dirty() {
	local root="$1"
	install -d -m 0700 "$root/root/.ssh" "$root/home/ubuntu/.ssh"
	echo "ssh-ed25519 AAAA test" >"$root/root/.ssh/authorized_keys"
	echo "ssh-ed25519 AAAA test" >"$root/home/ubuntu/.ssh/authorized_keys"
	echo "ls" >"$root/root/.bash_history"
	install -d "$root/var/lib/cloud/instance"
	echo "i-123" >"$root/var/lib/cloud/instance/id"
	echo "build log" >"$root/var/log/build.log"
	echo "0123456789abcdef0123456789abcdef" >"$root/etc/machine-id"
	touch "$root/etc/ssh/ssh_host_ed25519_key"
	seed_node_state "$root"
}

# What a started Couchbase Server leaves under /opt/couchbase/var/lib/couchbase (relative paths).
node_state=(config/config.dat config/chronicle/logs/0.log config/certs/chain.pem config/certs/pkey.pem
	config/data_keys/key.json config/gosecrets.cfg inbox/chain.pem ip ip_start localtoken isasl.pw
	couchbase-server.cookie logs/info.log)
seed_node_state() {
	local p
	for p in "${node_state[@]}"; do
		install -D -m 0600 /dev/null "$1/opt/couchbase/var/lib/couchbase/$p"
		echo "node state of the builder: $p" >"$1/opt/couchbase/var/lib/couchbase/$p"
	done
}
# What validate names for each (files in chronicle/, certs/, inbox/ and logs/ by their folder's
# entries; data_keys/ and inbox/ as folders).
node_state_named=(config/config.dat config/chronicle/logs config/certs/chain.pem config/certs/pkey.pem
	config/data_keys config/gosecrets.cfg inbox ip ip_start localtoken isasl.pw couchbase-server.cookie
	logs/info.log)
node_state_gone() {
	local p
	for p in "${node_state[@]}"; do
		[[ ! -e "$1/opt/couchbase/var/lib/couchbase/$p" ]] || return 1
	done
}

held_version() {
	dpkg-query --admindir="$1/var/lib/dpkg" --show --showformat='${Status}|${Version}' couchbase-server
}

echo "# base root: $base"

### Case 1: inside the root (chroot), as on the builder.
root="$(mount_root chroot)"
stage_uploads "$root"
S=/tmp/image-build/scripts

check "tune-host runs in the root" in_root "$root" bash $S/tune-host.sh
check "install-couchbase (local stand-in) runs without debconf warnings" \
	no_debconf_warnings \
	in_root "$root" COUCHBASE_EDITION=enterprise COUCHBASE_VERSION="$version" \
	COUCHBASE_PACKAGE_SOURCE=/tmp/image-build/couchbase-packages bash $S/install-couchbase.sh
check_fails "install-agent refuses a wrong sha256" in_root "$root" \
	AGENT_ARTIFACT=/tmp/image-build/agent/dp-agent.gz AGENT_SHA256="$(printf '0%.0s' {1..64})" \
	AGENT_UNIT=/tmp/image-build/agent/dp-agent.service bash $S/install-agent.sh
check "nothing installed after the wrong sha256" test ! -e "$root/usr/local/bin/dp-agent"
check "install-agent runs in the root" in_root "$root" \
	AGENT_ARTIFACT=/tmp/image-build/agent/dp-agent.gz AGENT_SHA256="$agent_sha" \
	AGENT_UNIT=/tmp/image-build/agent/dp-agent.service bash $S/install-agent.sh
check_fails "install-couchbase repository mode fails closed without pins" in_root "$root" \
	COUCHBASE_EDITION=enterprise COUCHBASE_VERSION="$version" COUCHBASE_PACKAGE_SOURCE=repository \
	bash $S/install-couchbase.sh
check "... and says which pin is missing" output_has "COUCHBASE_RELEASE_SHA256"
check_fails "install-couchbase refuses a version the folder does not hold" in_root "$root" \
	COUCHBASE_EDITION=enterprise COUCHBASE_VERSION=7.6.9 \
	COUCHBASE_PACKAGE_SOURCE=/tmp/image-build/couchbase-packages bash $S/install-couchbase.sh

make_dirty "$root"
check_fails "validate fails on the dirty root" in_root "$root" \
	COUCHBASE_EDITION=enterprise COUCHBASE_VERSION="$version" bash $S/validate.sh
for want in "SSH host keys present" "/root/.ssh/authorized_keys" "/home/ubuntu/.ssh/authorized_keys" \
	"shell history present: /root/.bash_history" "cloud-init state present" "/var/log/build.log" \
	"/etc/machine-id not empty" "build uploads left"; do
	check "validate lists: $want" output_has "$want"
done
check "validate lists Couchbase Server node state" output_has "Couchbase Server node state present:"
for p in "${node_state_named[@]}"; do
	check "... naming /opt/couchbase/var/lib/couchbase/$p" output_has "/opt/couchbase/var/lib/couchbase/$p "
done

# cleanup removes the scripts with the uploads: keep a copy outside, as Packer uploads each.
cp "$scripts/validate.sh" "$root/usr/local/sbin/image-validate"
check "cleanup runs in the root" in_root "$root" bash $S/cleanup.sh
check "validate passes after cleanup (in the root)" in_root "$root" \
	COUCHBASE_EDITION=enterprise COUCHBASE_VERSION="$version" bash /usr/local/sbin/image-validate
rm -f "$root/usr/local/sbin/image-validate"
check "validate passes after cleanup (ROOT prefix)" env ROOT="$root" \
	COUCHBASE_EDITION=enterprise COUCHBASE_VERSION="$version" bash "$scripts/validate.sh"

# The result, asserted from outside.
check "THP unit present" grep -q "echo never > /sys/kernel/mm/transparent_hugepage/defrag" "$root/etc/systemd/system/disable-thp.service"
check "THP unit enabled" test -L "$root/etc/systemd/system/basic.target.wants/disable-thp.service"
check "... skipped by its own condition where /sys is read-only" \
	grep -qx "ConditionPathIsReadWrite=/sys/kernel/mm/transparent_hugepage" "$root/etc/systemd/system/disable-thp.service"
check "swappiness 1" grep -qx "vm.swappiness = 1" "$root/etc/sysctl.d/90-couchbase.conf"
limits_dropin="$root/etc/systemd/system/couchbase-server.service.d/90-couchbase-limits.conf"
check "couchbase-server.service limits: 70000 files" grep -qx "LimitNOFILE=70000" "$limits_dropin"
check "... 10000 processes" grep -qx "LimitNPROC=10000" "$limits_dropin"
check "... and in limits.d for the couchbase user" grep -qx "couchbase hard nofile 70000" "$root/etc/security/limits.d/90-couchbase.conf"
check "couchbase-server.service enabled" test -L "$root/etc/systemd/system/multi-user.target.wants/couchbase-server.service"
check "... its unit runs the stand-in binary the agent looks for" \
	grep -qx "ExecStart=/opt/couchbase/bin/couchbase-server --listen 127.0.0.1:8091" "$root/lib/systemd/system/couchbase-server.service"
check "... as the system user couchbase (made by the package)" in_root "$root" getent passwd couchbase
check "the stand-in binary says what it is" in_root "$root" /opt/couchbase/bin/couchbase-server --version
check "... STAND-IN, not Couchbase Server" output_has "STAND-IN for Couchbase Server, not Couchbase Server"
check "ssh-host-keys.service installed" grep -qx "ExecStart=/usr/bin/ssh-keygen -A" "$root/etc/systemd/system/ssh-host-keys.service"
check "... only where no host key exists" grep -qxF 'ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key' "$root/etc/systemd/system/ssh-host-keys.service"
check "... enabled, and before sshd" test -L "$root/etc/systemd/system/multi-user.target.wants/ssh-host-keys.service" -a \
	-L "$root/etc/systemd/system/ssh.service.wants/ssh-host-keys.service"
check "systemd accepts the units the image adds" in_root "$root" systemd-analyze verify \
	/etc/systemd/system/disable-thp.service /etc/systemd/system/ssh-host-keys.service
check "agent installed 0755 root" test "$(stat -c '%a %U' "$root/usr/local/bin/dp-agent")" = "755 root"
check "agent is the decompressed artifact" cmp "$work/agent/dp-agent" "$root/usr/local/bin/dp-agent"
check "agent unit installed" cmp "$work/agent/dp-agent.service" "$root/etc/systemd/system/dp-agent.service"
check "agent unit enabled" glob_exists "$root/etc/systemd/system/*.wants/dp-agent.service"
check "couchbase-server $version installed and held" test "$(held_version "$root")" = "hold ok installed|$version-standin"
check "it is the stand-in" grep -q STAND-IN "$root/opt/couchbase/STAND-IN.txt"
check "no host keys" glob_absent "$root/etc/ssh/ssh_host_*"
check "machine-id empty" test -f "$root/etc/machine-id" -a ! -s "$root/etc/machine-id"
check "apt lists removed" glob_absent "$root/var/lib/apt/lists/*Packages*"
check "Couchbase Server node state removed" node_state_gone "$root"
check "... the package's own files kept" test -f "$root/opt/couchbase/VERSION.txt" -a -d "$root/opt/couchbase/var/lib/couchbase/config"
check "cached root untouched" test -s "$base/etc/machine-id" -o -e "$base/etc/ssh/ssh_host_rsa_key.pub"

# Dirty on purpose after a clean pass: exactly these problems, nothing else.
ssh-keygen -q -t ed25519 -N '' -f "$root/etc/ssh/ssh_host_ed25519_key"
echo "deadbeef" >"$root/etc/machine-id"
check_fails "validate fails on a host key and a machine-id left on purpose" \
	env ROOT="$root" bash "$scripts/validate.sh"
check "... naming the host key" output_has "SSH host keys present: /etc/ssh/ssh_host_ed25519_key"
check "... and the machine-id" output_has "/etc/machine-id not empty"
check "... and reporting 2 problems" output_has "validate: 2 problem(s)"
rm -f "$root/etc/ssh/ssh_host_ed25519_key"* && : >"$root/etc/machine-id"
rm "$root/etc/systemd/system/multi-user.target.wants/couchbase-server.service" "$root/etc/systemd/system/ssh-host-keys.service" "$limits_dropin"
sed -i '/^ConditionPathIsReadWrite=/d' "$root/etc/systemd/system/disable-thp.service"
check_fails "validate fails on an image that would not boot clean" \
	env ROOT="$root" COUCHBASE_EDITION=enterprise COUCHBASE_VERSION="$version" bash "$scripts/validate.sh"
check "... naming the disabled couchbase-server.service" output_has "couchbase-server.service not enabled"
check "... the missing host key unit" output_has "ssh-host-keys.service missing"
check "... the missing limits" output_has "LimitNOFILE not set to at least 70000"
check "... and the THP unit's missing condition" output_has "disable-thp.service lacks ConditionPathIsReadWrite"

### Case 2: ROOT prefix from the host (tune, agent, cleanup, validate); package via chroot.
root="$(mount_root prefix)"
check "tune-host with ROOT prefix" env ROOT="$root" bash "$scripts/tune-host.sh"
check "install-agent with ROOT prefix" env ROOT="$root" AGENT_ARTIFACT="$work/agent/dp-agent.gz" \
	AGENT_SHA256="$agent_sha" AGENT_UNIT="$work/agent/dp-agent.service" bash "$scripts/install-agent.sh"
check_fails "install-couchbase refuses a ROOT prefix (needs the chroot)" env ROOT="$root" \
	COUCHBASE_EDITION=enterprise COUCHBASE_VERSION="$version" COUCHBASE_PACKAGE_SOURCE="$work/packages" \
	bash "$scripts/install-couchbase.sh"
make_dirty "$root"
check "cleanup with ROOT prefix" env ROOT="$root" bash "$scripts/cleanup.sh"
check "validate with ROOT prefix (no package check)" env ROOT="$root" bash "$scripts/validate.sh"
check "THP unit enabled (prefix)" test -L "$root/etc/systemd/system/basic.target.wants/disable-thp.service"
check "agent unit enabled (prefix)" glob_exists "$root/etc/systemd/system/*.wants/dp-agent.service"
check_fails "validate fails when couchbase is required but absent" env ROOT="$root" \
	COUCHBASE_EDITION=enterprise COUCHBASE_VERSION="$version" bash "$scripts/validate.sh"
check "... naming it" output_has "couchbase-server not installed"

### Case "live install": the package's scripts on a booted builder (a stand-in systemctl).
# live_root NAME: a fresh root that looks booted, with a stand-in systemctl recording its calls in
# /run/standin/calls (enable: the real one, offline; is-active: nothing runs). It is /usr/sbin's,
# ahead of the real /usr/bin/systemctl in the PATH apt gives dpkg (DPkg::Path).
live_root() {
	local root
	root="$(mount_root "$1")"
	mkdir -p "$root/run/systemd/system" "$root/run/standin"
	cat >"$root/usr/sbin/systemctl" <<'STANDIN'
#!/bin/sh
# STAND-IN systemctl (test/images/provisioners.sh), not systemd's: records its calls.
echo "$*" >>/run/standin/calls
case "$1" in
enable) exec /usr/bin/systemctl --root=/ "$@" ;;
is-active) exit 3 ;;
esac
STANDIN
	chmod 0755 "$root/usr/sbin/systemctl"
	printf '%s\n' "$root"
}
root="$(live_root live-install)"
stage_uploads "$root"
check "live install: install-couchbase on a booted builder" in_root "$root" \
	COUCHBASE_EDITION=enterprise COUCHBASE_VERSION="$version" \
	COUCHBASE_PACKAGE_SOURCE=/tmp/image-build/couchbase-packages bash $S/install-couchbase.sh
check "... the package's scripts were told not to start the server" output_has "INSTALL_DONT_START_SERVER is set: not starting the service"
check "... the service was enabled" grep -qx "enable couchbase-server.service" "$root/run/standin/calls"
check "... and never started" bash -c "! grep -q '^start' '$root/run/standin/calls'"
root="$(live_root live-install-started)"
stage_uploads "$root"
check "control: the stand-in package installed without INSTALL_DONT_START_SERVER" in_root "$root" \
	bash -c 'dpkg -i /tmp/image-build/couchbase-packages/*.deb'
check "... starts the service, as the real package does" grep -qx "start couchbase-server.service" "$root/run/standin/calls"

### Case 3: a booted builder (stand-in systemctl and writer processes), cleanup inside the root.
root="$(mount_root live)"
stage_uploads "$root"
check "live: tune-host and install-agent" in_root "$root" bash -c "bash $S/tune-host.sh && \
	AGENT_ARTIFACT=/tmp/image-build/agent/dp-agent.gz AGENT_SHA256=$agent_sha \
	AGENT_UNIT=/tmp/image-build/agent/dp-agent.service bash $S/install-agent.sh"
mkdir -p "$root/run/systemd/system" "$root/run/standin" "$root/usr/local/sbin" # systemd's "booted" test
# Installed on this stand-in builder: all the writers cleanup knows except the SSM agent's .deb.
printf '%s\n' apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service \
	unattended-upgrades.service snap.amazon-ssm-agent.amazon-ssm-agent.service couchbase-server.service \
	rsyslog.service >"$root/run/standin/units"
cat >"$root/usr/local/sbin/systemctl" <<'STANDIN'
#!/bin/bash
# STAND-IN systemctl (test/images/provisioners.sh), not systemd's: records its calls. Units listed
# in /run/standin/units are loaded; a unit "runs" while the process in /run/standin/UNIT.pid
# lives; stopping it ends that process and returns once it is gone.
set -o errexit -o nounset -o pipefail
d=/run/standin
echo "$*" >>"$d/calls"
gone() { [[ ! -e /proc/$1 ]] || [[ "$(cut -d' ' -f3 "/proc/$1/stat")" == Z ]]; }
case "$1" in
enable)
	exec /usr/bin/systemctl --root=/ "$@"
	;;
show)
	if grep -qxF -- "${*: -1}" "$d/units"; then echo loaded; else echo not-found; fi
	;;
is-active)
	[[ -f "$d/${*: -1}.pid" ]]
	;;
stop)
	shift
	for unit in "$@"; do
		[[ -f "$d/$unit.pid" ]] || continue
		pid="$(cat "$d/$unit.pid")"
		kill "$pid" 2>/dev/null || true
		until gone "$pid"; do sleep 0.01; done
		rm -f "$d/$unit.pid"
	done
	;;
esac
STANDIN
printf '#!/bin/sh\necho "$*" >>/run/standin/journalctl.calls\n' >"$root/usr/local/sbin/journalctl"
chmod 0755 "$root/usr/local/sbin/systemctl" "$root/usr/local/sbin/journalctl"
in_live() { in_root "$root" PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

# writer UNIT SCRIPT: a process in the root playing UNIT, writing as SCRIPT says every 20 ms.
writers=()
writer() {
	chroot "$root" /bin/bash -c "while :; do $2; sleep 0.02; done" &
	writers+=($!)
	echo $! >"$root/run/standin/$1.pid"
}
mkdir -p "$root/var/log/amazon/ssm" "$root/var/log/unattended-upgrades" "$root/opt/couchbase/var/lib/couchbase/logs"
writer snap.amazon-ssm-agent.amazon-ssm-agent.service 'echo "ssm: no instance profile, retrying" >>/var/log/amazon/ssm/amazon-ssm-agent.log'
writer apt-daily-upgrade.service 'echo "unattended-upgrade: checking" >>/var/log/unattended-upgrades/unattended-upgrades.log; echo status >>/var/log/dpkg.log'
writer couchbase-server.service 'cd /opt/couchbase/var/lib/couchbase; echo "ns_server: up" >>logs/info.log; [[ -e ip ]] || echo ns_1@10.0.0.5 >ip'
make_dirty "$root"
cp "$scripts/validate.sh" "$root/usr/local/sbin/image-validate"
sleep 0.1

check_fails "live: validate fails while Couchbase Server runs" in_live bash /usr/local/sbin/image-validate
check "... naming it" output_has "couchbase-server.service is running"
check "live: cleanup runs" in_live bash $S/cleanup.sh
sleep 0.3 # a writer still running would have written again by now
check "live: validate passes after cleanup (nothing wrote after it)" in_live bash /usr/local/sbin/image-validate
# first_call REGEX: the line number of the stand-in systemctl's first call matching REGEX.
first_call() { grep -n -m 1 -E -- "$1" "$root/run/standin/calls" | cut -d: -f1; }
stopped="stop -- apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service unattended-upgrades.service snap.amazon-ssm-agent.amazon-ssm-agent.service couchbase-server.service"
check "... the installed writers were stopped, in one call" grep -qxF -- "$stopped" "$root/run/standin/calls"
check "... after a daemon-reload" test "$(first_call '^daemon-reload$')" -lt "$(first_call '^stop -- ')"
check "... before rsyslog and journald, before the logs were emptied" test "$(first_call '^stop -- ')" -lt "$(first_call '^stop rsyslog')"
check "... the absent unit only looked up" bash -c "! grep -v '^show ' '$root/run/standin/calls' | grep -qE '(^| )amazon-ssm-agent\.service( |$)'"
for unit in apt-daily.timer snap.amazon-ssm-agent.amazon-ssm-agent.service couchbase-server.service; do
	check "... $unit kept from starting again until the next boot (drop-in in /run)" \
		grep -qx 'ConditionPathExists=!/run/image-build-quiet' "$root/run/systemd/system/$unit.d/90-image-build-quiet.conf"
done
check "... and the marker that holds them in /run" test -e "$root/run/image-build-quiet"
check "... no drop-in for the absent unit" test ! -e "$root/run/systemd/system/amazon-ssm-agent.service.d"
check "... nothing of that in the image (/etc)" glob_absent "$root/etc/systemd/system/*.d/90-image-build-quiet.conf"
alive=()
for pid in "${writers[@]}"; do
	if ! [[ ! -e /proc/$pid || "$(cut -d' ' -f3 "/proc/$pid/stat")" == Z ]]; then alive+=("$pid"); fi
done
check "... no writer left running" test "${#alive[@]}" -eq 0
kill "${writers[@]}" 2>/dev/null || true
wait "${writers[@]}" 2>/dev/null || true

echo "1..$count"
if ((failures > 0)); then
	echo "# $failures of $count failed"
	exit 1
fi
echo "# all $count passed"
