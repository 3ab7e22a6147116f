#!/usr/bin/env bash
# The image booted, no VM and no hostd: the nearest real proof of what an instance of the image
# does at first boot. In the private mount and network namespaces of namespace.sh:
#
# 1. Build the image root as the other image tests do (lib.sh's build_image): the provisioning
#    scripts (tune-host, the STAND-IN couchbase-server package, the real dp-agent from
#    agent/build.sh, cleanup, validate) run inside an overlay of the cached Debian root; the
#    overlay's upper dir is what the build wrote.
# 2. Boot it (lib.sh's boot): that upper dir and the cached root, read-only, under a fresh overlay, booted by a
#    real systemd with `systemd-nspawn --boot --register=no --keep-unit` in a network namespace of
#    this test (--network-namespace-path; a loopback only). Before the boot, a fake IMDSv2 (token,
#    then metadata) listens there on 169.254.169.254:80, an address of that loopback, with an
#    instance id and region of this test; root's authorized_keys holds a test key, as cloud-init
#    writes the launch key.
# 3. Run images/aws/boot-test/boot-check.sh inside (nsenter) and assert its report: passed, every
#    check with the status it must have here (thp-never and swappiness skipped: /sys and /proc/sys
#    are read-only in a container).
# 4. A unit that fails, named as an emulation limit (as an arm64 boot under qemu will name some):
#    the report passes, saying so. A faulty image (dp-agent.service not enabled, a host key and a
#    machine-id from before the boot, a second authorized key, a failing unit besides the one named
#    as an emulation limit): the report fails, naming exactly those checks.
# Each boot ends with a poweroff; afterwards no process of the boot, no mount and no network
# namespace of it is left (asserted). test/images/boot-arm64.sh boots the arm64 image the same way.
#
# Usage: test/images/boot.sh   (root; needs systemd-nspawn; TAP-style lines; exit 1 on any failure)
set -o errexit -o nounset -o pipefail

# shellcheck source=test/images/namespace.sh
source "$(dirname "${BASH_SOURCE[0]}")/namespace.sh" "${BASH_SOURCE[0]}"
version=8.0.0
readonly instance_id=i-0b007e57c0ffee123 region=eu-west-3
need_boot_tools boot.sh
started=$SECONDS

### 1. The image root.
build_image amd64

### 2. Booting it (lib.sh's boot: the fake IMDSv2 in the boot's own network namespace).
expect_platform_skips
check_args=()
boot clean
clean_boot=$boot_seconds clean_check=$check_seconds
check "clean image: the report passed, every check as it must be here" expect_report clean
check "... the agent asked the fake IMDS for a token first, then metadata with it" \
	grep -qx "PUT /latest/api/token 200" "$work/clean/imds.log"
check "... the instance id with it" grep -qx "GET /latest/meta-data/instance-id 200" "$work/clean/imds.log"
check "... and nothing without it" bash -c "! grep -q ' 401\$' '$work/clean/imds.log'"
check "... the agent reported the instance this test launched" grep -q "\"instanceId $instance_id, region $region\"" "$work/clean.json"
check "... Couchbase (the stand-in) answered as an uninitialised node" grep -q '"pools\\": \[\] (in no cluster), implementationVersion 8.0.0-standin-enterprise' "$work/clean.json"
check "... THP not settable here, saying why" grep -q 'is not writable here (read-only /sys: a container)' "$work/clean.json"
check "... and disable-thp.service skipped by its own condition, not failed" grep -q 'disable-thp.service enabled, inactive, skipped by its own condition' "$work/clean.json"

# failing_unit ROOT NAME: a unit of the image that fails at every boot.
failing_unit() {
	printf '[Unit]\nDescription=fails on purpose (test/images/boot.sh)\n[Service]\nType=oneshot\nExecStart=/bin/false\n' \
		>"$1/etc/systemd/system/$2"
	ln -s "/etc/systemd/system/$2" "$1/etc/systemd/system/multi-user.target.wants/$2"
}

# A unit that fails only because of the platform, named as an emulation limit (as a local arm64
# boot under user-mode qemu names systemd-sysctl and others): reported, skipped, never dropped.
emulated() { failing_unit "$1" emulated-fail.service; }
check_args=(--emulation-limits emulated-fail.service)
boot emulated emulated
check "emulation limit: the report passed, the boot's state and the unit skipped as such" \
	expect_report emulated --skipped "system-running no-failed-units"
check "... naming the unit" grep -q '"saw":"emulation limit: emulated-fail.service"' "$work/emulated.json"
check "... and that only it degraded the boot" grep -q '"saw":"degraded only by units named as emulation limits: emulation limit: emulated-fail.service"' "$work/emulated.json"

# The faults: the agent not enabled, a host key and a machine-id from before this boot, a second
# key, and a failing unit of the image besides the one named as an emulation limit.
faulty() {
	failing_unit "$1" emulated-fail.service
	failing_unit "$1" image-fail.service
	rm "$1/etc/systemd/system/multi-user.target.wants/dp-agent.service"
	ssh-keygen -q -t ed25519 -N '' -C build-host -f "$1/etc/ssh/ssh_host_ed25519_key"
	echo 0123456789abcdef0123456789abcdef >"$1/etc/machine-id"
	touch --date=2020-01-01T00:00:00Z "$1/etc/ssh/ssh_host_ed25519_key" "$1/etc/machine-id"
	ssh-keygen -q -t ed25519 -N '' -C builder -f "$work/builder-key" <<<y >/dev/null
	cat "$work/builder-key.pub" >>"$1/root/.ssh/authorized_keys"
}
boot faulty faulty
check "faulty image: the report fails, naming exactly the faults" expect_report faulty system-running no-failed-units \
	dp-agent-active agent-healthz agent-node-identity ssh-host-keys-fresh machine-id-fresh authorized-keys-only-test-key
check "... the image's failed unit is not hidden by the emulation limit, which is still reported" \
	grep -q '"saw":"failed: image-fail.service (exit-code); emulation limit: emulated-fail.service"' "$work/faulty.json"
check "... dp-agent.service is disabled, says dp-agent-active" grep -q '"dp-agent.service is inactive (dead, UnitFileState=disabled' "$work/faulty.json"

echo "# times: image root built in ${build_seconds}s; clean boot ${clean_boot}s + checks ${clean_check}s;" \
	"faulty boot ${boot_seconds}s + checks ${check_seconds}s; whole test $((SECONDS - started))s"
tap_end
