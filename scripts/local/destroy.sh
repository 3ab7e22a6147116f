#!/usr/bin/env bash
# npm run local:destroy [-- --keep-sandboxes]: installs what is missing, then destroys the local
# stack and stops its emulator and build host (scripts/local/destroy.ts).
set -o errexit -o nounset -o pipefail

# shellcheck source=scripts/env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/env.sh"
# shellcheck source=scripts/ensure-installed.sh
source "$PROJECT_ROOT/scripts/ensure-installed.sh"
cd "$PROJECT_ROOT"
ensure_installed pulumi moto_server
exec node -r ts-node/register/transpile-only scripts/local/destroy.ts "$@"
