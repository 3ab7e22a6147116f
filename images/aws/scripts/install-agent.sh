#!/usr/bin/env bash
# Install the dp-agent: verify the uploaded dp-agent.gz against its pinned sha256, install the
# binary to /usr/local/bin/dp-agent and its unit to /etc/systemd/system, enable the unit.
#
# Env:
#   AGENT_ARTIFACT  path of dp-agent.gz (required)
#   AGENT_SHA256    64 hex digits: sha256 of dp-agent.gz (required)
#   AGENT_UNIT      path of dp-agent.service (required)
#   ROOT            root of the system to modify (default /)
set -o errexit -o nounset -o pipefail

ROOT="${ROOT:-/}"
r="${ROOT%/}"

die() {
	printf 'install-agent: error: %s\n' "$*" >&2
	exit 1
}
log() { printf 'install-agent: %s\n' "$*"; }

AGENT_ARTIFACT="${AGENT_ARTIFACT:?Error: AGENT_ARTIFACT (path of dp-agent.gz) is required}"
AGENT_SHA256="${AGENT_SHA256:?Error: AGENT_SHA256 is required}"
AGENT_UNIT="${AGENT_UNIT:?Error: AGENT_UNIT (path of dp-agent.service) is required}"

[[ "$AGENT_SHA256" =~ ^[0-9a-f]{64}$ ]] || die "AGENT_SHA256 must be 64 lowercase hex digits, got '$AGENT_SHA256'"
[[ -f "$AGENT_ARTIFACT" ]] || die "agent artifact not found: $AGENT_ARTIFACT"
[[ -f "$AGENT_UNIT" ]] || die "agent unit not found: $AGENT_UNIT"

# Verify before anything touches the file's content.
printf '%s  %s\n' "$AGENT_SHA256" "$AGENT_ARTIFACT" | sha256sum --check --strict -

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
gzip --decompress --stdout -- "$AGENT_ARTIFACT" >"$tmp/dp-agent"
[[ -s "$tmp/dp-agent" ]] || die "dp-agent.gz decompressed to an empty file"

install -D -m 0755 -o root -g root "$tmp/dp-agent" "$r/usr/local/bin/dp-agent"
install -D -m 0644 -o root -g root "$AGENT_UNIT" "$r/etc/systemd/system/dp-agent.service"
grep -q '^ExecStart=.*/usr/local/bin/dp-agent' "$r/etc/systemd/system/dp-agent.service" ||
	die "dp-agent.service does not start /usr/local/bin/dp-agent"

if [[ "$ROOT" == / ]]; then
	systemctl enable dp-agent.service
else
	systemctl --root="$ROOT" enable dp-agent.service
fi
log "installed /usr/local/bin/dp-agent (dp-agent.gz sha256 $AGENT_SHA256) and enabled dp-agent.service"
