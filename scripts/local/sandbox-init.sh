#!/usr/bin/env bash
# PID 1 of one sandbox build host. scripts/local/hostd.ts starts it in fresh namespaces:
#   unshare --mount --pid --net --fork --kill-child --propagation private -- bash sandbox-init.sh ...
# It mounts the sandbox's root (an overlayfs: the shared, read-only Debian root below, this
# sandbox's own upper dir on top) with its kernel filesystems, brings up the loopback of its own
# network namespace (the only interface there: no route, no link to the host), then becomes the
# sandbox's sshd on that loopback. hostd reaches it from the host's 127.0.0.1:<sshPort> through a
# helper entered into the namespace (scripts/local/netns.ts), as it reaches a booted instance.
# Everything it mounts lives in the private mount namespace and vanishes with it: the host keeps
# no mount, and killing this process (the namespace's PID 1) ends every process of the sandbox;
# the network namespace goes with its last process.
#
# Usage: sandbox-init.sh LOWER UPPER WORK MERGED PORT   (PORT: sshd's, inside the namespace)
set -o errexit -o nounset -o pipefail

if (($# != 5)); then
	echo "usage: $0 LOWER UPPER WORK MERGED PORT" >&2
	exit 2
fi
lower="$1" upper="$2" work="$3" merged="$4" port="$5"

# Refuse to touch the host's mounts: this only makes sense as PID 1 of a private namespace.
if [[ "$$" != 1 ]]; then
	echo "sandbox-init: must run as PID 1 of its own PID namespace (through unshare)" >&2
	exit 1
fi

# Refuse to run where provisioning could reach anything: the network namespace must be a new one,
# with nothing but a loopback (what `unshare --net` makes).
links="$(tail -n +3 /proc/self/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')"
if [[ "$links" != "lo " ]]; then
	echo "sandbox-init: the network namespace has interfaces other than lo ($links): must run in a fresh one (unshare --net)" >&2
	exit 1
fi
ip link set lo up

mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$merged"
mount -t proc proc "$merged/proc"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$merged/tmp"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$merged/run"
mount --rbind /dev "$merged/dev"
mkdir -p "$merged/run/sshd" "$merged/run/hostd"

# What EC2 does for a new instance: the key pair named at launch may log in as the image's user.
# hostd writes that public key into /root/.ssh/authorized_keys once it sees the instance running;
# a client that connects before that moment waits here (up to 10 s) instead of failing its first
# attempt (Packer would then sleep 5 s before retrying). Lives on the /run tmpfs, so nothing of the
# host's machinery lands in the image's files.
cat >"$merged/run/hostd/authorized-keys" <<'KEYS'
#!/bin/sh
# AuthorizedKeysCommand of the sandbox's sshd: prints root's keys once hostd has written them.
[ "$1" = root ] || exit 0
i=0
while [ ! -s /root/.ssh/authorized_keys ] && [ "$i" -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
[ -s /root/.ssh/authorized_keys ] && cat /root/.ssh/authorized_keys
exit 0
KEYS
chmod 0755 "$merged/run/hostd/authorized-keys"

exec chroot "$merged" /usr/sbin/sshd -D -e -p "$port" \
	-o ListenAddress=127.0.0.1 \
	-o PermitRootLogin=prohibit-password \
	-o PasswordAuthentication=no \
	-o AuthorizedKeysCommand="/run/hostd/authorized-keys %u" \
	-o AuthorizedKeysCommandUser=root
