# shellcheck shell=bash
# What a fresh clone lacks, installed on first use; a few file checks when nothing is missing.
# Sourced after scripts/env.sh by scripts/with-env.sh (npm scripts: `with-env.sh --ensure[=TOOL,...]`),
# scripts/bootstrap.sh and scripts/local/up.sh. Defines functions only.
#
#   node_modules_current      true when node_modules was installed from the current package-lock.json
#   ensure_node_modules       npm ci unless node_modules_current
#   ensure_installed TOOL...  ensure_node_modules, then scripts/bootstrap.sh when a TOOL is not on PATH

# npm rewrites node_modules/.package-lock.json on every install, so a package-lock.json newer than
# it (a pull, a dependency change) means node_modules may not match the lock any more.
node_modules_current() {
	local stamp="$PROJECT_ROOT/node_modules/.package-lock.json"
	[[ -f "$stamp" && "$stamp" -nt "$PROJECT_ROOT/package-lock.json" ]]
}

ensure_node_modules() {
	node_modules_current && return 0
	printf 'ensure-installed: npm ci (node_modules is missing or older than package-lock.json)\n' >&2
	(cd "$PROJECT_ROOT" && npm ci --ignore-scripts --no-audit --no-fund >&2)
}

# A TOOL counts as there when `command -v` finds it with env.sh's PATH (bin/ first, then a vendor
# install): a dangling bin/ link (an emptied cache) is not there. The bootstrap installs every tool
# and reports on stderr, so a caller's stdout stays its own.
ensure_installed() {
	ensure_node_modules
	local tool missing=()
	for tool in "$@"; do
		command -v "$tool" >/dev/null || missing+=("$tool")
	done
	((${#missing[@]} == 0)) && return 0
	printf 'ensure-installed: bash scripts/bootstrap.sh (not found: %s)\n' "${missing[*]}" >&2
	bash "$PROJECT_ROOT/scripts/bootstrap.sh" >&2
}
