#!/usr/bin/env bash
# The TypeScript lint and format gate (npm run lint; stage "lint" of scripts/test.sh).
#   lint.sh          eslint (eslint.config.mjs) and prettier --check (.prettierrc.json): fails on
#                    any finding, and names the fix command.
#   lint.sh --fix    prettier --write, then eslint --fix (npm run format); what eslint cannot fix
#                    itself is still reported.
# Shell is linted separately (shellcheck and shfmt, in scripts/test.sh and images' ci).
set -o errexit -o nounset -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ "${1:-}" == --fix ]]; then
	npx prettier --write --log-level warn .
	exec npx eslint --fix .
fi
status=0
npx eslint --max-warnings 0 . || status=1
npx prettier --check --log-level warn . || status=1
if ((status != 0)); then
	printf 'lint: fix with: npm run format (prettier --write, eslint --fix); fix by hand what it reports after that\n' >&2
fi
exit "$status"
