#!/usr/bin/env bash
# CI for the image definition (called by scripts/test.sh): lint, template checks with the real
# Packer and amazon plugin, the provisioning script tests against a Debian root, then the image
# root booted with systemd-nspawn and checked by images/aws/boot-test/boot-check.sh, for amd64 and
# for arm64 (under qemu-user). Offline; about a minute warm (the Debian roots are built once: amd64
# ~75 s cold, arm64 ~3 min).
#
# It lives here, beside the image tests it runs, not in the template folder images/aws/: every file
# there counts for the image's fingerprint unless images/aws/.imageignore leaves it out, and this
# script never reaches the image.
set -o errexit -o nounset -o pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
# shellcheck source=scripts/env.sh
source scripts/env.sh

template=images/aws/couchbase-cloud.pkr.hcl
started=$SECONDS
step() { printf '\n== images/aws: %s\n' "$*"; }
fail() {
	printf 'test/images/ci.sh: FAIL: %s\n' "$*" >&2
	exit 1
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

shell_files=(images/aws/scripts/*.sh images/aws/boot-test/*.sh scripts/local/rootfs.sh
	scripts/local/standin-couchbase.sh test/images/*.sh)

step "shellcheck"
shellcheck -x "${shell_files[@]}"

step "shfmt -d"
shfmt -d "${shell_files[@]}"

step "strict mode and download rules in provisioning scripts"
for f in images/aws/scripts/*.sh; do
	grep -qx 'set -o errexit -o nounset -o pipefail' "$f" || fail "$f: no strict mode line"
done
if grep -nE 'apt-key|trusted=yes|\| *(ba)?sh\b' images/aws/scripts/*.sh | grep -v '^[^:]*:[0-9]*:#'; then
	fail "apt-key, trusted=yes or a pipe into a shell in the provisioning scripts"
fi

step "packer fmt -check"
packer fmt -check -diff -recursive images/aws

step "template policy"
# Settings only: comments, descriptions and validations (which mention 0.0.0.0/0 to reject it) removed.
settings="$(grep -v -E '^ *#|^ *(description|error_message|condition) *=' "$template")"
for forbidden in ami_regions force_deregister force_delete_snapshot 0.0.0.0/0 ::/0; do
	if [[ "$settings" == *"$forbidden"* ]]; then
		fail "$template must not use $forbidden"
	fi
done
for required in 'http_tokens                 = "required"' 'imds_support = "v2.0"' 'encrypted             = true' \
	'volume_type           = "gp3"' 'post-processor "manifest"' 'run_volume_tags = local.tags' \
	'snapshot_tags   = local.tags' 'run_tags        = local.tags' 'skip_ami_run_tags = var.emulator'; do
	grep -qF -- "$required" "$template" || fail "$template lacks: $required"
done
# The first provisioner waits for cloud-init: everything else would race the instance's first boot.
first_step="$(sed -n '/^build {/,/^}/{/^ *\(script\|inline\) *=/p}' "$template" | head -n 1)"
[[ "$first_step" == *'/scripts/wait-for-cloud-init.sh"' ]] ||
	fail "$template: the first provisioner must run scripts/wait-for-cloud-init.sh, not: $first_step"

template_version="$(sed -n '/^variable "couchbase_version"/,/^}/s/^ *default *= *"\(.*\)"$/\1/p' "$template")"
standin_version="$(sed -n 's/^readonly DEFAULT_VERSION=//p' scripts/local/standin-couchbase.sh)"
[[ "$template_version" == "$standin_version" ]] ||
	fail "couchbase_version default $template_version != stand-in default $standin_version"

step "aws_polling: the plugin's waits are set in the template, whatever AWS_MAX_ATTEMPTS says"
# packer-plugin-amazon 1.8.2 (docs "aws_polling"; common/state.go): with both values set, every
# wait (instance running or stopped, image available, the encryption copy) gives up after
# max_attempts x delay_seconds, and they win over AWS_MAX_ATTEMPTS / AWS_POLL_DELAY_SECONDS from
# the environment; without them AWS_MAX_ATTEMPTS=N alone means N x 2 s. An image or its
# encrypted copy takes 7-15 minutes: at least 30 minutes per wait. delay_seconds is the waiters'
# minimum delay and may not exceed the SDK's 120 s maximum (every wait would fail).
# The boot test's template launches an instance with the same plugin, so the same holds there.
readonly min_wait_seconds=1800
for tpl in "$template" images/aws/boot-test/boot-test.pkr.hcl; do
	polling="$(sed -n '/^source "amazon-ebs" "[^"]*" {/,/^}/{/^  aws_polling {/,/^  }/p}' "$tpl")"
	delay="$(sed -n 's/^ *delay_seconds *= *\([0-9][0-9]*\) *$/\1/p' <<<"$polling")"
	attempts="$(sed -n 's/^ *max_attempts *= *\([0-9][0-9]*\) *$/\1/p' <<<"$polling")"
	[[ -n "$delay" && -n "$attempts" ]] ||
		fail "$tpl: the amazon-ebs source needs aws_polling { delay_seconds = N, max_attempts = N } (numbers)"
	((delay * attempts >= min_wait_seconds)) ||
		fail "$tpl: aws_polling: max_attempts x delay_seconds = $((delay * attempts)) s, less than $min_wait_seconds s"
	((delay >= 1 && delay <= 120)) || fail "$tpl: aws_polling: delay_seconds = $delay, must be 1 to 120"
	echo "aws_polling ($tpl): each wait up to $((delay * attempts)) s (>= $min_wait_seconds s), polling from every $delay s"
done

step "packer validate ($(packer version | head -n 1), amazon plugin from $PACKER_PLUGIN_PATH)"
printf 'dp-agent placeholder for packer validate\n' | gzip -n >"$tmp/dp-agent.gz"
agent_sha="$(sha256sum "$tmp/dp-agent.gz" | cut -d' ' -f1)"
unit_args=()
if [[ ! -f agent/dp-agent.service ]]; then
	printf '[Service]\nExecStart=/usr/local/bin/dp-agent\n' >"$tmp/dp-agent.service"
	unit_args=(-var "agent_unit=$tmp/dp-agent.service")
fi
mkdir -p "$tmp/packages"
common=(-var "agent_artifact=$tmp/dp-agent.gz" -var "agent_sha256=$agent_sha" "${unit_args[@]}")

echo "-- AWS defaults (download mode, as the program passes it: the package's URL and sha256)"
packer validate "${common[@]}" "$template"
packer validate "${common[@]}" -var couchbase_package_source=download \
	-var couchbase_package_url=https://packages.couchbase.com/releases/8.0.0/couchbase-server-enterprise_8.0.0-linux_amd64.deb \
	-var couchbase_package_sha256=5cf4f59906fa378b42ea58c3268febe222a1723387d472a853c6a0e4542df0e0 "$template"

echo "-- repository mode"
packer validate "${common[@]}" -var couchbase_package_source=repository "$template"

echo "-- local emulator (moto + sandbox sshd, local package folder, tags)"
packer validate "${common[@]}" \
	-var emulator=true -var ec2_endpoint=http://127.0.0.1:5000 -var region=us-east-1 \
	-var ssh_host=127.0.0.1 -var ssh_port=2222 -var ssh_username=root \
	-var 'ssh_cidrs=["127.0.0.1/32"]' -var "couchbase_package_source=$tmp/packages" \
	-var 'source_ami_name_filter=ubuntu/images/*ubuntu-xenial-16.04-amd64-server-*' \
	-var image_name=couchbase-enterprise-8.0.0-local-0123abcd -var temporary_key_pair_name=packer-local-0123abcd \
	-var 'tags={Project="couchbase-images",Stack="local",BuildId="0123abcd"}' \
	-var "manifest_path=$tmp/manifest.json" "$template"

echo "-- explicit source_ami, community edition, KMS key, subnet"
packer validate "${common[@]}" -var source_ami=ami-0123456789abcdef0 -var couchbase_edition=community \
	-var kms_key_id=alias/images -var subnet_id=subnet-0abc -var vpc_id=vpc-0abc "$template"

# Each must be rejected by the variable validations.
rejects=(
	'ssh_cidrs=["0.0.0.0/0"]'
	'ssh_cidrs=["::/0"]'
	'ssh_cidrs=["not-a-cidr"]'
	'couchbase_version=8.0'
	'couchbase_edition=developer'
	'agent_sha256=abc'
	'source_ami=ubuntu'
	'couchbase_release_sha256=xyz'
	'couchbase_package_sha256=xyz'
	'couchbase_package_url=http://packages.couchbase.com/releases/8.0.0/couchbase-server-enterprise_8.0.0-linux_amd64.deb'
	'ssh_port=70000'
)
for bad in "${rejects[@]}"; do
	if packer validate "${common[@]}" -var "$bad" "$template" >"$tmp/out" 2>&1; then
		fail "packer validate accepted $bad"
	fi
	grep -q 'Invalid value for cmd variable' "$tmp/out" || {
		cat "$tmp/out" >&2
		fail "packer validate rejected $bad for another reason than its variable validation"
	}
	echo "rejected as expected: $bad"
done

step "the cached Debian root: a cold build exits 0, a second call is a cache hit"
bash test/images/rootfs-cache.sh

step "provisioning scripts against a Debian root"
bash test/images/provisioners.sh

step "install-couchbase repository mode, offline (stand-in couchbase-release, throwaway keys)"
bash test/images/couchbase-repository.sh

step "install-couchbase download mode, offline (stand-in package from a loopback HTTP server in the test's namespace)"
bash test/images/couchbase-download.sh

step "first boot: waiting for cloud-init (stand-ins) and for apt's locks held by another process"
bash test/images/first-boot.sh

step "the stand-in Couchbase REST server (scripts/local/standin-couchbase/): gofmt, go vet, go test"
(
	cd scripts/local/standin-couchbase
	unformatted="$(gofmt -l .)"
	[[ -z "$unformatted" ]] || fail "gofmt: $unformatted"
	GOFLAGS=-mod=readonly GOTOOLCHAIN=local go vet ./...
	GOFLAGS=-mod=readonly GOTOOLCHAIN=local go test -count=1 ./...
)

step "boot-check.sh without a boot: escaping, key parsing, limits, command line, report"
bash test/images/boot-check-unit.sh

step "the image booted: systemd-nspawn, a fake IMDSv2 in its own network namespace, boot-check.sh inside"
boot_started=$SECONDS
bash test/images/boot.sh
echo "boot test: $((SECONDS - boot_started)) s"

step "the arm64 image booted under user-mode emulation (qemu-aarch64 through binfmt_misc, which scripts/bootstrap.sh registers; skipped, saying so, where it is not)"
boot_started=$SECONDS
bash test/images/boot-arm64.sh
echo "arm64 boot test: $((SECONDS - boot_started)) s"

printf '\n== images/aws: all checks passed in %ds\n' "$((SECONDS - started))"
