# shellcheck shell=bash
# Sourced first by each image script test, with the test's own path and optionally the root's
# architecture (amd64, the default, or arm64). Sets `repo` (the project root) and `scripts`
# (images/aws/scripts). Outside the test's namespaces it makes a scratch folder, finds the cached
# Debian root of that architecture (scripts/local/rootfs.sh --arch), runs the test again inside new
# mount and network namespaces and exits with its status: every mount vanishes with it, whatever
# happens, and its network is a loopback that is down, so nothing the scripts run can reach the
# metadata address or any other. Inside, it sets `base` (the cached root) and `work` (the scratch
# folder), then sources lib.sh (the TAP-style checks, the root helpers and the boot). When the
# test ends, whatever happened, every process it listed in $work/pids (lib.sh's track) is killed,
# then a test's own `image_test_cleanup` runs (defined before sourcing), then the scratch folder goes.
#
# Usage: source "$(dirname "${BASH_SOURCE[0]}")/namespace.sh" "${BASH_SOURCE[0]}" [amd64|arm64]
# shellcheck disable=SC2034 # repo, scripts, base and work are for the sourcing test

image_tests="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$image_tests/../.." && pwd)"
scripts="$repo/images/aws/scripts"

if [[ "${IMAGE_TEST_IN_NS:-}" != 1 ]]; then
	[[ "$(id -u)" == 0 ]] || {
		echo "${1#"$repo/"}: needs root (overlay mounts, chroot)" >&2
		exit 1
	}
	base="$(bash "$repo/scripts/local/rootfs.sh" --arch "${2:-amd64}")"
	work="$(mktemp -d "${TMPDIR:-/tmp}/image-test.XXXXXX")"
	# shellcheck disable=SC2317,SC2329 # runs from the EXIT trap
	namespace_teardown() {
		local pid
		if [[ -f "$work/pids" ]]; then
			while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done <"$work/pids"
		fi
		if declare -F image_test_cleanup >/dev/null; then image_test_cleanup || true; fi
		rm -rf --one-file-system "$work"
	}
	trap namespace_teardown EXIT
	IMAGE_TEST_IN_NS=1 IMAGE_TEST_BASE="$base" IMAGE_TEST_WORK="$work" \
		unshare --mount --net --propagation private -- bash "$1"
	exit $?
fi

# Refuse to run with a route out (a caller that set IMAGE_TEST_IN_NS itself).
if [[ "$(wc -l </proc/net/route)" -gt 1 ]]; then
	echo "${1#"$repo/"}: has a network route; run it without IMAGE_TEST_IN_NS" >&2
	exit 1
fi
base="$IMAGE_TEST_BASE"
work="$IMAGE_TEST_WORK"
# shellcheck source=test/images/lib.sh
source "$image_tests/lib.sh"
