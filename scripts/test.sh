#!/usr/bin/env bash
# The one test command (README, `npm test`, .ci/run). Works on a fresh clone with nothing installed:
# it runs npm ci and the tool bootstrap itself, then every suite, fastest first.
# Set TEST_ONLY="unit integration" (space-separated stage names) to run a subset.
set -o errexit -o nounset -o pipefail

# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PROJECT_ROOT"

declare -a TIMES=()
stage() {
	local name="$1"
	shift
	if [[ -n "${TEST_ONLY:-}" && " $TEST_ONLY " != *" $name "* ]]; then
		return
	fi
	printf '\n==> %s: %s\n' "$name" "$*" >&2
	local t0=$SECONDS
	"$@"
	TIMES+=("$(printf '%-12s %4ss' "$name" "$((SECONDS - t0))")")
}

lint_project_shell() {
	local files
	mapfile -t files < <(git ls-files 'scripts/*.sh' 'scripts/**/*.sh' '.ci/*' | sort -u)
	shellcheck -x "${files[@]}"
	shfmt -d "${files[@]}"
}

stage bootstrap bash scripts/bootstrap.sh
stage typecheck npx tsc --noEmit -p .
stage lint bash scripts/lint.sh
stage shell lint_project_shell
stage agent bash agent/ci.sh
stage image bash test/images/ci.sh
stage unit npx mocha 'test/unit/**/*.test.ts'
stage integration npx mocha 'test/integration/**/*.test.ts'
stage e2e npx mocha 'test/e2e/**/*.test.ts'

printf '\nall tests passed\n' >&2
printf '  %s\n' "${TIMES[@]}" >&2
