#!/usr/bin/env bash
# PID 1 of one booted instance. scripts/local/hostd.ts (through boot.ts) starts it in fresh namespaces:
#   unshare --mount --pid --fork --kill-child --propagation private -- bash boot-init.sh ...
# It mounts the instance's root (an overlayfs: the image's layers below, read-only, this instance's
# own fresh upper dir on top), moves itself into the instance's own cgroup, and becomes
# systemd-nspawn, which boots the image's own systemd as PID 1 of the container, in a network
# namespace of its own that has nothing but a loopback (--private-network).
# Everything it mounts lives in the private mount namespace and vanishes with it; a tmpfs on /run
# keeps nspawn's lock and propagation folders (/run/systemd/nspawn) off the host too. Killing this
# process (the namespace's PID 1) ends every process of the instance, the container included.
#
# Usage: boot-init.sh LOWERDIR UPPER WORK MERGED MACHINE CGROUP
#   LOWERDIR  overlayfs lowerdir= value: the image's layers, topmost first, joined by ':'
#   MACHINE   the container's machine and host name (the instance id)
#   CGROUP    name of the cgroup made for the instance under each cgroup hierarchy that has
#             cgroup.procs at its root (hostd removes it after the instance stops)
set -o errexit -o nounset -o pipefail

if (($# != 6)); then
	echo "usage: $0 LOWERDIR UPPER WORK MERGED MACHINE CGROUP" >&2
	exit 2
fi
lowerdir="$1" upper="$2" work="$3" merged="$4" machine="$5" cgroup="$6"

# Refuse to touch the host's mounts: this only makes sense as PID 1 of a private namespace.
if [[ "$$" != 1 ]]; then
	echo "boot-init: must run as PID 1 of its own PID namespace (through unshare)" >&2
	exit 1
fi

mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mount -t overlay overlay -o "lowerdir=$lowerdir,upperdir=$upper,workdir=$work" "$merged"

# nspawn makes its payload and supervisor cgroups below the cgroup it runs in (--keep-unit): give
# each instance its own, so two containers never share one and hostd can remove it afterwards.
for hierarchy in /sys/fs/cgroup /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
	[[ -f "$hierarchy/cgroup.procs" ]] || continue
	mkdir -p "$hierarchy/$cgroup"
	echo "$$" >"$hierarchy/$cgroup/cgroup.procs"
done

# --register=no --keep-unit: the host has no systemd-machined and no system bus.
# --resolv-conf, --timezone, --link-journal off: the instance's files are the image's own, and
# nothing of the container lands in the host's /var/log/journal.
# --rlimit NOFILE 1024:524288: what systemd as PID 1 of a VM gives itself (its own default), so a
# unit's LimitNOFILE is limited as on an instance, not by whatever this host's hostd runs with
# (nspawn drops CAP_SYS_RESOURCE: the container's systemd cannot raise its own hard limit).
exec systemd-nspawn \
	--directory="$merged" \
	--boot \
	--private-network \
	--register=no \
	--keep-unit \
	--machine="$machine" \
	--console=pipe \
	--resolv-conf=off \
	--timezone=off \
	--link-journal=no \
	--rlimit=RLIMIT_NOFILE=1024:524288 \
	-- systemd.show_status=true
