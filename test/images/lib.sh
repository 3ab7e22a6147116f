# shellcheck shell=bash
# Shared helpers of the image script tests (sourced): TAP-style checks and fresh overlays of the
# cached Debian root. The caller sets `work` (a scratch folder) and `base` (the cached root) and
# runs inside a private mount namespace, so every mount vanishes with the test.
# shellcheck disable=SC2154 # work and base are set by the sourcing test

failures=0
count=0

ok() {
	count=$((count + 1))
	echo "ok $count - $*"
}
not_ok() {
	count=$((count + 1))
	failures=$((failures + 1))
	echo "not ok $count - $*"
}
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
	local desc="$1"
	shift
	if run "$@"; then ok "$desc"; else
		not_ok "$desc"
		if [[ "$1" == output_* ]]; then sed 's/^/#   /' "$work/last.out"; else sed 's/^/#   /' "$work/run.out"; fi
	fi
}
# check_fails DESCRIPTION COMMAND...: passes when COMMAND fails.
check_fails() {
	local desc="$1"
	shift
	if run "$@"; then
		not_ok "$desc (unexpectedly succeeded)"
		sed 's/^/#   /' "$work/run.out"
	else ok "$desc"; fi
}
# run COMMAND...: output to run.out; the output of the last command that was not an output_*
# check stays in last.out for output_has / output_lacks.
run() {
	local rc=0
	"$@" >"$work/run.out" 2>&1 || rc=$?
	[[ "$1" == output_has || "$1" == output_lacks ]] || cp "$work/run.out" "$work/last.out"
	return "$rc"
}
output_has() { grep -qF -- "$1" "$work/last.out"; }
output_lacks() { ! grep -qF -- "$1" "$work/last.out"; }

# A fresh overlay of the cached root: mount_root NAME -> prints the merged path.
mount_root() {
	local d="$work/$1"
	mkdir -p "$d/upper" "$d/work" "$d/root"
	mount -t overlay overlay -o "lowerdir=$base,upperdir=$d/upper,workdir=$d/work" "$d/root"
	mount -t proc proc "$d/root/proc"
	mount --bind /dev "$d/root/dev"
	printf '%s\n' "$d/root"
}

# Run a command inside ROOT with a clean environment plus the given VAR=value pairs (a PATH=...
# among them replaces the default one).
in_root() {
	local root="$1"
	shift
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}
