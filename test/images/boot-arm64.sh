#!/usr/bin/env bash
# The arm64 image booted on this amd64 machine, under user-mode emulation: test/images/boot.sh's
# boot (lib.sh), from the arm64 Debian root (scripts/local/rootfs.sh --arch arm64). Every arm64
# binary (systemd, the agent, the stand-in Couchbase, bash) runs through qemu-aarch64, registered
# with binfmt_misc by scripts/bootstrap.sh; without that registration the test is skipped, saying
# what is missing (1..0 # SKIP; exit 0).
#
# 1. The image root: the provisioning scripts run in an overlay of the arm64 root, with the agent
#    from `agent/build.sh --arch arm64` and the stand-in package built `--arch arm64`. The agent in
#    the image is an aarch64 ELF (its header bytes) and the package is arm64 (dpkg's status).
# 2. Boot it with systemd-nspawn in a network namespace of its own with the fake IMDSv2, run
#    boot-check.sh inside with --emulation-limits naming exactly the units that fail only because
#    of user-mode emulation (EMULATION_LIMITS below, what this machine showed), and assert the
#    report: passed; system-running and no-failed-units skipped as emulation limits, naming exactly
#    those units (none of them named without failing); thp-never and swappiness skipped (read-only
#    /sys and /proc/sys in a container); every other check passed. Inside, the machine is aarch64.
# On an arm64 machine nothing is emulated: the same boot must pass with no emulation limits.
# The boot ends with a poweroff; no process, mount or network namespace of it is left (asserted).
#
# What it does NOT show: anything about a real arm64 CPU or kernel (qemu translates the
# instructions; the kernel is this machine's amd64 one), the timing of a real boot, or the
# units named as emulation limits (they never run successfully here).
#
# Usage: test/images/boot-arm64.sh   (root; needs systemd-nspawn; TAP-style lines; exit 1 on any failure)
set -o errexit -o nounset -o pipefail

# Units whose failure under qemu-user is the emulator's, not the image's. Verified on this machine
# (qemu-user-static 7.2, systemd 252): each fails "at step CREDENTIALS" (exit 243, "Invalid
# argument": systemd's private credentials folder for the unit cannot be set up under the
# emulator), in this boot and in the boot of the unchanged arm64 Debian root, and none fails in
# the amd64 boot (test/images/boot.sh). systemd-sysctl.service fails the same way where it runs,
# but its condition (a writable /proc/sys/net/) skips it in this boot's network namespace; under
# `systemd-nspawn --private-network` it runs and fails too (docs/image.md).
readonly EMULATION_LIMITS=systemd-sysusers.service,systemd-tmpfiles-setup.service,systemd-tmpfiles-setup-dev.service

emulated=1
if [[ "$(uname -m)" == aarch64 ]]; then
	emulated=0
elif [[ "${IMAGE_TEST_IN_NS:-}" != 1 ]]; then
	entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
	missing=""
	if [[ ! -r "$entry" ]]; then
		missing="qemu-aarch64 is not registered with binfmt_misc ($entry is missing)"
	elif ! grep -qx enabled "$entry" || ! grep -q '^flags: .*F' "$entry"; then
		missing="qemu-aarch64 is registered but disabled or without flag F ($(tr '\n' ' ' <"$entry"))"
	fi
	if [[ -n "$missing" ]]; then
		echo "1..0 # SKIP boot-arm64.sh: $missing, so arm64 binaries cannot run on this $(uname -m) machine; run scripts/bootstrap.sh as root (installs qemu-user-static and registers it)"
		exit 0
	fi
fi

# shellcheck source=test/images/namespace.sh
source "$(dirname "${BASH_SOURCE[0]}")/namespace.sh" "${BASH_SOURCE[0]}" arm64
version=8.0.0
readonly instance_id=i-0a64a64a64a64a64a region=eu-central-1
need_boot_tools boot-arm64.sh
started=$SECONDS
# Under emulation everything is slower: more time for the boot and the answers.
boot_timeout=180 boot_wait=90 manager_wait=90
if ((emulated)); then poweroff_by=systemctl; fi

### 1. The image root.
build_image arm64
# ELF header: magic, class 2 (64-bit), data 1 (little-endian); e_machine (bytes 18-19) 0xb7 = EM_AARCH64.
elf_aarch64() {
	local h
	h="$(od -An -tx1 -N20 -- "$1" | tr -d ' \n')"
	echo "$1: ${h:0:8} class ${h:8:2} data ${h:10:2} machine ${h:36:4}"
	[[ "${h:0:12}" == 7f454c460201 && "${h:36:4}" == b700 ]]
}
check "the agent in the image is an aarch64 ELF" elf_aarch64 "$image/usr/local/bin/dp-agent"
check "the stand-in Couchbase binary too" elf_aarch64 "$image/opt/couchbase/bin/couchbase-server"
check "... and its package is arm64 for dpkg" bash -c "awk -v RS= '/^Package: couchbase-server\n/' '$image/var/lib/dpkg/status' | grep -qx 'Architecture: arm64'"

### 2. Booting it.
expect_platform_skips
IFS=, read -r -a limit_units <<<"$EMULATION_LIMITS"
inspect() {
	local unit
	in_boot "$1" uname -m >"$work/arm64.uname" 2>&1 || true
	echo "#   systemd-sysctl.service: $(in_boot "$1" systemctl show -p ActiveState -p Result -p ConditionResult systemd-sysctl.service | tr '\n' ' ')"
	# Why each emulation limit failed, from its own log lines (docs/image.md says what they were).
	if ((emulated)); then
		for unit in "${limit_units[@]}"; do
			in_boot "$1" journalctl --no-pager -b -o cat -u "$unit" 2>&1 | grep -v '^-- ' | tail -n 3 | sed "s/^/#   $unit: /" || true
		done
	fi
}
# names_exactly REPORT CHECK PREFIX: the check's "saw", after PREFIX, lists exactly the emulation
# limits, each as "emulation limit: UNIT", in any order, and nothing else.
names_exactly() {
	python3 - "$@" "${limit_units[@]}" <<'PY'
import json, sys
report, check, prefix, units = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4:]
saw = next((c["saw"] for c in report.get("checks", []) if c["name"] == check), "")
listed = saw[len(prefix):].split(", ") if saw.startswith(prefix) else []
want = [f"emulation limit: {u}" for u in units]
print(f"{check} saw: {saw}")
sys.exit(0 if sorted(listed) == sorted(want) else 1)
PY
}
if ((emulated)); then
	check_args=(--emulation-limits "$EMULATION_LIMITS")
else
	check_args=()
fi
boot arm64 "" inspect
check "arm64: the machine inside is aarch64" grep -qx aarch64 "$work/arm64.uname"
if ((emulated)); then
	check "arm64 image: the report passed, the boot's state and failed units skipped as emulation limits, every other check as it must be here" \
		expect_report arm64 --skipped "system-running no-failed-units"
	check "... naming exactly the units of the emulation limits, each of them failed (none named without failing)" \
		names_exactly "$work/arm64.json" no-failed-units ""
	check "... and that only they degraded the boot" \
		names_exactly "$work/arm64.json" system-running "degraded only by units named as emulation limits: "
else
	check "arm64 image (native): the report passed, every check as it must be here" expect_report arm64
fi
check "... the agent (aarch64) asked the fake IMDS for a token first, then metadata with it" \
	grep -qx "PUT /latest/api/token 200" "$work/arm64/imds.log"
check "... and nothing without it" bash -c "! grep -q ' 401\$' '$work/arm64/imds.log'"
check "... the agent reported the instance this test launched" grep -q "\"instanceId $instance_id, region $region\"" "$work/arm64.json"
check "... Couchbase (the arm64 stand-in) answered as an uninitialised node" grep -q '"pools\\": \[\] (in no cluster), implementationVersion 8.0.0-standin-enterprise' "$work/arm64.json"

echo "# times: image root built in ${build_seconds}s; boot ${boot_seconds}s + checks ${check_seconds}s; whole test $((SECONDS - started))s"
tap_end
