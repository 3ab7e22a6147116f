#!/usr/bin/env bash
# Runs one command with the project's environment (scripts/env.sh): tools in bin/ first on PATH,
# offline settings, plugin folders. npm scripts go through here.
#
#   with-env.sh [--ensure[=TOOL,...]] COMMAND [ARGS...]
#
# --ensure installs what a fresh clone lacks first (scripts/ensure-installed.sh): npm ci when
# node_modules does not match package-lock.json, and scripts/bootstrap.sh when one of the TOOLs is
# not on PATH. Warm, that is a few file checks.
set -o errexit -o nounset -o pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
case "${1:-}" in
--ensure | --ensure=*)
	# shellcheck source=scripts/ensure-installed.sh
	source "$PROJECT_ROOT/scripts/ensure-installed.sh"
	tools=()
	[[ "$1" == --ensure=* ]] && IFS=, read -r -a tools <<<"${1#--ensure=}"
	ensure_installed "${tools[@]}"
	shift
	;;
esac
exec "$@"
