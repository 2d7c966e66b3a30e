#!/bin/sh
# private_dev_log.sh SOCKET CMD [ARG...]
#
# Runs CMD in a private mount namespace whose /dev is a fresh tmpfs holding
# null, zero, random and urandom (bind-mounted from the real /dev) and a log
# symlink to SOCKET: the programs' syslog lines (glibc writes to /dev/log)
# reach the test's collector, and the machine's /dev is untouched. Root only.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 SOCKET CMD [ARG...]" >&2; exit 2; }
exec unshare --mount --propagation private -- sh -c '
	set -eu
	sock=$1
	shift
	real=$(mktemp -d)
	mount --bind /dev "$real"
	mount -t tmpfs -o mode=0755,size=64k farout-dev /dev
	for n in null zero random urandom; do
		: >"/dev/$n"
		mount --bind "$real/$n" "/dev/$n"
	done
	ln -s "$sock" /dev/log
	umount -l "$real"
	rmdir "$real"
	exec "$@"' sh "$@"
