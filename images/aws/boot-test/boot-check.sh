#!/usr/bin/env bash
# The boot test's checks, run as root on an instance booted from a new image (on AWS: uploaded by
# the boot test's Packer source and run with sudo; locally: inside the booted image root through
# nsenter). Writes a JSON report of every check, each with what it saw:
#
#   {"schemaVersion":1,"passed":true|false,"instanceId":"...","region":"...",
#    "checkedAt":"<ISO-8601 UTC>","checks":[{"name":"...","status":"passed|failed|skipped","saw":"..."}]}
#
# passed = no check failed. The checks, in this order:
#   system-running                 `systemctl is-system-running --wait` (bounded) says running
#   no-failed-units                no unit failed; units given by --emulation-limits are reported
#                                  as "emulation limit: <unit>" (skipped), never dropped, and never
#                                  hide another unit's failure
#   dp-agent-active                dp-agent.service is active
#   agent-healthz                  GET http://127.0.0.1:9190/healthz is 200
#   agent-node-identity            /v1/node reports --expect-instance-id and --expect-region
#   couchbase-enabled              couchbase-server.service is enabled
#   couchbase-active               ... and active
#   couchbase-uninitialised        GET http://127.0.0.1:8091/pools answers as a node in no cluster
#   thp-never                      THP enabled and defrag are [never]; skipped, saying so, where
#                                  the setting is not writable (read-only /sys: a container)
#   swappiness                     vm.swappiness is 1; skipped where /proc/sys is read-only (there
#                                  systemd-sysctl does not run), if /etc/sysctl.d sets 1
#   limits-nofile, limits-nproc    couchbase-server's open files >= 70000 and processes >= 10000
#                                  (tune-host.sh's values, Couchbase's documented minimums): on its
#                                  running main process, else on its unit; skipped, saying so,
#                                  where the unit asks for enough but PID 1's own hard limit is
#                                  lower (a container that may not raise it)
#   ssh-host-keys-fresh            host keys exist and were written during this boot
#   machine-id-fresh               /etc/machine-id is an id, written during this boot
#   authorized-keys-only-test-key  every authorized_keys of root and the login users holds only
#                                  the --authorized-key key (options and comment aside)
# "This boot" starts when PID 1 started. Needs only bash, coreutils, awk, getconf, systemctl
# (plain HTTP on loopback through bash's /dev/tcp): works on a Debian minbase root and on Ubuntu.
#
# Usage: boot-check.sh --out FILE --expect-instance-id ID --expect-region REGION
#                      --authorized-key 'SSH-PUBLIC-KEY-LINE' [--emulation-limits unit1,unit2]
# Exit: 0 when the report was written (passed or not: read "passed"), 1 when it could not be
# written, 2 on a usage error.
# Env: BOOT_CHECK_BOOT_TIMEOUT  seconds to wait for the boot to finish (default 300)
#      BOOT_CHECK_WAIT          seconds to wait for the agent and Couchbase to answer (default 180)
set -o errexit -o nounset -o pipefail
export LC_ALL=C

readonly AGENT_PORT=9190 COUCHBASE_PORT=8091
readonly NOFILE_MIN=70000 NPROC_MIN=10000
readonly THP=/sys/kernel/mm/transparent_hugepage
# Seconds a file may predate PID 1's start and still count as written during this boot (the
# start is known to the clock tick, btime to the second).
readonly FRESH_SLACK=2

usage() {
	[[ -z "${1:-}" ]] || printf 'boot-check: %s\n' "$1" >&2
	sed -n 's/^# Usage: /usage: /p; /^#   *--authorized-key/s/^# *//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

### JSON

# json_string S: S as a JSON string literal. Bytes that are not UTF-8 are dropped (the report
# must stay valid JSON whatever a unit name or an HTTP body held); quote, backslash and the
# control characters are escaped.
json_string() {
	local s="$1" out="" c i
	if [[ "$s" == *[$'\x80'-$'\xff']* ]] && command -v iconv >/dev/null; then
		s="$({ printf '%s' "$s" | iconv -f UTF-8 -t UTF-8 -c 2>/dev/null || true; } && printf x)"
		s="${s%x}"
	fi
	s="${s//\\/\\\\}"
	s="${s//\"/\\\"}"
	s="${s//$'\n'/\\n}"
	s="${s//$'\r'/\\r}"
	s="${s//$'\t'/\\t}"
	s="${s//$'\b'/\\b}"
	s="${s//$'\f'/\\f}"
	if [[ "$s" == *[$'\x01'-$'\x1f']* ]]; then
		for ((i = 0; i < ${#s}; i++)); do
			c="${s:i:1}"
			if [[ "$c" == [$'\x01'-$'\x1f'] ]]; then printf -v c '\\u%04x' "'$c"; fi
			out+="$c"
		done
		s="$out"
	fi
	printf '"%s"' "$s"
}

### Results

names=()
statuses=()
saws=()
record() {
	names+=("$1")
	statuses+=("$2")
	saws+=("$3")
}

# run_check NAME FUNCTION: runs FUNCTION, which records NAME's result; a check that breaks
# records a failure instead of ending the run.
run_check() {
	local name="$1" before="${#names[@]}"
	"$2" || true
	if ((${#names[@]} == before)); then record "$name" failed "the check itself failed before it recorded a result"; fi
}

# report_json PASSED INSTANCE_ID REGION CHECKED_AT: the report document.
report_json() {
	local i sep=""
	printf '{"schemaVersion":1,"passed":%s,"instanceId":%s,"region":%s,"checkedAt":%s,"checks":[' \
		"$1" "$(json_string "$2")" "$(json_string "$3")" "$(json_string "$4")"
	for i in "${!names[@]}"; do
		printf '%s{"name":%s,"status":%s,"saw":%s}' "$sep" "$(json_string "${names[i]}")" \
			"$(json_string "${statuses[i]}")" "$(json_string "${saws[i]}")"
		sep=,
	done
	printf ']}\n'
}

### Helpers

# key_of LINE: "TYPE BLOB" of the public key in an authorized_keys or .pub line (options before
# it and the comment after it aside); nothing when the line holds no key.
key_of() {
	local re='(^|[[:space:]])(ssh-rsa|ssh-dss|ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)[[:space:]]+(AAAA[A-Za-z0-9+/]*=*)([[:space:]]|$)'
	if [[ "$1" =~ $re ]]; then printf '%s %s\n' "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}"; fi
}

# limit_at_least VALUE MINIMUM: VALUE ("unlimited"/"infinity" or a number) is at least MINIMUM.
limit_at_least() {
	[[ "$1" == unlimited || "$1" == infinity ]] && return 0
	[[ "$1" =~ ^[0-9]+$ ]] && (($1 >= $2))
}

# Epoch second PID 1 started at: the start of this boot (of the VM, or of the container).
boot_started() {
	local btime stat fields
	btime="$(awk '$1 == "btime" { print $2 }' /proc/stat)"
	stat="$(cat /proc/1/stat)"
	read -r -a fields <<<"${stat##*) }" # from field 3 (state) on; field 22 is the start time
	printf '%s\n' $((btime + fields[19] / $(getconf CLK_TCK)))
}

# fresh PATH: PATH was last written during this boot.
fresh() { (($(stat -c %Y -- "$1") >= boot_start - FRESH_SLACK)); }
when() { date -u -d "@$(stat -c %Y -- "$1")" +%Y-%m-%dT%H:%M:%SZ; }

# http_get PORT PATH: GET http://127.0.0.1:PORT/PATH (HTTP/1.0: the answer ends with the
# connection, never chunked); sets HTTP_STATUS and HTTP_BODY; fails when nothing answered.
http_get() {
	local raw status_line
	HTTP_STATUS=""
	HTTP_BODY=""
	# shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
	raw="$(timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
		printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nUser-Agent: boot-check\r\n\r\n" "$2" "$1" >&3 &&
		cat <&3' _ "$1" "$2" 2>/dev/null)" || true
	status_line="${raw%%$'\n'*}"
	[[ "$status_line" =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]] || return 1
	HTTP_STATUS="${BASH_REMATCH[1]}"
	HTTP_BODY="${raw#*$'\r\n\r\n'}"
}

# poll_http PORT PATH SECONDS: http_get until it answers 200 or SECONDS have passed.
poll_http() {
	local deadline=$((SECONDS + $3))
	while :; do
		if http_get "$1" "$2" && [[ "$HTTP_STATUS" == 200 ]]; then return 0; fi
		((SECONDS < deadline)) || return 1
		sleep 1
	done
}

# JSON string value of KEY in the document S (first occurrence; our agents' flat fields only).
json_field() {
	local re="\"$2\"[[:space:]]*:[[:space:]]*\"([^\"]*)\""
	if [[ "$1" =~ $re ]]; then printf '%s' "${BASH_REMATCH[1]}"; fi
}

unit_state() { systemctl show --property="$2" --value -- "$1" 2>/dev/null || true; }
describe_unit() {
	printf '%s is %s (%s, UnitFileState=%s, Result=%s)' "$1" "$(systemctl is-active -- "$1" 2>/dev/null || true)" \
		"$(unit_state "$1" SubState)" "$(unit_state "$1" UnitFileState)" "$(unit_state "$1" Result)"
}

in_list() {
	local x
	for x in "${@:2}"; do [[ "$x" == "$1" ]] && return 0; done
	return 1
}

# Failed units, split into those listed by --emulation-limits and the others.
failed_emulated=()
failed_other=()
list_failed() {
	local unit
	failed_emulated=()
	failed_other=()
	while read -r unit _; do
		[[ -n "$unit" ]] || continue
		if in_list "$unit" "${emulation_limits[@]}"; then failed_emulated+=("$unit"); else failed_other+=("$unit"); fi
	done < <(systemctl list-units --state=failed --no-legend --plain --full 2>/dev/null || true)
}
emulated_saw() {
	local unit out="" sep=""
	for unit in "${failed_emulated[@]}"; do
		out+="${sep}emulation limit: $unit"
		sep=", "
	done
	printf '%s' "$out"
}
other_saw() {
	local unit out="" sep=""
	for unit in "${failed_other[@]}"; do
		out+="$sep$unit ($(unit_state "$unit" Result))"
		sep=", "
	done
	printf '%s' "$out"
}

### The checks

check_system_running() {
	local state
	state="$(timeout "$boot_timeout" systemctl is-system-running --wait 2>/dev/null)" || true
	state="${state##*$'\n'}"
	list_failed
	if [[ "$state" == running ]]; then
		record system-running passed "running"
	elif [[ -z "$state" || "$state" == starting || "$state" == initializing ]]; then
		record system-running failed "still ${state:-starting} after ${boot_timeout}s: $(systemctl is-system-running 2>/dev/null || true)"
	elif [[ "$state" == degraded && ${#failed_other[@]} -eq 0 && ${#failed_emulated[@]} -gt 0 ]]; then
		record system-running skipped "degraded only by units named as emulation limits: $(emulated_saw)"
	else
		record system-running failed "$state${failed_other[*]:+; failed: $(other_saw)}"
	fi
}

check_no_failed_units() {
	local unit listed_ok=()
	list_failed
	for unit in "${emulation_limits[@]}"; do
		in_list "$unit" "${failed_emulated[@]}" || listed_ok+=("$unit")
	done
	local extra="${listed_ok[*]:+; named as emulation limits but not failed: ${listed_ok[*]}}"
	if ((${#failed_other[@]} > 0)); then
		record no-failed-units failed "failed: $(other_saw)${failed_emulated[*]:+; $(emulated_saw)}$extra"
	elif ((${#failed_emulated[@]} > 0)); then
		record no-failed-units skipped "$(emulated_saw)$extra"
	else
		record no-failed-units passed "no failed units$extra"
	fi
}

check_agent_active() {
	if [[ "$(systemctl is-active dp-agent.service 2>/dev/null || true)" == active ]]; then
		agent_active=1
		record dp-agent-active passed "$(describe_unit dp-agent.service)"
	else
		record dp-agent-active failed "$(describe_unit dp-agent.service)"
	fi
}

check_agent_healthz() {
	if ((!agent_active)); then
		record agent-healthz failed "not asked: dp-agent.service is not active"
	elif poll_http "$AGENT_PORT" /healthz "$wait_seconds"; then
		record agent-healthz passed "GET http://127.0.0.1:$AGENT_PORT/healthz: $HTTP_STATUS $HTTP_BODY"
	else
		record agent-healthz failed "GET http://127.0.0.1:$AGENT_PORT/healthz: ${HTTP_STATUS:-no answer} after ${wait_seconds}s ${HTTP_BODY}"
	fi
}

check_agent_identity() {
	local deadline=$((SECONDS + wait_seconds)) id="" region=""
	if ((!agent_active)); then
		record agent-node-identity failed "not asked: dp-agent.service is not active"
		return 0
	fi
	# The agent resolves its identity in the background, retrying until the metadata service answers.
	while :; do
		if http_get "$AGENT_PORT" /v1/node && [[ "$HTTP_STATUS" == 200 && "$HTTP_BODY" != *'"identity":null'* ]]; then
			id="$(json_field "$HTTP_BODY" instanceId)"
			region="$(json_field "$HTTP_BODY" region)"
			[[ -z "$id" ]] || break
		fi
		if ((SECONDS >= deadline)); then
			record agent-node-identity failed "no identity after ${wait_seconds}s: GET /v1/node ${HTTP_STATUS:-no answer}; imds: $(json_field "${HTTP_BODY#*\"imds\"}" lastError)"
			return 0
		fi
		sleep 1
	done
	if [[ "$id" == "$expect_id" && "$region" == "$expect_region" ]]; then
		record agent-node-identity passed "instanceId $id, region $region"
	else
		record agent-node-identity failed "instanceId $id, region $region; expected $expect_id, $expect_region"
	fi
}

check_couchbase_enabled() {
	local state
	state="$(systemctl is-enabled couchbase-server.service 2>&1 || true)"
	if [[ "$state" == enabled ]]; then
		record couchbase-enabled passed "couchbase-server.service is enabled"
	else
		record couchbase-enabled failed "couchbase-server.service is ${state:-unknown}"
	fi
}

check_couchbase_active() {
	if [[ "$(systemctl is-active couchbase-server.service 2>/dev/null || true)" == active ]]; then
		couchbase_active=1
		record couchbase-active passed "$(describe_unit couchbase-server.service)"
	else
		record couchbase-active failed "$(describe_unit couchbase-server.service)"
	fi
}

check_couchbase_uninitialised() {
	local version
	if ((!couchbase_active)); then
		record couchbase-uninitialised failed "not asked: couchbase-server.service is not active"
	elif ! poll_http "$COUCHBASE_PORT" /pools "$wait_seconds"; then
		record couchbase-uninitialised failed "GET http://127.0.0.1:$COUCHBASE_PORT/pools: ${HTTP_STATUS:-no answer} after ${wait_seconds}s"
	else
		version="$(json_field "$HTTP_BODY" implementationVersion)"
		if [[ "$HTTP_BODY" =~ \"pools\"[[:space:]]*:[[:space:]]*\[[[:space:]]*\] ]]; then
			record couchbase-uninitialised passed "GET /pools: 200, \"pools\": [] (in no cluster), implementationVersion $version"
		else
			record couchbase-uninitialised failed "GET /pools: 200 but not an uninitialised node (the image carries a cluster?): ${HTTP_BODY:0:300}"
		fi
	fi
}

check_thp() {
	local unit enabled defrag
	unit="disable-thp.service $(systemctl is-enabled disable-thp.service 2>/dev/null || true), $(systemctl is-active disable-thp.service 2>/dev/null || true)"
	[[ "$(unit_state disable-thp.service ConditionResult)" != no ]] || unit+=", skipped by its own condition"
	if [[ ! -e "$THP/enabled" ]]; then
		record thp-never skipped "this kernel has no transparent huge pages ($unit)"
		return 0
	fi
	enabled="$(cat "$THP/enabled")"
	defrag="$(cat "$THP/defrag" 2>/dev/null || true)"
	if [[ ! -w "$THP/enabled" ]]; then
		if [[ "$(systemctl is-enabled disable-thp.service 2>/dev/null || true)" == enabled ]]; then
			record thp-never skipped "$THP/enabled is not writable here (read-only /sys: a container), so the image cannot set it: enabled $enabled, defrag $defrag ($unit)"
		else
			record thp-never failed "$THP/enabled is not writable here, and disable-thp.service is not enabled ($unit)"
		fi
	elif [[ "$enabled" == *"[never]"* && "$defrag" == *"[never]"* ]]; then
		record thp-never passed "enabled $enabled, defrag $defrag ($unit)"
	else
		record thp-never failed "enabled $enabled, defrag $defrag ($unit)"
	fi
}

check_swappiness() {
	local value configured
	value="$(cat /proc/sys/vm/swappiness)"
	configured="$(cat /etc/sysctl.d/*.conf /dev/null 2>/dev/null | sed -n 's/^[[:space:]]*vm\.swappiness[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' | tail -n 1)"
	if [[ -w /proc/sys/vm/swappiness ]]; then
		if [[ "$value" == 1 ]]; then
			record swappiness passed "vm.swappiness $value"
		else
			record swappiness failed "vm.swappiness $value (/etc/sysctl.d sets '${configured}')"
		fi
	elif [[ "$configured" == 1 ]]; then
		record swappiness skipped "/proc/sys is read-only here (a container: systemd-sysctl does not run), so the image cannot set it: the kernel's value is $value; /etc/sysctl.d sets 1"
	else
		record swappiness failed "/proc/sys is read-only here and /etc/sysctl.d sets '${configured}', not 1"
	fi
}

# check_limit NAME LIMITS_LABEL UNIT_PROPERTY MINIMUM
check_limit() {
	local name="$1" label="$2" property="$3" min="$4" pid soft="" hard="" where
	pid="$(unit_state couchbase-server.service MainPID)"
	if [[ "$pid" =~ ^[1-9][0-9]*$ && -r "/proc/$pid/limits" ]]; then
		read -r soft hard < <(awk -v label="$label" 'index($0, label) == 1 { split(substr($0, length(label) + 1), f, " "); print f[1], f[2] }' "/proc/$pid/limits") || true
		where="couchbase-server.service main process $pid: $label soft ${soft:-?} hard ${hard:-?}"
	else
		soft="$(unit_state couchbase-server.service "${property}Soft")"
		hard="$(unit_state couchbase-server.service "$property")"
		where="couchbase-server.service not running; its unit: ${property}Soft=${soft:-?} $property=${hard:-?}"
	fi
	local configured ceiling
	configured="$(unit_state couchbase-server.service "$property")"
	ceiling="$(awk -v label="$label" 'index($0, label) == 1 { split(substr($0, length(label) + 1), f, " "); print f[2] }' /proc/1/limits 2>/dev/null || true)"
	if limit_at_least "$soft" "$min" && limit_at_least "$hard" "$min"; then
		record "$name" passed "$where (at least $min)"
	elif limit_at_least "$configured" "$min" && [[ -n "$ceiling" ]] && ! limit_at_least "$ceiling" "$min" && [[ "$hard" == "$ceiling" ]]; then
		# The unit asks for enough, but PID 1 itself may not go above its own hard limit (a container
		# without CAP_SYS_RESOURCE): the platform's ceiling, not the image's setting.
		record "$name" skipped "$where: this platform caps it at $ceiling (PID 1's own hard limit), below the unit's $property=$configured (at least $min)"
	else
		record "$name" failed "$where; want at least $min (the unit sets $property=${configured:-?})"
	fi
}
check_nofile() { check_limit limits-nofile "Max open files" LimitNOFILE "$NOFILE_MIN"; }
check_nproc() { check_limit limits-nproc "Max processes" LimitNPROC "$NPROC_MIN"; }

check_host_keys() {
	local keys=() key stale=() made=()
	shopt -s nullglob
	keys=(/etc/ssh/ssh_host_*_key)
	shopt -u nullglob
	if ((${#keys[@]} == 0)); then
		record ssh-host-keys-fresh failed "no SSH host keys in /etc/ssh"
		return 0
	fi
	for key in "${keys[@]}"; do
		if fresh "$key"; then made+=("${key#/etc/ssh/}"); else stale+=("${key#/etc/ssh/} ($(when "$key"))"); fi
	done
	if ((${#stale[@]} > 0)); then
		record ssh-host-keys-fresh failed "written before this boot (started $boot_start_iso): ${stale[*]}${made[*]:+; fresh: ${made[*]}}"
	else
		record ssh-host-keys-fresh passed "written during this boot (started $boot_start_iso): ${made[*]}"
	fi
}

check_machine_id() {
	local id
	id="$(cat /etc/machine-id 2>/dev/null || true)"
	if [[ ! "$id" =~ ^[0-9a-f]{32}$ ]]; then
		record machine-id-fresh failed "/etc/machine-id holds '${id}', not a machine id"
	elif ! fresh /etc/machine-id; then
		record machine-id-fresh failed "/etc/machine-id $id was written $(when /etc/machine-id), before this boot (started $boot_start_iso)"
	else
		record machine-id-fresh passed "/etc/machine-id $id, written $(when /etc/machine-id) (this boot started $boot_start_iso)"
	fi
}

# Root and every account whose shell is a login shell (listed in /etc/shells).
login_homes() {
	local shells=() user _x _uid _gid _gecos home shell
	mapfile -t shells < <(grep -v '^[[:space:]]*#' /etc/shells 2>/dev/null || true)
	while IFS=: read -r user _x _uid _gid _gecos home shell; do
		if [[ "$user" == root ]] || in_list "$shell" "${shells[@]}"; then printf '%s:%s\n' "$user" "$home"; fi
	done </etc/passwd
}

check_authorized_keys() {
	local entry user home file line key blob seen=() bad=() n
	while IFS=: read -r user home; do
		for file in "$home/.ssh/authorized_keys" "$home/.ssh/authorized_keys2"; do
			[[ -f "$file" ]] || continue
			n=0
			while IFS= read -r line || [[ -n "$line" ]]; do
				[[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
				key="$(key_of "$line")"
				if [[ "$key" == "$test_key" ]]; then
					n=$((n + 1))
				elif [[ -n "$key" ]]; then
					blob="${key#* }"
					bad+=("$file: ${key%% *} ${blob:0:20}...")
				else
					bad+=("$file: a line that is no key: ${line:0:40}")
				fi
			done <"$file"
			seen+=("$user: $file (the test key ${n}x)")
		done
	done < <(login_homes)
	entry="${seen[*]:-no authorized_keys at all}"
	if ((${#bad[@]} > 0)); then
		record authorized-keys-only-test-key failed "keys other than the test key: ${bad[*]}; files: $entry"
	else
		record authorized-keys-only-test-key passed "only the test key (${test_key%% *}): $entry"
	fi
}

### Main

main() {
	local out="" emulation="" authorized="" unit
	expect_id=""
	expect_region=""
	while (($# > 0)); do
		case "$1" in
		--out | --expect-instance-id | --expect-region | --authorized-key | --emulation-limits)
			(($# >= 2)) || usage "$1 needs a value"
			case "$1" in
			--out) out="$2" ;;
			--expect-instance-id) expect_id="$2" ;;
			--expect-region) expect_region="$2" ;;
			--authorized-key) authorized="$2" ;;
			--emulation-limits) emulation="$2" ;;
			esac
			shift 2
			;;
		-h | --help) usage ;;
		*) usage "unknown argument: $1" ;;
		esac
	done
	[[ -n "$out" ]] || usage "--out FILE is required"
	[[ "$expect_id" =~ ^[A-Za-z0-9-]+$ ]] || usage "--expect-instance-id must be an instance id (letters, digits, -), got '$expect_id'"
	[[ "$expect_region" =~ ^[a-z0-9-]+$ ]] || usage "--expect-region must be a region name, got '$expect_region'"
	test_key="$(key_of "$authorized")"
	[[ -n "$test_key" ]] || usage "--authorized-key must be an SSH public key line (type and base64), got '$authorized'"
	emulation_limits=()
	if [[ -n "$emulation" ]]; then
		local units=()
		IFS=, read -r -a units <<<"$emulation"
		for unit in "${units[@]}"; do
			[[ "$unit" =~ ^[A-Za-z0-9@._:-]+$ ]] || usage "--emulation-limits takes unit names (a.service,b.service), got '$unit'"
			# A name without a type is a service, as systemctl takes it.
			[[ "$unit" == *.* ]] || unit="$unit.service"
			emulation_limits+=("$unit")
		done
	fi
	((EUID == 0)) || usage "run as root (sudo): the checks read root's keys and other users' process limits"

	boot_timeout="${BOOT_CHECK_BOOT_TIMEOUT:-300}"
	wait_seconds="${BOOT_CHECK_WAIT:-180}"
	[[ "$boot_timeout" =~ ^[1-9][0-9]*$ && "$wait_seconds" =~ ^[0-9]+$ ]] || usage "BOOT_CHECK_BOOT_TIMEOUT and BOOT_CHECK_WAIT must be numbers of seconds"
	boot_start="$(boot_started)"
	boot_start_iso="$(date -u -d "@$boot_start" +%Y-%m-%dT%H:%M:%SZ)"
	agent_active=0
	couchbase_active=0

	run_check system-running check_system_running
	run_check no-failed-units check_no_failed_units
	run_check dp-agent-active check_agent_active
	run_check agent-healthz check_agent_healthz
	run_check agent-node-identity check_agent_identity
	run_check couchbase-enabled check_couchbase_enabled
	run_check couchbase-active check_couchbase_active
	run_check couchbase-uninitialised check_couchbase_uninitialised
	run_check thp-never check_thp
	run_check swappiness check_swappiness
	run_check limits-nofile check_nofile
	run_check limits-nproc check_nproc
	run_check ssh-host-keys-fresh check_host_keys
	run_check machine-id-fresh check_machine_id
	run_check authorized-keys-only-test-key check_authorized_keys

	local i passed=true failed=()
	for i in "${!names[@]}"; do
		printf 'boot-check: %-30s %-7s %s\n' "${names[i]}" "${statuses[i]}" "${saws[i]}"
		if [[ "${statuses[i]}" == failed ]]; then
			passed=false
			failed+=("${names[i]}")
		fi
	done
	local tmp="$out.tmp.$$"
	if ! report_json "$passed" "$expect_id" "$expect_region" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$tmp" 2>/dev/null ||
		! mv -f -- "$tmp" "$out" 2>/dev/null; then
		rm -f -- "$tmp" 2>/dev/null || true
		printf 'boot-check: could not write the report to %s\n' "$out" >&2
		exit 1
	fi
	if [[ "$passed" == true ]]; then
		printf 'boot-check: PASSED (%d checks); report %s\n' "${#names[@]}" "$out"
	else
		printf 'boot-check: FAILED: %s; report %s\n' "${failed[*]}" "$out"
	fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
