#!/bin/sh
# /init of the cloudlet test guest: PID 1 of a busybox initramfs (build.sh copies this file in).
#
# It boots just far enough for cloudlet's end-to-end tests: virtio drivers, a DHCP lease on eth0, a NoCloud
# seed (hostname, ssh keys, a user-data script) or, without a seed, the same from the metadata service at
# 169.254.169.254, an HTTP server on port 80, and fixed markers on the serial console. The same file is
# udhcpc's event script (udhcpc -s /init), so all guest behaviour lives here.
#
# The metadata service is asked only on a network that announces it: one whose DHCP lease routes
# 169.254.169.254/32 (option 121), as every cloudlet network's does. Elsewhere (QEMU's user network in
# the package tests) the guest never sends a byte to 169.254.169.254. On such a network the guest also
# phones home (POST /cloudlet/ready) just before its READY marker, seed or not.
#
# Readiness on the virtio-serial port org.cloudlet.ready (the daemon answers a line READY with OK once it has
# recorded it): with cloudlet.ready=port on the kernel command line the guest says READY there first and waits
# up to 10 s for the answer (CLOUDLET-GUEST-PORT), so the port is the source the daemon records; without
# it, the guest says READY there silently after its READY marker, so phone-home or the marker came first.
# `/init ready-port` (e.g. from the command channel) says it again and prints the answer.
#
# Markers, one line each, in this order:
#   CLOUDLET-GUEST-BOOT kernel=<release>
#   CLOUDLET-GUEST-BLOCK boot=<iso|unknown> <dev>=<bytes>...   (the block devices it sees, e.g. vda=1073741824
#                                                 sr0=<ISO bytes>, or sr0=0 for an empty drive; boot=iso when
#                                                 the ISO build's boot loader (from a CD, or from a disk the
#                                                 ISO was copied onto) said so with cloudlet.boot=iso)
#   CLOUDLET-GUEST-SEED found dev=<dev> | CLOUDLET-GUEST-SEED none
#   CLOUDLET-GUEST-SSHKEYS count=<n>            (only if the cloud-config had keys)
#   CLOUDLET-GUEST-DHCP ip=<ipv4>                 (from udhcpc, whenever a lease is bound)
#   CLOUDLET-GUEST-SSHKEYS count=<n>            (from the metadata service, when it had a key)
#   CLOUDLET-GUEST-SOURCE seed | metadata | none  (where hostname, keys and user-data came from)
#   CLOUDLET-GUEST-USERDATA ran rc=<rc> | CLOUDLET-GUEST-USERDATA ignored   (only if there was user-data)
#   CLOUDLET-GUEST-HTTP port=80
#   CLOUDLET-GUEST-PORT reply=<OK or none>        (only with cloudlet.ready=port)
#   CLOUDLET-GUEST-PHONEHOME rc=<rc>              (only on a network that announces the metadata service)
#   CLOUDLET-GUEST-READY hostname=<hostname> ip=<ipv4 or none>
#   CLOUDLET-GUEST-WARN <what>                    (something failed; boot goes on)
#   CLOUDLET-GUEST-UPTIME <seconds>               (every N s after READY when booted with cloudlet.heartbeat=N)
#   CLOUDLET-GUEST-DISK added dev=<vdX> size=<bytes>     (a disk hot-plugged after READY)
#   CLOUDLET-GUEST-DISK data dev=<vdX> text=<canary>     (it already carried a canary: written by another guest)
#   CLOUDLET-GUEST-DISK wrote dev=<vdX> text=<canary>    (it was blank: this guest wrote its canary)
#   CLOUDLET-GUEST-DISK resized dev=<vdX> size=<bytes>   (its size changed, e.g. an online extend)
#   CLOUDLET-GUEST-DISK removed dev=<vdX>                (hot-unplugged)
#   CLOUDLET-GUEST-IOPS dev=<dev> read=<n> write=<n>     (once after READY when booted with cloudlet.iops=<dev>[:<s>];
#                                                         a failure prints CLOUDLET-GUEST-WARN iops <why>)
#   CLOUDLET-GUEST-OUT <id> <line>                (a line of a command's output: command channel, below)
#   CLOUDLET-GUEST-RAN <id> rc=<exit code>        (the command finished: command channel, below)
#
# Command channel: from READY on, the guest reads ttyS0 (echo off) one line at a time. A test writes
#   CLOUDLET-RUN <id> <shell command>
# where <id> is 1 to 32 of [A-Za-z0-9_-] and the rest of the line is the command. The guest runs it with
# sh -c in /root, stdin from /dev/null, and stops it after 60 s (SIGTERM: rc=143, last line "Terminated";
# SIGKILL 5 s later if it ignores that: rc=137, "Killed"). Then each line of its stdout and stderr comes back
# as CLOUDLET-GUEST-OUT <id> <line>, and CLOUDLET-GUEST-RAN <id> rc=<exit code> ends the answer. Commands run
# one at a time, in order; a command's output comes once it has finished. Any other line is answered with
# CLOUDLET-GUEST-WARN bad command line and not run; empty lines are ignored.

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

DEFAULT_HOSTNAME=testguest
DHCP_WAIT_SECONDS=30
SEED_DIR=/run/seed
METADATA_URL=http://169.254.169.254
METADATA_ROUTE=/run/metadata-route   # exists when DHCP routed 169.254.169.254/32
COMMAND_TIMEOUT_SECONDS=60
COMMAND_OUTPUT=/run/command.out

# say prints a marker line on the console, and on ttyS0 too when ttyS0 is not the console already, so the
# line appears exactly once on each.
say() {
	echo "$*" >/dev/console
	if [ -c /dev/ttyS0 ] && ! grep -qw ttyS0 /sys/class/tty/console/active 2>/dev/null; then
		echo "$*" >/dev/ttyS0
	fi
}

mount_basics() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mkdir -p /dev/pts /dev/shm
	mount -t devpts devpts /dev/pts
	mount -t tmpfs tmpfs /run
	mount -t tmpfs tmpfs /tmp
	# Kernel messages would interleave with the markers on the serial line.
	dmesg -n 1
}

# load_modules insmods the modules in the dependency order build.sh computed.
load_modules() {
	while read -r mod; do
		insmod "$mod" || say "CLOUDLET-GUEST-WARN insmod $mod failed"
	done </etc/modules.order
}

set_hostname() {
	name=$(echo "$1" | tr -cd 'A-Za-z0-9.-' | cut -c1-63)
	[ -n "$name" ] || return 0
	hostname "$name"
	echo "$name" >/etc/hostname
	printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$name" >/etc/hosts
}

# read_bytes DEV OFFSET COUNT prints COUNT bytes of DEV at OFFSET, without NULs.
read_bytes() {
	dd if="$1" bs=1 skip="$2" count="$3" 2>/dev/null | tr -d '\000'
}

# seed_device prints the first virtio disk holding an iso9660 file system labelled cidata.
seed_device() {
	for dev in /dev/vd*; do
		[ -b "$dev" ] || continue
		[ "$(read_bytes "$dev" 32769 5)" = CD001 ] || continue
		label=$(read_bytes "$dev" 32808 32 | tr -d ' ')
		case "$label" in
		cidata | CIDATA)
			echo "$dev"
			return 0
			;;
		esac
	done
	return 1
}

# seed_file NAME prints the path of seed file NAME.
seed_file() {
	[ -f "$SEED_DIR/$1" ] && echo "$SEED_DIR/$1"
}

# yaml_value KEY FILE prints the value of a top-level "KEY: value" line, unquoted.
yaml_value() {
	sed -n "s/^$1:[[:space:]]*//p" "$2" | head -n 1 | tr -d '\r"'"'" | sed 's/[[:space:]]*$//'
}

# authorized_keys FILE prints the "- key" entries of every ssh_authorized_keys list in a cloud-config.
authorized_keys() {
	tr -d '\r' <"$1" | awk '
		/^[[:space:]]*ssh_authorized_keys:/ { inlist = 1; next }
		inlist && /^[[:space:]]*-[[:space:]]/ {
			sub(/^[[:space:]]*-[[:space:]]*/, "")
			gsub(/^["'\'']|["'\'']$/, "")
			print
			next
		}
		inlist && /^[[:space:]]*(#.*)?$/ { next }
		{ inlist = 0 }
	'
}

apply_cloud_config() {
	name=$(yaml_value hostname "$1")
	[ -z "$name" ] || set_hostname "$name"
	authorized_keys "$1" >/run/authorized_keys
	count=$(grep -c . /run/authorized_keys)
	if [ "$count" -gt 0 ]; then
		mkdir -p /root/.ssh
		chmod 0700 /root/.ssh
		cp /run/authorized_keys /root/.ssh/authorized_keys
		chmod 0600 /root/.ssh/authorized_keys
		say "CLOUDLET-GUEST-SSHKEYS count=$count"
	fi
}

# read_seed applies meta-data and cloud-config now and keeps a user-data script in /run/user-data to run
# once the network is up, as cloud-init does.
read_seed() {
	dev=$(seed_device) || {
		say "CLOUDLET-GUEST-SEED none"
		return 0
	}
	mkdir -p "$SEED_DIR"
	if ! mount -t iso9660 -o ro "$dev" "$SEED_DIR"; then
		say "CLOUDLET-GUEST-WARN mount seed $dev failed"
		return 0
	fi
	say "CLOUDLET-GUEST-SEED found dev=$dev"
	SOURCE=seed
	if meta=$(seed_file meta-data); then
		name=$(yaml_value local-hostname "$meta")
		[ -z "$name" ] || set_hostname "$name"
	fi
	if user=$(seed_file user-data); then
		apply_user_data "$user"
	fi
	umount "$SEED_DIR"
}

# apply_user_data FILE applies a cloud-config now, or keeps a script in /run/user-data to run once the
# network is up.
apply_user_data() {
	case "$(head -c 2 "$1")" in
	'#!') cp "$1" /run/user-data && chmod 0700 /run/user-data ;;
	*) if head -n 1 "$1" | grep -q '^#cloud-config'; then
		apply_cloud_config "$1"
	else
		say "CLOUDLET-GUEST-USERDATA ignored"
	fi ;;
	esac
}

# metadata_get PATH FILE fetches PATH from the metadata service into FILE. It fails at once on a 404 (the
# service has no such document) and retries anything else (the daemon restarting) for up to 5 tries.
metadata_get() {
	for try in 1 2 3 4 5; do
		# Not wget -T: it segfaults in this busybox build.
		if timeout 5 wget -S -q -O "$2" "$METADATA_URL$1" 2>/run/metadata.err; then
			return 0
		fi
		rm -f "$2"
		grep -q ' 404 ' /run/metadata.err && return 1
		sleep 1
	done
	return 1
}

# read_metadata applies what the metadata service says (EC2 paths: hostname, the first key, user-data) as
# read_seed applies a seed, when there was no seed and the network announces the service.
read_metadata() {
	[ -z "$SOURCE" ] && [ -e "$METADATA_ROUTE" ] || return 0
	metadata_get /latest/meta-data/instance-id /run/instance-id || {
		say "CLOUDLET-GUEST-WARN metadata service not answering"
		return 0
	}
	SOURCE=metadata
	if metadata_get /latest/meta-data/hostname /run/metadata-hostname; then
		set_hostname "$(cat /run/metadata-hostname)"
	fi
	if metadata_get /latest/meta-data/public-keys/0/openssh-key /run/authorized_keys; then
		mkdir -p /root/.ssh
		chmod 0700 /root/.ssh
		cp /run/authorized_keys /root/.ssh/authorized_keys
		chmod 0600 /root/.ssh/authorized_keys
		say "CLOUDLET-GUEST-SSHKEYS count=$(grep -c . /run/authorized_keys)"
	fi
	if metadata_get /latest/user-data /run/metadata-user-data; then
		apply_user_data /run/metadata-user-data
	fi
}

# ready_port_device prints the device of the org.cloudlet.ready port (no udev here: found by its name in sysfs).
ready_port_device() {
	for p in /sys/class/virtio-ports/*; do
		if [ "$(cat "$p/name" 2>/dev/null)" = org.cloudlet.ready ] && [ -c "/dev/${p##*/}" ]; then
			echo "/dev/${p##*/}"
			return 0
		fi
	done
	return 1
}

# ready_port says READY on the org.cloudlet.ready port and prints the daemon's answer (none after 10 s: a
# write blocks while no daemon has the port open).
ready_port() {
	dev=$(ready_port_device) || {
		echo none
		return 0
	}
	reply=$(timeout 10 sh -c 'exec 3<>"$1"; echo READY >&3; read -r answer <&3; echo "$answer"' sh "$dev" 2>/dev/null)
	echo "${reply:-none}"
}

# phone_home tells the metadata service the guest is up (cloud-init's phone_home posts the same form).
phone_home() {
	[ -e "$METADATA_ROUTE" ] || return 0
	timeout 5 wget -q -O /dev/null --post-data "instance_id=$(cat /run/instance-id 2>/dev/null)&hostname=$(hostname)" \
		"$METADATA_URL/cloudlet/ready" 2>/dev/null
	say "CLOUDLET-GUEST-PHONEHOME rc=$?"
}

run_user_data() {
	[ -f /run/user-data ] || return 0
	interpreter=$(head -n 1 /run/user-data | sed 's/^#![[:space:]]*//; s/[[:space:]].*//')
	if [ -x "$interpreter" ]; then
		(cd /root && HOME=/root /run/user-data)
	else
		(cd /root && HOME=/root sh /run/user-data)
	fi
	say "CLOUDLET-GUEST-USERDATA ran rc=$?"
}

eth0_ip() {
	ip -4 -o addr show dev eth0 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }'
}

# has_virtio_net reports whether a virtio network PCI device exists (legacy 0x1000 or modern 0x1041), so a
# guest without a NIC does not wait for an eth0 that never comes.
has_virtio_net() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor" 2>/dev/null)" = 0x1af4 ] || continue
		case "$(cat "$d/device" 2>/dev/null)" in
		0x1000 | 0x1041) return 0 ;;
		esac
	done
	return 1
}

# start_network starts udhcpc (it keeps running to renew the lease) and waits a bounded time for a lease.
start_network() {
	ip link set lo up
	if ! has_virtio_net; then
		say "CLOUDLET-GUEST-WARN no eth0"
		return 0
	fi
	tries=0
	while [ ! -e /sys/class/net/eth0 ] && [ $tries -lt 50 ]; do
		usleep 100000
		tries=$((tries + 1))
	done
	if [ ! -e /sys/class/net/eth0 ]; then
		say "CLOUDLET-GUEST-WARN no eth0"
		return 0
	fi
	ip link set eth0 up
	udhcpc -f -i eth0 -s /init -t 5 -T 2 -A 5 -O staticroutes -x "hostname:$(hostname)" >/dev/null 2>&1 &
	tries=0
	# Until the event script is done with the lease: its routes (the metadata service's) come after the address.
	while [ ! -e /run/dhcp-bound ] && [ $tries -lt $((DHCP_WAIT_SECONDS * 5)) ]; do
		usleep 200000
		tries=$((tries + 1))
	done
}

start_httpd() {
	mkdir -p /www
	echo "cloudlet-testguest $(hostname)" >/www/index.html
	httpd -p 80 -h /www
	# Not wget -T: it segfaults in this busybox build. Up to 4 tries: a guest under TCG on a loaded host
	# can take seconds for one request.
	for try in 1 2 3 4; do
		if timeout 5 wget -q -O - http://127.0.0.1/ 2>/dev/null | grep -q cloudlet-testguest; then
			say "CLOUDLET-GUEST-HTTP port=80"
			return 0
		fi
	done
	say "CLOUDLET-GUEST-WARN httpd not answering on port 80"
}

# start_acpid makes the ACPI power button (QMP system_powerdown) power the guest off via
# /etc/acpi/PWRF/00000080.
start_acpid() {
	ls /dev/input/event* >/dev/null 2>&1 || return 0
	acpid -l /run/acpid.log -p /run/acpid.pid
}

# dhcp_event handles udhcpc's calls: deconfig, bound, renew, leasefail, nak. Variables come from udhcpc.
dhcp_event() {
	case "$1" in
	deconfig)
		ip -4 addr flush dev "$interface"
		ip link set "$interface" up
		;;
	bound | renew)
		if ! ip -4 addr show dev "$interface" | grep -q "inet $ip/$mask "; then
			ip -4 addr flush dev "$interface"
			ip addr add "$ip/$mask" ${broadcast:+broadcast "$broadcast"} dev "$interface"
		fi
		for r in $router; do
			ip route replace default via "$r" dev "$interface"
			break
		done
		static_routes
		: >/run/dhcp-bound
		{
			[ -z "$domain" ] || echo "search $domain"
			for d in $dns; do echo "nameserver $d"; done
		} >/etc/resolv.conf
		[ "$1" = renew ] || say "CLOUDLET-GUEST-DHCP ip=$ip"
		;;
	esac
}

# static_routes adds option 121's routes ("dest/bits gateway" pairs in $staticroutes, from udhcpc) and
# notes whether one of them is the metadata service's.
static_routes() {
	set -- $staticroutes
	while [ $# -ge 2 ]; do
		ip route replace "$1" via "$2" dev "$interface"
		[ "$1" = 169.254.169.254/32 ] && : >"$METADATA_ROUTE"
		shift 2
	done
}

# disk_size prints a block device's size in bytes.
disk_size() {
	echo $(($(cat "/sys/block/$1/size" 2>/dev/null || echo 0) * 512))
}

# block_report prints the block devices the guest sees (virtio disks, CD-ROMs) with their sizes, and which
# boot loader said it booted the guest. A SCSI CD-ROM's sr device appears once the controller's
# scan is done: with a SCSI host present it is waited for (5 s at most).
block_report() {
	boot=$(sed -n 's/.*cloudlet\.boot=\([a-z]*\).*/\1/p' /proc/cmdline)
	if ls /sys/class/scsi_host/ 2>/dev/null | grep -q .; then
		tries=0
		while ! ls /sys/block | grep -q '^sr' && [ $tries -lt 50 ]; do
			usleep 100000
			tries=$((tries + 1))
		done
	fi
	devs=""
	for d in $(ls /sys/block | grep -E '^(vd|sr)'); do
		devs="$devs $d=$(disk_size "$d")"
	done
	say "CLOUDLET-GUEST-BLOCK boot=${boot:-unknown}$devs"
}

# disk_canary reads a hot-plugged disk's first bytes: a canary left by another guest is printed, a blank
# disk gets this guest's canary (CLOUDLET-DATA:<hostname>:<uptime>), so tests can move data between guests.
disk_canary() {
	text=$(dd if="/dev/$1" bs=64 count=1 2>/dev/null | tr -d '\000' | sed -n 's/^\(CLOUDLET-DATA:[A-Za-z0-9.:-]*\).*/\1/p')
	if [ -n "$text" ]; then
		say "CLOUDLET-GUEST-DISK data dev=$1 text=$text"
		return
	fi
	text="CLOUDLET-DATA:$(hostname):$(cut -d' ' -f1 /proc/uptime)"
	printf '%s\n' "$text" | dd of="/dev/$1" bs=64 count=1 conv=sync,fsync 2>/dev/null
	say "CLOUDLET-GUEST-DISK wrote dev=$1 text=$text"
}

# watch_disks reports virtio disks that appear, change size or go away after boot; disks present at boot
# (the root disk, the seed) are never touched.
watch_disks() {
	known=" $(ls /sys/block | grep '^vd' | tr '\n' ' ') "
	sizes=""
	while :; do
		now=" $(ls /sys/block | grep '^vd' | tr '\n' ' ') "
		for d in $now; do
			case "$known" in *" $d "*) continue ;; esac
			case "$sizes" in *" $d="*) ;; *)
				sizes="$sizes $d=$(disk_size "$d")"
				say "CLOUDLET-GUEST-DISK added dev=$d size=$(disk_size "$d")"
				disk_canary "$d" ;;
			esac
		done
		kept=""
		for pair in $sizes; do
			d=${pair%%=*}
			case "$now" in
			*" $d "*)
				size=$(disk_size "$d")
				[ "$size" = "${pair#*=}" ] || say "CLOUDLET-GUEST-DISK resized dev=$d size=$size"
				kept="$kept $d=$size" ;;
			*) say "CLOUDLET-GUEST-DISK removed dev=$d" ;;
			esac
		done
		sizes="$kept "
		sleep 1
	done &
}

# start_heartbeat prints the guest's uptime every N seconds when the kernel command line has
# cloudlet.heartbeat=N, so tests can see that a suspended and resumed guest kept its clock.
start_heartbeat() {
	n=$(sed -n 's/.*cloudlet\.heartbeat=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
	[ -n "$n" ] || return 0
	while :; do
		say "CLOUDLET-GUEST-UPTIME $(cut -d' ' -f1 /proc/uptime)"
		sleep "$n"
	done &
}

# start_iops measures 4 KiB random read, then write, IOPS (O_DIRECT, queue depth 1, <seconds> each, 5 by
# default) on /dev/<dev> when the kernel command line has cloudlet.iops=<dev>[:<seconds>]. It waits up to 60 s
# for the device (a disk plugged in after boot counts too). The write phase overwrites the disk: benchmarks
# point it at a scratch volume.
start_iops() {
	spec=$(sed -n 's/.*cloudlet\.iops=\([^ ]*\).*/\1/p' /proc/cmdline)
	[ -n "$spec" ] || return 0
	dev=${spec%%:*}
	secs=5
	case "$spec" in *:*) secs=${spec#*:} ;; esac
	case "$dev" in '' | *[!a-z0-9]*)
		say "CLOUDLET-GUEST-WARN iops bad device in cloudlet.iops=$spec"
		return 0 ;;
	esac
	case "$secs" in '' | *[!0-9]* | 0)
		say "CLOUDLET-GUEST-WARN iops bad seconds in cloudlet.iops=$spec"
		return 0 ;;
	esac
	(
		tries=0
		while [ ! -b "/dev/$dev" ] && [ $tries -lt 600 ]; do
			usleep 100000
			tries=$((tries + 1))
		done
		if [ ! -b "/dev/$dev" ]; then
			say "CLOUDLET-GUEST-WARN iops no /dev/$dev within 60s"
			exit 0
		fi
		if out=$(cloudlet-iops "/dev/$dev" "$secs" 2>&1); then
			say "CLOUDLET-GUEST-IOPS dev=$dev $out"
		else
			say "CLOUDLET-GUEST-WARN iops $(echo "$out" | tr '\n' ' ')"
		fi
	) &
}

# quiet_serial turns ttyS0's echo off before READY, so a command line a test writes as soon as it sees READY
# never comes back as console output. -isig and -ixon: no byte of it can signal or pause anything either.
quiet_serial() {
	SERIAL_QUIET=no
	if stty -F /dev/ttyS0 -echo -isig -ixon 2>/dev/null; then
		SERIAL_QUIET=yes
	else
		say "CLOUDLET-GUEST-WARN stty ttyS0 failed: no command channel"
	fi
}

# valid_command_id ID reports whether ID is 1 to 32 of [A-Za-z0-9_-].
valid_command_id() {
	case "$1" in '' | *[!A-Za-z0-9_-]*) return 1 ;; esac
	[ ${#1} -le 32 ]
}

# run_command ID COMMAND runs COMMAND with sh -c, stdin from /dev/null, with SIGTERM after
# COMMAND_TIMEOUT_SECONDS and SIGKILL 5 s later, then prints each line of its stdout and stderr, and its exit
# code, as markers. The output goes to a file, not a pipe, so a daemon the command leaves running cannot hold
# the channel up; in the braces, the shell's "Terminated" or "Killed" for a stopped command goes there too.
run_command() {
	{ timeout -k 5 "$COMMAND_TIMEOUT_SECONDS" sh -c "$2"; } </dev/null >"$COMMAND_OUTPUT" 2>&1
	rc=$?
	while IFS= read -r out || [ -n "$out" ]; do
		say "CLOUDLET-GUEST-OUT $1 $out"
	done <"$COMMAND_OUTPUT"
	rm -f "$COMMAND_OUTPUT"
	say "CLOUDLET-GUEST-RAN $1 rc=$rc"
}

# command_line LINE runs a "CLOUDLET-RUN <id> <command>" line and answers anything else with a warning.
command_line() {
	[ -n "$1" ] || return 0
	rest=${1#CLOUDLET-RUN }
	id=${rest%% *}
	cmd=${rest#* }
	if [ "$rest" = "$1" ] || [ "$cmd" = "$rest" ] || [ -z "$cmd" ] || ! valid_command_id "$id"; then
		say "CLOUDLET-GUEST-WARN bad command line"
		return 0
	fi
	run_command "$id" "$cmd"
}

# start_commands serves the command channel (see the header) on ttyS0 in the background, from /root. A ^D at
# the start of a line or a hangup ends a read with end of file: the loop opens ttyS0 again.
start_commands() {
	[ "$SERIAL_QUIET" = yes ] || return 0
	(
		cd /root
		export HOME=/root
		while :; do
			while IFS= read -r line; do
				command_line "$line"
			done </dev/ttyS0
			sleep 1
		done
	) &
}

main() {
	mount_basics
	say "CLOUDLET-GUEST-BOOT kernel=$(uname -r)"
	set_hostname "$DEFAULT_HOSTNAME"
	load_modules
	block_report
	read_seed
	start_network
	read_metadata
	say "CLOUDLET-GUEST-SOURCE ${SOURCE:-none}"
	run_user_data
	start_httpd
	start_acpid
	ip=$(eth0_ip)
	watch_disks
	quiet_serial
	if grep -qw cloudlet.ready=port /proc/cmdline; then
		say "CLOUDLET-GUEST-PORT reply=$(ready_port)"
	fi
	phone_home
	say "CLOUDLET-GUEST-READY hostname=$(hostname) ip=${ip:-none}"
	grep -qw cloudlet.ready=port /proc/cmdline || ready_port >/dev/null &
	start_commands
	start_heartbeat
	start_iops
	# PID 1 must never exit; ash reaps orphans while it waits on sleep.
	while :; do
		sleep 3600
	done
}

if [ $$ -ne 1 ]; then
	case "$1" in
	ready-port) ready_port ;;
	*) dhcp_event "$@" ;;
	esac
	exit 0
fi
main
