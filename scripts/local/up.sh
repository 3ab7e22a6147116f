#!/usr/bin/env bash
# npm run local: the whole pipeline on this machine, offline.
#
#   toolchain (bootstrap) -> agent artifact -> stand-in couchbase-server .deb -> moto's EC2 server
#   -> hostd (sandbox build host) -> `up` of the local stack on the real engine and real Packer
#   -> prints the image id, the versions file and the teardown command.
#
# Idempotent: a second run reuses the running emulator and build host, and `up` changes nothing.
# moto keeps its state in memory: when this script has to start moto while the stack's state still
# records resources, those images vanished with the old moto, so it runs `refresh` first (the
# provider's read reports them gone) and `up` then builds again.
#
# Env: LOCAL_STACK (default local; any local-* stack works), LOCAL_SKIP_BOOTSTRAP=1 (tools known good).
# Ports come from the stack's config (Pulumi.local.yaml): ec2Endpoint (moto) and sshPort (sandbox sshd).
set -o errexit -o nounset -o pipefail

# shellcheck source=scripts/env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/env.sh"
# shellcheck source=scripts/local/lib.sh
source "$PROJECT_ROOT/scripts/local/lib.sh"

stack="$(local_stack)"
cd "$PROJECT_ROOT"
t0=$SECONDS
mkdir -p "$LOCAL_STATE"

# --- toolchain ---------------------------------------------------------------------------------
if [[ "${LOCAL_SKIP_BOOTSTRAP:-}" != 1 ]]; then
	local_log "toolchain: bash scripts/bootstrap.sh (npm ci too when node_modules does not match package-lock.json)"
	bash scripts/bootstrap.sh
fi
[[ "$(id -u)" == 0 ]] || local_die "the sandbox build host needs root (namespaces, overlayfs, chroot)"

endpoint="$(stack_config "$stack" ec2Endpoint)" || local_die "Pulumi.$stack.yaml (or Pulumi.local.yaml) sets no couchbase-images:ec2Endpoint"
moto_port="$(port_of "$endpoint")"
ssh_port="$(stack_config "$stack" sshPort)" || local_die "Pulumi.$stack.yaml (or Pulumi.local.yaml) sets no couchbase-images:sshPort"
region="$(stack_config "$stack" buildRegion || echo us-east-1)"
cb_version="$(stack_config "$stack" couchbaseVersion || echo 7.6.3)"
cb_version="${cb_version%%-*}"
cb_edition="$(stack_config "$stack" couchbaseEdition || echo enterprise)"

# --- inputs the local stack uses as prebuilt artifacts --------------------------------------------
local_log "rootfs: cached Debian root for the sandbox"
rootfs="$(bash scripts/local/rootfs.sh)"
local_log "agent: agent/build.sh --out .build/agent"
agent_sha="$(bash agent/build.sh --out .build/agent | tail -n 1)"
local_log "agent: .build/agent/dp-agent.gz sha256 $agent_sha"
deb="$(bash scripts/local/standin-couchbase.sh --out .build/standin --version "$cb_version" --edition "$cb_edition")"
local_log "stand-in package: ${deb#"$PROJECT_ROOT"/} (a STAND-IN, not Couchbase Server)"

# --- moto --------------------------------------------------------------------------------------
fresh_moto=0
if moto_pid="$(pidfile_pid moto)" && port_answers "$moto_port"; then
	local_log "moto: reusing pid $moto_pid on $endpoint"
else
	local_log "moto: starting on $endpoint (base images: scripts/local/amis.json)"
	start_moto "$endpoint"
	fresh_moto=1
fi

# --- hostd -------------------------------------------------------------------------------------
if hostd_pid="$(pidfile_pid hostd)" && grep -q '"ready": true' "$LOCAL_STATE/hostd.json" 2>/dev/null &&
	grep -qF "\"endpoint\": \"$endpoint\"" "$LOCAL_STATE/hostd.json" && grep -q "\"sshPort\": $ssh_port," "$LOCAL_STATE/hostd.json"; then
	local_log "hostd: reusing pid $hostd_pid (sandbox sshd on 127.0.0.1:$ssh_port)"
else
	if hostd_pid="$(pidfile_pid hostd)"; then stop_pid "$hostd_pid" "hostd (other settings)"; fi
	local_log "hostd: starting (sandbox sshd on 127.0.0.1:$ssh_port)"
	rm -f "$LOCAL_STATE/hostd.json"
	setsid node -r ts-node/register/transpile-only scripts/local/hostd.ts \
		--endpoint "$endpoint" --ssh-port "$ssh_port" --state-dir "$LOCAL_STATE" --regions "$region" --rootfs "$rootfs" \
		>>"$LOCAL_STATE/hostd.log" 2>&1 </dev/null &
	hostd_pid=$!
	hostd_ready() {
		pid_alive "$hostd_pid" || local_die "hostd exited; see .local/hostd.log"
		grep -q '"ready": true' "$LOCAL_STATE/hostd.json" 2>/dev/null
	}
	wait_for 60 "hostd" hostd_ready
fi

# --- the stack ---------------------------------------------------------------------------------
export_moto_env "$endpoint" "$region"
if ((fresh_moto)) && stack_has_resources "$stack"; then
	local_log "moto was (re)started: the images in the $stack stack's state vanished with the old one; refreshing first"
	npm run --silent stack -- refresh --stack "$stack" --clear-pending-creates
fi

local_log "up: npm run stack -- up --stack $stack (Packer's progress follows)"
outputs="$LOCAL_STATE/outputs-$stack.json"
npm run --silent stack -- up --stack "$stack" | tee "$outputs.tmp"
# The driver prints the stack outputs as a JSON object at the end of its stdout.
sed -n '/^{$/,$p' "$outputs.tmp" >"$outputs"
rm -f "$outputs.tmp"

image_id="$(node -e 'const o=require(process.argv[1]); process.stdout.write(String((o.amiIds || {})[process.argv[2]] || ""))' "$outputs" "$region" 2>/dev/null || true)"
versions_file="$(node -e 'const o=require(process.argv[1]); process.stdout.write(String(o.versionsFile ?? ""))' "$outputs" 2>/dev/null || true)"
[[ -n "$versions_file" ]] || versions_file="versions/$stack.json"

cat <<DONE

local: done in $((SECONDS - t0))s
  image id:       ${image_id:-(see the outputs above)}
  versions file:  $versions_file
  emulator:       moto on $endpoint (pid $(cat "$LOCAL_STATE/moto.pid")), sandbox sshd on 127.0.0.1:$ssh_port
  sandbox files:  .local/sandbox/<instance-id>/upper (what the provisioning wrote)
  tear down:      npm run local:destroy
DONE
if [[ -f "$versions_file" ]]; then
	printf '\n%s:\n' "$versions_file"
	cat "$versions_file"
fi
