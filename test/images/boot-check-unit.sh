#!/usr/bin/env bash
# Unit-style tests of images/aws/boot-test/boot-check.sh without a boot: its pure helpers, table by
# table (JSON string escaping, checked by Python's json module as well; the key of an
# authorized_keys line; limit comparisons; the report document), and its command line (usage
# errors exit 2; on this machine, which is no booted image, it still writes a valid report of
# every check in order and exits 0, or exits 1 when it cannot write). The whole-script runs are in
# their own network namespace: nothing it asks can reach anything but that namespace's loopback.
#
# Usage: test/images/boot-check-unit.sh   (root; TAP-style lines; exit 1 on any failure)
set -o errexit -o nounset -o pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
script="$repo/images/aws/boot-test/boot-check.sh"
work="$(mktemp -d "${TMPDIR:-/tmp}/boot-check-unit.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# shellcheck source=test/images/lib.sh
source "$repo/test/images/lib.sh"
# shellcheck source=images/aws/boot-test/boot-check.sh
source "$script"

# is NAME GOT WANT: passes when GOT is WANT.
is() {
	if [[ "$2" == "$3" ]]; then ok "$1"; else
		not_ok "$1"
		printf '#   got:  %q\n#   want: %q\n' "$2" "$3"
	fi
}

### json_string: input -> the exact literal.
# shellcheck disable=SC2016 # the metacharacters are literal on purpose
json_cases=(
	"plain" 'plain' '"plain"'
	"empty" '' '""'
	"double quote" 'say "hi"' '"say \"hi\""'
	"backslash" 'a\b' '"a\\b"'
	"backslash before a quote" '\"' '"\\\""'
	"newline, tab, carriage return" $'a\nb\tc\rd' '"a\nb\tc\rd"'
	"backspace and form feed" $'\b\f' '"\b\f"'
	"other control characters as \\u00XX" $'\x01\x1b\x1f' '"\u0001\u001b\u001f"'
	"DEL stays (JSON allows it)" $'\x7f' $'"\x7f"'
	"UTF-8 kept" 'ß → ✓' '"ß → ✓"'
	"a byte that is not UTF-8 dropped" $'a\xffb' '"ab"'
	"a truncated UTF-8 sequence dropped" $'ok\xe2\x82' '"ok"'
	"trailing newlines kept" $'x\n\n' '"x\n\n"'
	"a JSON-looking value stays a string" '{"a":1}' '"{\"a\":1}"'
	"shell metacharacters" '$(id) `id` ${x}' '"$(id) `id` ${x}"'
)
for ((i = 0; i < ${#json_cases[@]}; i += 3)); do
	is "json_string: ${json_cases[i]}" "$(json_string "${json_cases[i + 1]}")" "${json_cases[i + 2]}"
done

# Python's json module reads each literal back as the input (for inputs that are UTF-8).
for ((i = 0; i < ${#json_cases[@]}; i += 3)); do
	if [[ "${json_cases[i]}" == *"not UTF-8"* || "${json_cases[i]}" == *truncated* ]]; then continue; fi
	printf '%s' "${json_cases[i + 1]}" >"$work/in"
	json_string "${json_cases[i + 1]}" >"$work/literal"
	check "json_string round trip (python json.loads): ${json_cases[i]}" python3 -c '
import json, sys
want = open(sys.argv[1], "rb").read().decode("utf-8")
got = json.loads(open(sys.argv[2], "rb").read().decode("utf-8"))
sys.exit(0 if got == want else 1)' "$work/in" "$work/literal"
done

### key_of: the key of a line, options and comment aside.
k='AAAAC3NzaC1lZDI1NTE5AAAAIHk3aJ6Zx7Yh5nZb0WcQmXcZg2x0m8dYk7TgK3yq1r9S'
key_cases=(
	"a plain line" "ssh-ed25519 $k test@boot" "ssh-ed25519 $k"
	"no comment" "ssh-ed25519 $k" "ssh-ed25519 $k"
	"cloud-init's disable_root options" "no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command=\"echo 'Please login as the user \\\"ubuntu\\\" rather than the user \\\"root\\\".';echo;sleep 10;exit 142\" ssh-ed25519 $k key" "ssh-ed25519 $k"
	"rsa with padding" "ssh-rsa AAAAB3NzaC1yc2E= me" "ssh-rsa AAAAB3NzaC1yc2E="
	"ecdsa" "ecdsa-sha2-nistp256 AAAAE2VjZHNh x" "ecdsa-sha2-nistp256 AAAAE2VjZHNh"
	"security key" "sk-ssh-ed25519@openssh.com AAAAGnNr x" "sk-ssh-ed25519@openssh.com AAAAGnNr"
	"not a key" "hello world" ""
	"a type without a blob" "ssh-ed25519" ""
	"a blob that is not base64 of a key" "ssh-ed25519 notakey" ""
)
for ((i = 0; i < ${#key_cases[@]}; i += 3)); do
	is "key_of: ${key_cases[i]}" "$(key_of "${key_cases[i + 1]}")" "${key_cases[i + 2]}"
done

### limit_at_least
limit_cases=(70000 70000 0 200000 70000 0 69999 70000 1 unlimited 70000 0 infinity 10000 0 "" 10 1 abc 10 1)
for ((i = 0; i < ${#limit_cases[@]}; i += 3)); do
	rc=0
	limit_at_least "${limit_cases[i]}" "${limit_cases[i + 1]}" || rc=1
	is "limit_at_least '${limit_cases[i]}' ${limit_cases[i + 1]}" "$rc" "${limit_cases[i + 2]}"
done

### report_json: a document Python reads back exactly, with awkward values.
names=()
statuses=()
saws=()
record system-running passed "running"
record no-failed-units failed $'failed: a"b.service (exit-code)\nsecond line \\ \x01'
record thp-never skipped "enabled always [madvise] never"
report_json false 'i-0abc"def' 'eu-west-3' 2026-12-01T00:00:00Z >"$work/report.json"
check "report_json: Python reads it, every value exact" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r == {"schemaVersion": 1, "passed": False, "instanceId": "i-0abc\"def", "region": "eu-west-3",
    "checkedAt": "2026-12-01T00:00:00Z", "checks": [
    {"name": "system-running", "status": "passed", "saw": "running"},
    {"name": "no-failed-units", "status": "failed", "saw": "failed: a\"b.service (exit-code)\nsecond line \\ \x01"},
    {"name": "thp-never", "status": "skipped", "saw": "enabled always [madvise] never"}]}, r' "$work/report.json"
names=()
statuses=()
saws=()
report_json true i-1 r 2026-12-01T00:00:00Z >"$work/empty.json"
check "report_json: no checks is an empty list" python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["checks"] == []' "$work/empty.json"

### The command line.
key_line="ssh-ed25519 $k boot-test"
args=(--expect-instance-id i-0123456789abcdef0 --expect-region eu-west-3 --authorized-key "$key_line")
exit_code() {
	local rc=0
	"$@" >"$work/run.out" 2>&1 || rc=$?
	cp "$work/run.out" "$work/last.out"
	echo "$rc"
}
is "no arguments: usage error (2)" "$(exit_code bash "$script")" 2
is "--out missing: 2" "$(exit_code bash "$script" "${args[@]}")" 2
check "... saying so" output_has "--out FILE is required"
is "unknown argument: 2" "$(exit_code bash "$script" --out "$work/r.json" "${args[@]}" --verbose)" 2
is "a value missing: 2" "$(exit_code bash "$script" --out "$work/r.json" --expect-region)" 2
is "an authorized key that is no key: 2" "$(exit_code bash "$script" --out "$work/r.json" --expect-instance-id i-1 --expect-region eu-west-3 --authorized-key nonsense)" 2
check "... saying so" output_has "--authorized-key must be an SSH public key line"
is "a bad emulation limit: 2" "$(exit_code bash "$script" --out "$work/r.json" "${args[@]}" --emulation-limits 'a.service,rm -rf')" 2
check "no report written on a usage error" test ! -e "$work/r.json"

# The whole script on this machine (no booted image: most checks fail), in a network namespace of
# its own; it must still write a valid report of every check, in order.
run_here() { BOOT_CHECK_BOOT_TIMEOUT=2 BOOT_CHECK_WAIT=0 unshare --net -- bash "$script" "$@"; }
is "a report that cannot be written: 1" "$(exit_code run_here --out "$work/no/such/dir/r.json" "${args[@]}")" 1
is "a report written, whatever it says: 0" "$(exit_code run_here --out "$work/r.json" "${args[@]}" --emulation-limits systemd-sysctl.service,systemd-sysusers)" 0
check "... it says FAILED on stdout" output_has "boot-check: FAILED:"
check "... the report: schema 1, every check in order, each with a status and what it saw" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
names = ["system-running", "no-failed-units", "dp-agent-active", "agent-healthz", "agent-node-identity",
    "couchbase-enabled", "couchbase-active", "couchbase-uninitialised", "thp-never", "swappiness",
    "limits-nofile", "limits-nproc", "ssh-host-keys-fresh", "machine-id-fresh", "authorized-keys-only-test-key"]
assert r["schemaVersion"] == 1 and r["passed"] is False, r
assert r["instanceId"] == "i-0123456789abcdef0" and r["region"] == "eu-west-3", r
assert [c["name"] for c in r["checks"]] == names, [c["name"] for c in r["checks"]]
assert all(c["status"] in ("passed", "failed", "skipped") and isinstance(c["saw"], str) and c["saw"] for c in r["checks"]), r
import re; assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["checkedAt"]), r
by = {c["name"]: c for c in r["checks"]}
assert by["dp-agent-active"]["status"] == "failed" and by["agent-healthz"]["saw"].startswith("not asked"), by
assert "emulation limits but not failed: systemd-sysctl.service systemd-sysusers.service" in by["no-failed-units"]["saw"], by
' "$work/r.json"
check "... no temporary file left beside it" test -z "$(find "$work" -name 'r.json.tmp.*')"

echo "1..$count"
if ((failures > 0)); then
	echo "# $failures of $count failed"
	exit 1
fi
echo "# all $count passed"
