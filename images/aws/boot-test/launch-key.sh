#!/usr/bin/env bash
# Prints the public key of the key pair this instance was launched with, as EC2 publishes it in
# the instance's own metadata (IMDSv2: a session token first, then
# /latest/meta-data/public-keys/0/openssh-key). The boot test passes it to boot-check.sh as the
# only key the booted image may authorise: Packer does not know the public half of the temporary
# key pair EC2 made for it (build.SSHPublicKey is empty then).
#
# Uses curl where the image has it, else plain HTTP through bash's /dev/tcp (a Debian minbase
# root has no curl). Only ever the link-local metadata address of the instance it runs on.
# Exit: 0 with the key on stdout; 1 when the metadata service does not give it.
# Env (tests only): LAUNCH_KEY_IMDS=host:port instead of 169.254.169.254:80.
set -o errexit -o nounset -o pipefail

readonly IMDS="${LAUNCH_KEY_IMDS:-169.254.169.254:80}"

# get METHOD PATH HEADER: the body of a 200 answer on stdout; fails on any other answer.
get() {
	local method="$1" path="$2" header="$3" raw head
	if command -v curl >/dev/null; then
		curl -fsS --max-time 10 -X "$method" -H "$header" "http://$IMDS$path"
		return
	fi
	# shellcheck disable=SC2016 # expanded by the inner bash, from its arguments
	raw="$(timeout 10 bash -c 'exec 3<>"/dev/tcp/${0%:*}/${0##*:}" &&
		printf "%s %s HTTP/1.0\r\nHost: %s\r\n%s\r\nContent-Length: 0\r\n\r\n" "$1" "$2" "${0%:*}" "$3" >&3 &&
		cat <&3' "$IMDS" "$method" "$path" "$header")"
	head="${raw%%$'\r\n'*}"
	[[ "$head" =~ ^HTTP/1\.[01]\ 200 ]] || {
		printf 'launch-key: %s %s: %s\n' "$method" "$path" "${head:-no answer}" >&2
		return 1
	}
	printf '%s' "${raw#*$'\r\n\r\n'}"
}

token="$(get PUT /latest/api/token 'X-aws-ec2-metadata-token-ttl-seconds: 300')"
key="$(get GET /latest/meta-data/public-keys/0/openssh-key "X-aws-ec2-metadata-token: $token")"
[[ -n "$key" ]] || {
	echo "launch-key: the metadata service gave an empty key" >&2
	exit 1
}
printf '%s\n' "$key"
