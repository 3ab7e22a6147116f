#!/usr/bin/env bash
# npm run local:destroy: destroys the local stack, then stops the sandbox build host (hostd and its
# sandbox) and moto, and checks that none of their processes and no mount under .local/ is left.
#
#   npm run local:destroy [-- --keep-sandboxes]
#
# Env: LOCAL_STACK (default local). With moto gone (say, after a reboot) the images are gone too:
# the stack's state is then only stale, so destroy runs against a fresh moto (deleting what no
# longer exists counts as done) to empty it. Sandbox upper dirs under .local/sandbox are removed
# unless --keep-sandboxes is given.
set -o errexit -o nounset -o pipefail

# shellcheck source=scripts/env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/env.sh"
# shellcheck source=scripts/local/lib.sh
source "$PROJECT_ROOT/scripts/local/lib.sh"

keep_sandboxes=0
for a in "$@"; do
	case "$a" in
	--keep-sandboxes) keep_sandboxes=1 ;;
	*) local_die "unknown argument $a (usage: npm run local:destroy [-- --keep-sandboxes])" ;;
	esac
done

stack="$(local_stack)"
cd "$PROJECT_ROOT"
mkdir -p "$LOCAL_STATE"
status=0

if stack_has_resources "$stack"; then
	endpoint="$(stack_config "$stack" ec2Endpoint)" || local_die "no couchbase-images:ec2Endpoint in Pulumi.$stack.yaml"
	moto_port="$(port_of "$endpoint")"
	region="$(stack_config "$stack" buildRegion || echo us-east-1)"
	if ! pidfile_pid moto >/dev/null || ! port_answers "$moto_port"; then
		local_log "moto is not running: starting an empty one so destroy can empty the stack's stale state"
		start_moto "$endpoint"
	fi
	export_moto_env "$endpoint" "$region"
	local_log "destroy: npm run stack -- destroy --stack $stack"
	if ! npm run --silent stack -- destroy --stack "$stack"; then
		local_log "destroy failed: the emulator and build host are stopped anyway; see docs/local.md (recovery)"
		status=1
	fi
else
	local_log "stack $stack has no resources: nothing to destroy"
fi

# --- stop the build host, its sandbox and moto ---------------------------------------------------
if pid="$(pidfile_pid hostd)"; then stop_pid "$pid" hostd; fi
rm -f "$LOCAL_STATE/hostd.pid"
mapfile -t left < <(sandbox_pids)
for pid in "${left[@]}"; do
	local_log "killing leftover sandbox process $pid"
	kill -KILL "$pid" 2>/dev/null || true
done
if pid="$(pidfile_pid moto)"; then stop_pid "$pid" moto; fi
rm -f "$LOCAL_STATE/moto.pid"

# --- verify ------------------------------------------------------------------------------------
sleep 0.2
mapfile -t left < <(sandbox_pids)
mounts="$(local_mounts)"
if ((${#left[@]} > 0)); then
	local_log "error: sandbox processes still running: ${left[*]}"
	status=1
fi
if [[ -n "$mounts" ]]; then
	local_log "error: mounts left under .local: $mounts"
	status=1
fi
if ((status == 0)); then
	((keep_sandboxes)) || rm -rf --one-file-system "$LOCAL_STATE/sandbox" "$LOCAL_STATE/hostkeys"
	local_log "done: stack $stack destroyed; moto, hostd and sandboxes stopped; no process or mount left"
fi
exit "$status"
