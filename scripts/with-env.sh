#!/usr/bin/env bash
# Runs one command with the project's environment (scripts/env.sh): tools in bin/ first on PATH,
# offline settings, plugin folders. npm scripts go through here.
set -o errexit -o nounset -o pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
exec "$@"
