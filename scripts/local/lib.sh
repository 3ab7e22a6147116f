# shellcheck shell=bash
# Shared by scripts/local/up.sh and destroy.sh: where the local emulator's state lives, how to read
# the local stack's config, and how to start, find and stop the background processes.
# Sourced after scripts/env.sh. Defines functions only (plus a few readonly paths).

readonly LOCAL_STATE="$PROJECT_ROOT/.local"
readonly LOCAL_AMIS="$PROJECT_ROOT/scripts/local/amis.json"

local_log() { printf 'local: %s\n' "$*" >&2; }
local_die() {
	printf 'local: error: %s\n' "$*" >&2
	exit 1
}

# local_stack: $LOCAL_STACK (default local); dies unless it names a local stack.
local_stack() {
	local stack="${LOCAL_STACK:-local}"
	[[ "$stack" == local || "$stack" == local-* ]] || local_die "LOCAL_STACK must be local or local-<name>, got '$stack'"
	printf '%s\n' "$stack"
}

# stack_has_resources STACK: the stack's state in the local file backend records resources.
stack_has_resources() {
	local f="$PROJECT_ROOT/.pulumi-state/.pulumi/stacks/couchbase-images/$1.json"
	[[ -f "$f" ]] && grep -q '"urn"' "$f"
}

# stack_config STACK KEY: a top-level value of Pulumi.<stack>.yaml (`couchbase-images:KEY: value`),
# falling back to Pulumi.local.yaml for local-* stacks. Scalars only; quotes stripped.
stack_config() {
	local stack="$1" key="$2" file
	for file in "$PROJECT_ROOT/Pulumi.$stack.yaml" "$PROJECT_ROOT/Pulumi.local.yaml"; do
		[[ -f "$file" ]] || continue
		local v
		v="$(awk -v k="couchbase-images:$key:" '$1 == k { $1 = ""; sub(/^ +/, ""); gsub(/^["\047]|["\047]$/, ""); print; exit }' "$file")"
		if [[ -n "$v" ]]; then
			printf '%s\n' "$v"
			return 0
		fi
	done
	return 1
}

# port_of URL: the port of http://host:port
port_of() {
	local p="${1##*:}"
	printf '%s\n' "${p%%/*}"
}

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# pidfile_pid NAME: the pid in .local/NAME.pid when that process still runs.
pidfile_pid() {
	local f="$LOCAL_STATE/$1.pid" pid
	[[ -f "$f" ]] || return 1
	pid="$(tr -dc '0-9' <"$f")"
	pid_alive "$pid" || return 1
	printf '%s\n' "$pid"
}

# port_answers PORT: something listens on 127.0.0.1:PORT
port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s.
wait_for() {
	local secs="$1" what="$2"
	shift 2
	local i
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	local_die "$what not ready after ${secs}s"
}

# start_moto ENDPOINT: moto_server in the background on ENDPOINT's port (pid in .local/moto.pid), with
# the base images of amis.json; returns once it answers. Dies when something else holds the port.
start_moto() {
	local endpoint="$1" port
	port="$(port_of "$endpoint")"
	port_answers "$port" && local_die "127.0.0.1:$port is taken by something that is not our moto (.local/moto.pid); stop it or change ec2Endpoint"
	MOTO_AMIS_PATH="$LOCAL_AMIS" setsid moto_server -H 127.0.0.1 -p "$port" >>"$LOCAL_STATE/moto.log" 2>&1 </dev/null &
	echo "$!" >"$LOCAL_STATE/moto.pid"
	wait_for 30 "moto on $endpoint" port_answers "$port"
}

# export_moto_env ENDPOINT REGION: the stack driver, the providers and Packer talk to moto (what
# scripts/local/moto.ts motoEnv gives the tests). The driver runs without type checking (CI's
# `tsc --noEmit` does that): seconds faster per run.
export_moto_env() {
	export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION="$2" AWS_EC2_METADATA_DISABLED=true
	export AWS_ENDPOINT_URL_EC2="$1" TS_NODE_TRANSPILE_ONLY=true
}

# stop_pid PID NAME: SIGTERM, wait up to 10 s, then SIGKILL.
stop_pid() {
	local pid="$1" name="$2" i
	pid_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		pid_alive "$pid" || {
			local_log "stopped $name (pid $pid)"
			return 0
		}
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	local_log "killed $name (pid $pid) after 10 s"
}

# sandbox_pids: processes whose root or command line is inside .local/sandbox (sandboxes' sshd,
# their unshare parents and anything run inside them).
sandbox_pids() {
	local d="$LOCAL_STATE/sandbox" p root
	for p in /proc/[0-9]*; do
		root="$(readlink "$p/root" 2>/dev/null || true)"
		if [[ "$root" == "$d"/* ]] || tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$d/"; then
			printf '%s\n' "${p#/proc/}"
		fi
	done
}

# local_mounts: host mounts under .local (there should never be any: sandboxes mount in private namespaces).
local_mounts() { grep -F "$LOCAL_STATE/" /proc/self/mountinfo || true; }
