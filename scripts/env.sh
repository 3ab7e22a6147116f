# shellcheck shell=bash
# Sourced by every project script: one place for PATH, caches and the offline settings.
# Safe to source twice. Never prints.

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PROJECT_ROOT
export PROJECT_CACHE="${COUCHBASE_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/couchbase-images}"
export PROJECT_BIN="$PROJECT_ROOT/bin"

case ":$PATH:" in
*":$PROJECT_BIN:"*) ;;
*) export PATH="$PROJECT_BIN:$PROJECT_ROOT/node_modules/.bin:$PATH" ;;
esac

# Packer: plugins from our folder only, no phoning home.
export PACKER_PLUGIN_PATH="${PACKER_PLUGIN_PATH:-$PROJECT_CACHE/packer-plugins}"
export CHECKPOINT_DISABLE=1

# Pulumi: no update checks, never download plugins behind our back. The caller's own plugin
# setting is remembered first ("unset" when there was none; kept when sourced again): the stack
# driver gives it back to non-local stacks, which need the aws and command plugins
# (scripts/stack.ts, pluginAcquisition).
export PULUMI_SKIP_UPDATE_CHECK=true
export COUCHBASE_IMAGES_CALLER_PLUGIN_ACQUISITION="${COUCHBASE_IMAGES_CALLER_PLUGIN_ACQUISITION-${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION-unset}}"
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
