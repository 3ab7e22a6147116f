#!/usr/bin/env bash
# npm run local: installs what is missing, then runs the pipeline on this machine
# (scripts/local/up.ts: agent, stand-in package, moto, hostd, `up` of the local stack).
#
# Env: LOCAL_SKIP_BOOTSTRAP=1 skips the bootstrap (tools known good; node_modules and the stack
# driver's tools are still checked). LOCAL_STACK: see up.ts.
set -o errexit -o nounset -o pipefail

# shellcheck source=scripts/env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/env.sh"
# shellcheck source=scripts/ensure-installed.sh
source "$PROJECT_ROOT/scripts/ensure-installed.sh"
cd "$PROJECT_ROOT"
LOCAL_STARTED_MS="$(date +%s%3N)"
export LOCAL_STARTED_MS

if [[ "${LOCAL_SKIP_BOOTSTRAP:-}" != 1 ]]; then
	printf 'local: toolchain: bash scripts/bootstrap.sh (npm ci too when node_modules does not match package-lock.json)\n' >&2
	bash scripts/bootstrap.sh
else
	ensure_installed pulumi packer moto_server
fi
exec node -r ts-node/register/transpile-only scripts/local/up.ts "$@"
