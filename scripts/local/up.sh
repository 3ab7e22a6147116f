#!/usr/bin/env bash
# npm run local: installs what is missing, then runs the pipeline on this machine
# (scripts/local/up.ts: agent, stand-in package, moto, hostd, `up` of the local stack).
#
# Env: LOCAL_SKIP_BOOTSTRAP=1 skips the bootstrap (tools known good; node_modules and the tools up.ts
# runs are still checked, scripts/ensure-installed.sh). LOCAL_STACK: see up.ts.
set -o errexit -o nounset -o pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOCAL_STARTED_MS="$(date +%s%3N)"
export LOCAL_STARTED_MS
if [[ "${LOCAL_SKIP_BOOTSTRAP:-}" != 1 ]]; then
	printf 'local: toolchain: bash scripts/bootstrap.sh (npm ci too when node_modules does not match package-lock.json)\n' >&2
	bash "$here/../bootstrap.sh"
fi
exec bash "$here/../with-env.sh" --ensure=pulumi,packer,moto_server node -r ts-node/register/transpile-only "$here/up.ts" "$@"
