#!/usr/bin/env bash
# Puts every pinned tool (tools/versions.env) where the project's scripts find it:
#   pulumi, pulumi-resource-pulumi-nodejs, packer (+ amazon plugin), moto_server -> bin/
# Tools are built or installed once into a cache outside the repo
#   ${XDG_CACHE_HOME:-~/.cache}/couchbase-images/tools/<name>-<version>/
# and a tool already on PATH at the pinned version is used as it is (vendor installs skip every build).
# Idempotent: a warm run only checks and relinks. Ends with a table of what it used.
set -o errexit -o nounset -o pipefail

# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=scripts/ensure-installed.sh
source "$PROJECT_ROOT/scripts/ensure-installed.sh"
# shellcheck source=tools/versions.env
source "$PROJECT_ROOT/tools/versions.env"

TOOLS="$PROJECT_CACHE/tools"
mkdir -p "$TOOLS" "$PROJECT_BIN" "$PACKER_PLUGIN_PATH"
declare -a REPORT=()

log() { printf 'bootstrap: %s\n' "$*" >&2; }
die() {
	printf 'bootstrap: error: %s\n' "$*" >&2
	exit 1
}
report() { REPORT+=("$1|$2|$3"); }

# PATH without our bin/, to find a vendor install.
outside_path() {
	local IFS=: out="" p
	for p in $PATH; do
		[[ "$p" == "$PROJECT_BIN" || "$p" == "$PROJECT_ROOT/node_modules/.bin" ]] && continue
		out="${out:+$out:}$p"
	done
	printf '%s' "$out"
}

goarch() {
	case "$(uname -m)" in
	x86_64) echo amd64 ;;
	aarch64 | arm64) echo arm64 ;;
	*) die "unsupported machine $(uname -m)" ;;
	esac
}

# version_ge A B: true when Go version A >= B (dotted numbers).
version_ge() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]; }

# --- Go (the machine's own) ------------------------------------------------------------------
need_go() {
	command -v go >/dev/null || die "Go is required (the agent and the tool builds need it): install Go >= $1 from https://go.dev/dl/"
	local have
	have="$(go env GOVERSION)"
	have="${have#go}"
	version_ge "$have" "$1" || die "Go $have is older than $1, which $2 needs: install Go >= $1 from https://go.dev/dl/"
}
go_required_by() { awk '$1 == "go" { print $2; exit }' "$1"; }

check_go() {
	local need="1.22" f
	for f in "$PROJECT_ROOT"/agent/go.mod "$PROJECT_ROOT"/tools/*/go.mod; do
		[[ -f "$f" ]] || continue
		local v
		v="$(go_required_by "$f")"
		version_ge "$v" "$need" && need="$v"
	done
	need_go "$need" "the go.mod files under agent/ and tools/"
	report go "$(go env GOVERSION)" "found on PATH"
}

# go_build_tool NAME VERSION PKG [LDFLAGS]: builds tools/NAME (wrapper module) into the cache.
go_build_tool() {
	local name="$1" version="$2" pkg="$3" ldflags="${4:-}"
	local dest="$TOOLS/$name-$version"
	mkdir -p "$dest"
	log "building $name $version from the Go module proxy (cold: a few minutes)..."
	(
		cd "$PROJECT_ROOT/tools/$name"
		CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$dest/$name.tmp" "$pkg"
	)
	mv "$dest/$name.tmp" "$dest/$name"
}

# --- apt packages ------------------------------------------------------------------------------
ensure_apt() {
	local missing=() p
	for p in $APT_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if ((${#missing[@]} == 0)); then
		report apt "$(echo "$APT_PACKAGES" | wc -w) packages" "found installed"
		return
	fi
	[[ "$(id -u)" == 0 ]] || die "missing Debian packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}"
	log "installing Debian packages: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
	report apt "${missing[*]}" "installed (apt)"
}

# --- arm64 under user-mode emulation (qemu-user-static through binfmt_misc) ----------------------
# On an amd64 machine the local arm64 root (scripts/local/rootfs.sh --arch arm64) and its boot test
# (test/images/boot-arm64.sh) run aarch64 binaries through qemu-aarch64, registered with the
# kernel's binfmt_misc. Debian's qemu-user-static ships the rule (/usr/lib/binfmt.d, flag F: the
# kernel opens the interpreter once, so it works inside chroots and containers too), but with no
# systemd as PID 1 nothing registers it. This installs the package without its recommends (no
# binfmt-support, no systemd), mounts binfmt_misc if it is not mounted, registers the one rule if
# it is absent, and changes nothing else: a rule already registered is used as it is, or refused
# with the fix when it cannot serve (disabled, or without flag F). Unregister with
# `echo -1 > /proc/sys/fs/binfmt_misc/qemu-aarch64`.
# BOOTSTRAP_BINFMT_DIR and BOOTSTRAP_QEMU_RULE: the kernel's folder and the package's rule file
# (test/unit/bootstrap.test.ts points them at a scratch folder).
BOOTSTRAP_BINFMT_DIR="${BOOTSTRAP_BINFMT_DIR:-/proc/sys/fs/binfmt_misc}"
BOOTSTRAP_QEMU_RULE="${BOOTSTRAP_QEMU_RULE:-/usr/lib/binfmt.d/qemu-aarch64.conf}"

ensure_arm64_emulation() {
	local dir="$BOOTSTRAP_BINFMT_DIR" conf="$BOOTSTRAP_QEMU_RULE" did="" rule entry interpreter flags
	if [[ "$(goarch)" == arm64 ]]; then
		report qemu-aarch64 "not needed" "this machine is arm64"
		return
	fi
	if ! dpkg-query -W -f='${Status}' qemu-user-static 2>/dev/null | grep -q 'install ok installed'; then
		[[ "$(id -u)" == 0 ]] || die "qemu-user-static is missing (local arm64 roots and boots run under it); run: sudo apt-get install -y --no-install-recommends qemu-user-static, then sudo bash scripts/bootstrap.sh to register it"
		log "installing qemu-user-static (arm64 under user-mode emulation), without its recommends"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static >&2
		did="${did:+$did; }installed qemu-user-static (apt)"
	fi
	[[ -r "$conf" ]] || die "$conf is missing although qemu-user-static is installed: reinstall it (apt-get install --reinstall qemu-user-static)"
	if ! mountpoint -q "$dir"; then
		[[ "$(id -u)" == 0 ]] || die "binfmt_misc is not mounted on $dir; run: sudo bash scripts/bootstrap.sh"
		mount -t binfmt_misc binfmt_misc "$dir" ||
			die "could not mount binfmt_misc on $dir (a kernel without binfmt_misc, or a container that may not mount it): arm64 cannot run on this machine"
		log "mounted binfmt_misc on $dir"
		did="${did:+$did; }mounted binfmt_misc on $dir"
	fi
	entry="$dir/qemu-aarch64"
	if [[ ! -e "$entry" ]]; then
		[[ "$(id -u)" == 0 ]] || die "qemu-aarch64 is not registered with binfmt_misc; run: sudo bash scripts/bootstrap.sh"
		rule="$(grep -m 1 '^:qemu-aarch64:' "$conf" || true)"
		[[ -n "$rule" ]] || die "$conf holds no :qemu-aarch64: rule line"
		printf '%s\n' "$rule" >"$dir/register" || die "the kernel refused the rule of $conf (written to $dir/register)"
		log "registered qemu-aarch64 with binfmt_misc (the rule of $conf)"
		did="${did:+$did; }registered qemu-aarch64 ($conf)"
	fi
	[[ -r "$entry" ]] || die "qemu-aarch64 is still not registered in $dir after writing its rule"
	grep -qx enabled "$entry" || die "qemu-aarch64 is registered but disabled; run: echo 1 > $entry"
	interpreter="$(sed -n 's/^interpreter //p' "$entry")"
	flags="$(sed -n 's/^flags: *//p' "$entry")"
	[[ "$flags" == *F* ]] || die "qemu-aarch64 is registered without flag F (flags '$flags', interpreter $interpreter), so it cannot run inside a root or a container; replace it: echo -1 > $entry && sudo bash scripts/bootstrap.sh"
	report qemu-aarch64 "$(dpkg-query -W -f='${Version}' qemu-user-static) (flags $flags)" "${did:-found registered} ($interpreter)"
}

# --- npm ---------------------------------------------------------------------------------------
# The installed @pulumi/pulumi version, by absolute path (a bare require resolves from the caller's cwd).
pulumi_sdk_version() { node -p "require('$PROJECT_ROOT/node_modules/@pulumi/pulumi/package.json').version"; }

ensure_npm() {
	if node_modules_current; then
		report node_modules "$(pulumi_sdk_version 2>/dev/null || echo '?') (@pulumi/pulumi)" "found installed"
		return
	fi
	ensure_node_modules
	report node_modules "$(pulumi_sdk_version) (@pulumi/pulumi)" "installed (npm ci)"
}

# link_pinned_tool NAME CACHED MATCHES BUILD...: links bin/NAME to the pinned tool: a NAME on PATH
# (outside bin/) for which the function MATCHES succeeds, else the cached build CACHED, else what
# the command BUILD... builds into CACHED. Sets LINKED_HOW for the report.
link_pinned_tool() {
	local name="$1" cached="$2" matches="$3" found
	shift 3
	found="$(PATH="$(outside_path)" command -v "$name" || true)"
	if [[ -n "$found" ]] && "$matches" "$found"; then
		ln -sfn "$found" "$PROJECT_BIN/$name"
		LINKED_HOW="found on PATH ($found)"
	elif [[ -x "$cached" ]]; then
		ln -sfn "$cached" "$PROJECT_BIN/$name"
		LINKED_HOW="cache hit"
	else
		"$@"
		ln -sfn "$cached" "$PROJECT_BIN/$name"
		LINKED_HOW="built"
	fi
}

# --- pulumi ------------------------------------------------------------------------------------
pulumi_matches() { [[ "$("$1" version 2>/dev/null)" == "$PULUMI_VERSION" ]]; }

ensure_pulumi() {
	link_pinned_tool pulumi "$TOOLS/pulumi-$PULUMI_VERSION/pulumi" pulumi_matches \
		go_build_tool pulumi "$PULUMI_VERSION" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
		"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
	ensure_pulumi_provider_host
	report pulumi "$("$PROJECT_BIN/pulumi" version)" "$LINKED_HOW"
	report pulumi-resource-pulumi-nodejs "$(pulumi_sdk_version)" "$HOST_HOW"
}

# The dynamic-provider host: a small script at the root of @pulumi/pulumi that resolves the host
# from its working directory (the project root). The CLI finds it without a "using ... from $PATH"
# warning on every run only beside the real pulumi binary (bundled plugins). A vendor install ships
# it there. Otherwise it is copied beside the cache's pulumi, and never beside a pulumi outside the
# cache (such as /usr/local/bin): the bootstrap writes only into the repository and the cache. A
# pulumi found on PATH without the host beside it is therefore used as a copy in the cache, at the
# same pinned version. Sets HOST_HOW for the report (and LINKED_HOW when bin/pulumi moves).
ensure_pulumi_provider_host() {
	local host="$PROJECT_ROOT/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
	local cache_dir="$TOOLS/pulumi-$PULUMI_VERSION" real real_dir
	real="$(readlink -f "$PROJECT_BIN/pulumi")"
	real_dir="$(dirname "$real")"
	[[ -f "$host" ]] || die "$host is missing: run npm ci"
	rm -f "$PROJECT_BIN/pulumi-resource-pulumi-nodejs"
	if [[ -x "$real_dir/pulumi-resource-pulumi-nodejs" ]]; then
		HOST_HOW="beside pulumi ($real_dir)"
		return
	fi
	if [[ "$real_dir" != "$cache_dir" ]]; then
		if [[ -x "$cache_dir/pulumi" ]] && pulumi_matches "$cache_dir/pulumi"; then
			LINKED_HOW="$LINKED_HOW; used from the cache, which has the provider host beside it"
		else
			mkdir -p "$cache_dir"
			cp "$real" "$cache_dir/pulumi.tmp"
			mv "$cache_dir/pulumi.tmp" "$cache_dir/pulumi"
			LINKED_HOW="$LINKED_HOW; copied into the cache ($real has no provider host beside it)"
		fi
		ln -sfn "$cache_dir/pulumi" "$PROJECT_BIN/pulumi"
	fi
	install -m 0755 "$host" "$cache_dir/pulumi-resource-pulumi-nodejs"
	HOST_HOW="copied beside pulumi ($cache_dir)"
}

# --- packer + amazon plugin ----------------------------------------------------------------------
packer_matches() { "$1" version 2>/dev/null | head -n1 | grep -qx "Packer v$PACKER_VERSION"; }

ensure_packer() {
	local how
	link_pinned_tool packer "$TOOLS/packer-$PACKER_VERSION/packer" packer_matches \
		go_build_tool packer "$PACKER_VERSION" github.com/hashicorp/packer
	report packer "$("$PROJECT_BIN/packer" version | head -n1)" "$LINKED_HOW"

	local arch plugin_name installed
	arch="$(goarch)"
	plugin_name="packer-plugin-amazon_v${PACKER_PLUGIN_AMAZON_VERSION}_x5.0_linux_${arch}"
	installed="$PACKER_PLUGIN_PATH/github.com/hashicorp/amazon/$plugin_name"
	if [[ -x "$installed" ]]; then
		how="cache hit"
	else
		local pcached="$TOOLS/packer-plugin-amazon-$PACKER_PLUGIN_AMAZON_VERSION/packer-plugin-amazon"
		if [[ -x "$pcached" ]]; then
			how="cache hit (reinstalled)"
		else
			go_build_tool packer-plugin-amazon "$PACKER_PLUGIN_AMAZON_VERSION" github.com/hashicorp/packer-plugin-amazon
			how="built"
		fi
		"$PROJECT_BIN/packer" plugins install --path "$pcached" github.com/hashicorp/amazon >&2
	fi
	report packer-plugin-amazon "v$PACKER_PLUGIN_AMAZON_VERSION ($PACKER_PLUGIN_PATH)" "$how"
}

# --- moto ------------------------------------------------------------------------------------------
# moto_version VENV: the installed moto's version. Importing moto takes a third of a second, so
# ensure_moto asks once, for both the check and the report.
moto_version() { "$1/bin/python" -c 'import moto; print(moto.__version__)'; }

ensure_moto() {
	local venv="$TOOLS/moto-$MOTO_VERSION/venv" how have=""
	[[ -x "$venv/bin/moto_server" ]] && have="$(moto_version "$venv" 2>/dev/null || true)"
	if [[ "$have" == "$MOTO_VERSION" ]]; then
		how="cache hit"
	else
		command -v python3 >/dev/null || die "Python 3 is required for moto (the local EC2 emulator)"
		log "installing moto[server]==$MOTO_VERSION into $venv..."
		rm -rf "$venv"
		python3 -m venv "$venv"
		"$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
		how="installed (pip)"
		have="$(moto_version "$venv")"
	fi
	ln -sfn "$venv/bin/moto_server" "$PROJECT_BIN/moto_server"
	report moto_server "$have" "$how"
}

main() {
	local t0=$SECONDS
	ensure_apt
	ensure_arm64_emulation
	check_go
	ensure_npm
	ensure_pulumi
	ensure_packer
	ensure_moto
	{
		printf '%-30s %-45s %s\n' TOOL VERSION SOURCE
		local r
		for r in "${REPORT[@]}"; do
			IFS='|' read -r a b c <<<"$r"
			printf '%-30s %-45s %s\n' "$a" "$b" "$c"
		done
		printf 'bootstrap: done in %ss; tools linked in %s\n' "$((SECONDS - t0))" "$PROJECT_BIN"
	} >&2
}

# Sourcing defines the functions only (test/unit/bootstrap.test.ts runs one in a scratch copy).
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	main "$@"
fi
