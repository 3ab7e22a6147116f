#!/usr/bin/env bash
# Agent benchmark: builds dp-agent with agent/build.sh (the same script the
# pipeline uses), then measures idle RSS, RSS under load and /v1/node latency
# at a fixed rate over loopback, and prints a table with the issue's targets.
#
#   bench/agent/run.sh [--rate 1000] [--duration 10s] [--idle 3s]
#
# Exits non-zero when a target is missed.
set -o errexit -o nounset -o pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sha="$(bash "$repo/agent/build.sh" --out "$work" | tail -n 1)"
echo "dp-agent.gz sha256 $sha" >&2
gzip -dc "$work/dp-agent.gz" >"$work/dp-agent"
chmod 0755 "$work/dp-agent"
(cd "$repo/agent" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly go build -o "$work/dp-agent-bench" ./cmd/dp-agent-bench)
"$work/dp-agent-bench" --agent "$work/dp-agent" --gz "$work/dp-agent.gz" "$@"
