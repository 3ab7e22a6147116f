# shellcheck shell=bash
# Sourced first by each image script test, with the test's own path. Sets `repo` (the project
# root) and `scripts` (images/aws/scripts). Outside the test's namespaces it makes a scratch
# folder, finds the cached Debian root (scripts/local/rootfs.sh), runs the test again inside new
# mount and network namespaces and exits with its status: every mount vanishes with it, whatever
# happens, and its network is a loopback that is down, so nothing the scripts run can reach the
# metadata address or any other. Inside, it sets `base` (the cached root) and `work` (the scratch
# folder), then sources lib.sh (the TAP-style checks and the root helpers). A test that needs more
# teardown defines `image_test_cleanup` before sourcing; it runs before the scratch folder goes.
#
# Usage: source "$(dirname "${BASH_SOURCE[0]}")/namespace.sh" "${BASH_SOURCE[0]}"
# shellcheck disable=SC2034 # repo, scripts, base and work are for the sourcing test

image_tests="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$image_tests/../.." && pwd)"
scripts="$repo/images/aws/scripts"

if [[ "${IMAGE_TEST_IN_NS:-}" != 1 ]]; then
	[[ "$(id -u)" == 0 ]] || {
		echo "${1#"$repo/"}: needs root (overlay mounts, chroot)" >&2
		exit 1
	}
	base="$(bash "$repo/scripts/local/rootfs.sh")"
	work="$(mktemp -d "${TMPDIR:-/tmp}/image-test.XXXXXX")"
	trap 'if declare -F image_test_cleanup >/dev/null; then image_test_cleanup || true; fi
		rm -rf --one-file-system "$work"' EXIT
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
