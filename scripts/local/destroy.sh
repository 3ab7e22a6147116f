#!/usr/bin/env bash
# npm run local:destroy [-- --keep-sandboxes]: installs what is missing, then destroys the local
# stack and stops its emulator and build host (scripts/local/destroy.ts).
set -o errexit -o nounset -o pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../with-env.sh" --ensure=pulumi,moto_server node -r ts-node/register/transpile-only "$here/destroy.ts" "$@"
