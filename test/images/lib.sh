# shellcheck shell=bash
# Shared helpers of the image script tests (sourced): TAP-style checks and fresh overlays of the
# cached Debian root. The caller sets `work` (a scratch folder) and `base` (the cached root) and
# runs inside a private mount namespace, so every mount vanishes with the test.
# shellcheck disable=SC2154,SC2034 # work, base and the boot's inputs are set by the sourcing test; the boot's results are for it

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

### Booting an image root (boot.sh, boot-arm64.sh)
# The caller sets `version` (the stand-in Couchbase version), `instance_id` and `region` (what the
# fake IMDS serves and boot-check.sh expects) and `check_args` (extra boot-check.sh arguments,
# such as --emulation-limits), and may set `boot_timeout` and `boot_wait` (seconds: the boot's
# own end, then the agent's and Couchbase's answers; defaults 90 and 30) and `manager_wait`
# (seconds until systemd's manager is up; default 30), and `poweroff_by`: `signal` (default:
# SIGRTMIN+4 to PID 1, as systemd takes it from its container manager) or `systemctl` (`systemctl
# poweroff` inside: under qemu-user a real-time signal sent to the emulator's process does not
# reach the emulated systemd as the same signal). Every process a boot starts is listed in
# $work/pids (track), which namespace.sh kills, whatever happens.

track() { echo "$1" >>"$work/pids"; }
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
seconds_since() {
	local ms=$(($(now_ms) - $1))
	printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10))
}
gone() { [[ ! -e /proc/$1 ]] || [[ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" == Z ]]; }

# need_boot_tools TEST_NAME: the host tools a boot needs, or exit 1 naming the missing one.
need_boot_tools() {
	local tool
	command -v systemd-nspawn >/dev/null || {
		echo "$1: systemd-nspawn is missing: apt-get install -y systemd-container (scripts/bootstrap.sh)" >&2
		exit 1
	}
	for tool in ip python3 nsenter; do
		command -v "$tool" >/dev/null || {
			echo "$1: $tool is missing (iproute2, python3, util-linux)" >&2
			exit 1
		}
	done
}

# build_image ARCH: the image root, as a build makes it: the provisioning scripts (tune-host, the
# STAND-IN couchbase-server package, the real dp-agent from agent/build.sh, both built for ARCH,
# cleanup, validate) run inside an overlay of the cached root ($base, of ARCH); sets `image` (the
# overlay's upper dir: what the build wrote) and `build_seconds`.
build_image() {
	local arch="$1" t0 root agent_sha S=/tmp/image-build/scripts
	bash "$repo/scripts/local/standin-couchbase.sh" --out "$work/packages" --version "$version" --arch "$arch" >/dev/null
	agent_sha="$(bash "$repo/agent/build.sh" --out "$work/agent" --arch "$arch" 2>/dev/null | tail -n 1)"
	t0=$(now_ms)
	root="$(mount_root build)"
	install -d "$root/tmp/image-build/scripts" "$root/tmp/image-build/couchbase-packages" "$root/tmp/image-build/agent"
	cp "$scripts"/*.sh "$root/tmp/image-build/scripts/"
	cp "$work/packages"/*.deb "$root/tmp/image-build/couchbase-packages/"
	cp "$work/agent/dp-agent.gz" "$root/tmp/image-build/agent/"
	cp "$repo/agent/dp-agent.service" "$root/tmp/image-build/agent/"
	cp "$scripts/validate.sh" "$root/usr/local/sbin/image-validate"
	check "build ($arch): the provisioning scripts make the image root" in_root "$root" bash -c "set -e
	bash $S/tune-host.sh
	COUCHBASE_EDITION=enterprise COUCHBASE_VERSION=$version COUCHBASE_PACKAGE_SOURCE=/tmp/image-build/couchbase-packages bash $S/install-couchbase.sh
	AGENT_ARTIFACT=/tmp/image-build/agent/dp-agent.gz AGENT_SHA256=$agent_sha AGENT_UNIT=/tmp/image-build/agent/dp-agent.service bash $S/install-agent.sh
	bash $S/cleanup.sh
	COUCHBASE_EDITION=enterprise COUCHBASE_VERSION=$version bash /usr/local/sbin/image-validate
	rm /usr/local/sbin/image-validate"
	umount --recursive "$root"
	image="$work/build/upper"
	build_seconds="$(seconds_since "$t0")"
}

# boot_prepare: the fake IMDSv2 (a token for PUT /latest/api/token with a TTL header, then the
# metadata the agent reads, only with that token: 401 without; logs each request) and the test's
# SSH key (sets `test_key_line`), once.
boot_prepare() {
	[[ ! -f "$work/imds.py" ]] || return 0
	cat >"$work/imds.py" <<'PY'
import http.server, secrets, sys
instance_id, region, log = sys.argv[1], sys.argv[2], open(sys.argv[3], "a", buffering=1)
token = secrets.token_hex(16)
meta = {"instance-id": instance_id, "placement/region": region, "placement/availability-zone": region + "a",
        "instance-type": "t3.medium", "local-ipv4": "10.0.0.23"}
class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, status, body=""):
        log.write(f"{self.command} {self.path} {status}\n")
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())
    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.answer(200, token)
        self.answer(400)
    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") != token:
            return self.answer(401)
        key = self.path[len("/latest/meta-data/"):] if self.path.startswith("/latest/meta-data/") else None
        self.answer(200, meta[key]) if key in meta else self.answer(404)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("169.254.169.254", 80), Handler)
log.write("ready\n")
server.serve_forever()
PY
	test_key_line="$(ssh-keygen -q -t ed25519 -N '' -C boot-test -f "$work/test-key" && cat "$work/test-key.pub")"
}

# boot NAME [SETUP_FUNCTION [INSPECT_FUNCTION]]: boots the image ($image over $base) under a fresh
# overlay (SETUP_FUNCTION MERGED_DIR changes it first; "" for none) with `systemd-nspawn --boot --register=no
# --keep-unit` in a network namespace of its own (a loopback only, where the fake IMDS listens on
# 169.254.169.254:80 before systemd starts), runs boot-check.sh inside (nsenter), copies its
# report to $work/NAME.json (then INSPECT_FUNCTION LEADER_PID looks inside the running boot, such
# as with `in_boot`), powers off and checks that nothing of the boot is left. Sets
# boot_seconds (until systemd's manager is up) and check_seconds (boot-check.sh, which first
# waits for the boot to finish).
boot() {
	local name="$1" setup="${2:-}" inspect="${3:-}" d="$work/$1" imds nspawn leader="" children=() netns t0 rc=0 tries
	boot_prepare
	mkdir -p "$d/upper" "$d/work" "$d/root"
	mount -t overlay overlay -o "lowerdir=$image:$base,upperdir=$d/upper,workdir=$d/work" "$d/root"
	install -d -m 0700 "$d/root/root/.ssh"
	install -m 0600 "$work/test-key.pub" "$d/root/root/.ssh/authorized_keys"
	install -D -m 0755 "$repo/images/aws/boot-test/boot-check.sh" "$d/root/var/lib/boot-test/boot-check.sh"
	if [[ -n "$setup" ]]; then "$setup" "$d/root"; fi

	# The boot's own network namespace, held by the fake IMDS, which serves before systemd starts.
	# shellcheck disable=SC2016 # $0..$3 are the inner shell's arguments
	unshare --net -- bash -c 'ip link set lo up && ip addr add 169.254.169.254/32 dev lo &&
		exec python3 "$0" "$1" "$2" "$3"' "$work/imds.py" "$instance_id" "$region" "$d/imds.log" 2>"$d/imds.err" &
	imds=$!
	track "$imds"
	for _ in {1..100}; do
		if grep -qx ready "$d/imds.log" 2>/dev/null; then break; fi
		sleep 0.05
	done
	netns="$(readlink "/proc/$imds/ns/net")"

	t0=$(now_ms)
	systemd-nspawn --quiet --boot --directory="$d/root" --machine="image-$name" --register=no --keep-unit \
		--network-namespace-path="/proc/$imds/ns/net" --console=passive >"$d/nspawn.log" 2>&1 &
	nspawn=$!
	track "$nspawn"
	# The container's PID 1: the nspawn child that runs systemd, once systemd's manager socket exists.
	tries=$((${manager_wait:-30} * 10))
	for ((i = 0; i < tries; i++)); do
		read -r -a children < <(cat "/proc/$nspawn/task/"*/children 2>/dev/null) || true
		for leader in "${children[@]}"; do
			[[ "$(cat "/proc/$leader/comm" 2>/dev/null)" == systemd ]] && break 2
		done
		leader=""
		sleep 0.1
	done
	if [[ -n "$leader" ]]; then
		track "$leader"
		for ((i = 0; i < tries; i++)); do
			[[ -S "/proc/$leader/root/run/systemd/private" ]] && break
			sleep 0.1
		done
	fi
	check "$name: systemd boots the image (PID 1 ${leader:-not found}, its manager up)" test -S "/proc/${leader:-0}/root/run/systemd/private"

	if [[ -n "$leader" ]]; then
		boot_seconds="$(seconds_since "$t0")"
		t0=$(now_ms)
		nsenter --target "$leader" --all -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
			BOOT_CHECK_BOOT_TIMEOUT="${boot_timeout:-90}" BOOT_CHECK_WAIT="${boot_wait:-30}" bash /var/lib/boot-test/boot-check.sh \
			--out /var/lib/boot-test/report.json --expect-instance-id "$instance_id" --expect-region "$region" \
			--authorized-key "$test_key_line" "${check_args[@]}" >"$d/check.out" 2>&1 || rc=$?
		check_seconds="$(seconds_since "$t0")"
		check "$name: boot-check.sh wrote its report (exit $rc)" test "$rc" = 0 -a -f "$d/root/var/lib/boot-test/report.json"
		cp "$d/root/var/lib/boot-test/report.json" "$work/$name.json" 2>/dev/null || echo '{}' >"$work/$name.json"
		sed 's/^/# /' "$d/check.out"
		if [[ "$rc" != 0 ]] || grep -q 'FAILED' "$d/check.out"; then
			nsenter --target "$leader" --all -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
				journalctl --no-pager -b -p warning 2>&1 | tail -n 20 | sed 's/^/#   journal: /'
		fi
		if [[ -n "$inspect" ]]; then "$inspect" "$leader"; fi
		if [[ "${poweroff_by:-signal}" == systemctl ]]; then
			in_boot "$leader" systemctl poweroff --no-block >/dev/null 2>&1 || true
		else
			# Power off the way systemd takes it from its container manager (SIGRTMIN+4).
			kill -s RTMIN+4 "$leader"
		fi
	fi
	for ((i = 0; i < 300; i++)); do
		gone "$nspawn" && break
		sleep 0.1
	done
	if ! gone "$nspawn"; then
		not_ok "$name: the container powered off within 30 s"
		kill -KILL "${leader:-$nspawn}" "$nspawn" 2>/dev/null || true
	fi
	wait "$nspawn" 2>/dev/null || true
	kill "$imds" 2>/dev/null || true
	wait "$imds" 2>/dev/null || true
	umount "$d/root"

	# Nothing of the boot is left: no process, no mount, no process in its network namespace.
	local left=() p
	for p in "$nspawn" "$imds" ${leader:+"$leader"}; do gone "$p" || left+=("$p"); done
	check "$name: no process of the boot left" test "${#left[@]}" -eq 0
	check "$name: its overlay unmounted" bash -c "! grep -qF ' $d/root ' /proc/self/mountinfo"
	left=()
	for p in /proc/[0-9]*; do
		[[ "$(readlink "$p/ns/net" 2>/dev/null)" != "$netns" ]] || left+=("${p#/proc/}")
	done
	check "$name: no process in its network namespace ($netns), so the namespace is gone" test "${#left[@]}" -eq 0
}

# in_boot LEADER_PID COMMAND...: runs COMMAND inside the booted image (all its namespaces), with a
# clean environment.
in_boot() {
	local leader="$1"
	shift
	nsenter --target "$leader" --all -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}

# expect_platform_skips: where no process may raise its hard limit of open files (no
# CAP_SYS_RESOURCE, as on the sandboxes of this project's CI), a container cannot give Couchbase
# Server 70000: boot-check.sh says so (skipped, naming the ceiling) instead of passing or failing.
expect_platform_skips() {
	if (($(ulimit -Hn) < 70000)) && ! (ulimit -Hn 70000) 2>/dev/null; then
		export EXPECT_SKIPPED=limits-nofile
		echo "# this machine caps open files at $(ulimit -Hn) for every process: limits-nofile is skipped here"
	fi
}

# expect_report NAME [--skipped "CHECK..."] FAILED_CHECKS...: the report of boot NAME has every
# check, in order, with the status this boot must give it: FAILED_CHECKS failed, thp-never and
# swappiness skipped (read-only /sys and /proc/sys in a container), those of expect_platform_skips
# and those given, the others passed.
expect_report() {
	local name="$1" also=""
	shift
	if [[ "${1:-}" == --skipped ]]; then
		also="$2"
		shift 2
	fi
	SKIPPED_TOO="$also" python3 - "$work/$name.json" "$instance_id" "$region" "$@" <<'PY'
import json, os, sys
report, instance_id, region, failed = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4:]
names = ["system-running", "no-failed-units", "dp-agent-active", "agent-healthz", "agent-node-identity",
    "couchbase-enabled", "couchbase-active", "couchbase-uninitialised", "thp-never", "swappiness",
    "limits-nofile", "limits-nproc", "ssh-host-keys-fresh", "machine-id-fresh", "authorized-keys-only-test-key"]
skipped = ["thp-never", "swappiness"] + os.environ.get("EXPECT_SKIPPED", "").split() + os.environ["SKIPPED_TOO"].split()
want = {n: "failed" if n in failed else "skipped" if n in skipped else "passed" for n in names}
got = {c["name"]: c["status"] for c in report.get("checks", [])}
problems = []
if [c["name"] for c in report.get("checks", [])] != names:
    problems.append(f"checks {list(got)}")
problems += [f"{n}: {got.get(n)}, want {s}" for n, s in want.items() if got.get(n) != s]
if report.get("passed") is not (not failed):
    problems.append(f"passed: {report.get('passed')}")
if (report.get("schemaVersion"), report.get("instanceId"), report.get("region")) != (1, instance_id, region):
    problems.append(f"header {report}")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY
}

# tap_end: the plan line and the summary; exit 1 when a check failed.
tap_end() {
	echo "1..$count"
	if ((failures > 0)); then
		echo "# $failures of $count failed"
		exit 1
	fi
	echo "# all $count passed"
}
