#!/usr/bin/env bash
# build.sh OUTDIR builds cloudlet's cloud-init guest: a Debian 12 root file system made by debootstrap
# --variant=minbase from Debian packages, with real cloud-init, openssh-server and qemu-guest-agent, as an
# ext4 image labelled cloudroot in disk.qcow2, and the kernel and initrd from its /boot for a direct kernel boot.
# A unit in it (report.service) prints one CLOUDLET-CLOUDINIT-REPORT line on ttyS0 after cloud-final.
#
# Layout of OUTDIR:
#   debs/                              debootstrap's --cache-dir: .debs reused by later builds
#   <key>/{vmlinuz,initrd.img,disk.qcow2,cmdline,packages}   one complete build; renamed into place when finished
#   vmlinuz, initrd.img, disk.qcow2, cmdline   symlinks into <key>/
#   key                                the current key
#
# <key> hashes this script, report.sh, report.service and the version of every package asked for (and of the
# versioned kernel package) in the suite debootstrap installs from, as the host's apt-cache shows them; a build
# whose <key>/ exists only relinks, without network or build tools. <key>/packages lists what was installed.
#
# Isolation: debootstrap runs in private mount and PID namespaces (unshare), so the /proc and /sys it mounts in
# the target and any daemon a maintainer script starts end with it; the build then checks that no mount is left
# under its work directory before anything is removed. Nothing outside OUTDIR is written.
#
# Determinism where cheap: the ext4 has a fixed UUID, hash seed and time (E2FSPROGS_FAKE_TIME); the files
# themselves come from dpkg and are not byte-identical between builds.
set -euo pipefail
umask 022
export LC_ALL=C TZ=UTC
export SOURCE_DATE_EPOCH=1704067200
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH

readonly SUITE=bookworm
readonly KERNEL_META=linux-image-cloud-amd64
readonly PACKAGES_WANTED=(linux-image-cloud-amd64 systemd-sysv udev cloud-init openssh-server isc-dhcp-client
	ifupdown netbase iproute2 qemu-guest-agent python3-cffi-backend dbus sudo)
readonly FS_LABEL=cloudroot
readonly FS_UUID=6c6f7564-6c65-7467-7565-737430303031
readonly FS_HASH_SEED=6c6f7564-6c65-7467-7565-737468617368
readonly FS_FREE_MIB=384 # room for what the guest writes (logs, cloud-init's state, apt)
# no_timer_check: under TCG on a loaded host the IO-APIC timer check can fail and panic the kernel.
readonly CMDLINE="root=LABEL=$FS_LABEL ro console=ttyS0,115200 no_timer_check"

die() {
	echo "build.sh: $*" >&2
	exit 1
}

log() {
	echo "build.sh: $*" >&2
}

# need CMD PKG installs PKG when CMD is missing (as root), or fails naming both.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	[[ $EUID -eq 0 ]] || die "$1 is missing: install Debian package $2 (apt-get install $2)"
	log "installing $2 for $1"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "$2" >&2 ||
		{ apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "$2" >&2; } ||
		die "apt-get install $2 failed"
	command -v "$1" >/dev/null 2>&1 || die "$1 still missing after installing $2"
}

# host_mirror prints the first Debian archive URI of the host's apt sources (not the security archive).
host_mirror() {
	local files=() f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] && files+=("$f")
	done
	[[ ${#files[@]} -gt 0 ]] || return 0
	awk '
		/^[ \t]*deb[ \t]/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { print $i; break } }
		/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "${files[@]}" |
		grep -v -- '-security' | head -n 1
}

# kernel_package prints the versioned kernel package that the meta package depends on in SUITE.
kernel_package() {
	local v
	v=$(suite_versions "$KERNEL_META" | awk '{ print $2 }')
	[[ -n $v ]] || return 0
	apt-cache show "$KERNEL_META=$v" 2>/dev/null |
		awk '/^Depends:/ { for (i = 2; i <= NF; i++) if ($i ~ /^linux-image-[0-9]/) { sub(/,$/, "", $i); print $i; exit } }'
}

# suite_versions PKG... prints "PKG VERSION" for each PKG in MIRROR's SUITE/main, the archive debootstrap uses.
suite_versions() {
	apt-cache madison "$@" 2>/dev/null | awk -F' *[|] *' -v want="${MIRROR%/} $SUITE/main " '
		{ gsub(/^ +/, "", $1) }
		index($3, want) == 1 && !seen[$1]++ { print $1, $2 }'
}

# resolve_packages fills PACKAGES with "name version" lines. apt-cache has been seen to answer nothing once
# while the machine was busy, so it tries three times before updating apt's lists (as root) for a last try.
resolve_packages() {
	local try
	for try in 1 2 3; do
		try_resolve && return 0
		log "apt-cache: $RESOLVE_ERROR (try $try)"
		sleep 2
	done
	[[ $EUID -eq 0 ]] || die "$RESOLVE_ERROR (run apt-get update)"
	apt-get update -q >&2 || die "apt-get update failed"
	try_resolve || die "$RESOLVE_ERROR after apt-get update"
}

# try_resolve sets PACKAGES and KERNEL_PKG, or RESOLVE_ERROR and returns 1.
try_resolve() {
	local p
	KERNEL_PKG=$(kernel_package)
	if [[ -z $KERNEL_PKG ]]; then
		RESOLVE_ERROR="no $KERNEL_META in $MIRROR $SUITE/main"
		return 1
	fi
	mapfile -t PACKAGES < <(suite_versions "$KERNEL_PKG" "${PACKAGES_WANTED[@]}" | sort)
	for p in "$KERNEL_PKG" "${PACKAGES_WANTED[@]}"; do
		if ! printf '%s\n' "${PACKAGES[@]}" | grep -q "^$p "; then
			RESOLVE_ERROR="apt-cache madison $p: no version in $MIRROR $SUITE/main"
			return 1
		fi
	done
}

compute_key() {
	{
		sha256sum <"$HERE/build.sh"
		sha256sum <"$HERE/report.sh"
		sha256sum <"$HERE/report.service"
		echo "$SUITE"
		printf '%s\n' "${PACKAGES[@]}"
	} | sha256sum | cut -c1-16
}

install_tools() {
	need debootstrap debootstrap
	need mkfs.ext4 e2fsprogs
	need qemu-img qemu-utils
	need unshare util-linux
	[[ $EUID -eq 0 ]] || die "debootstrap needs root"
}

# bootstrap runs debootstrap into $ROOT in private mount and PID namespaces.
bootstrap() {
	local include
	include=$(
		IFS=,
		echo "${PACKAGES_WANTED[*]}"
	)
	mkdir -p "$DEBS"
	log "debootstrap $SUITE from $MIRROR (log: $WORK/debootstrap.log)"
	unshare --mount --propagation private --pid --fork --kill-child \
		debootstrap --variant=minbase --include="$include" --cache-dir="$DEBS" \
		--components=main "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
		die "debootstrap failed: $(tail -n 20 "$WORK/debootstrap.log"; tail -n 30 "$ROOT/debootstrap/debootstrap.log" 2>/dev/null)"
	check_no_mounts
}

# check_no_mounts fails when anything is mounted under the work directory (nothing may be, after debootstrap).
check_no_mounts() {
	local left
	left=$(awk -v w="$WORK/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo)
	[[ -z $left ]] || die "mounts left under $WORK after debootstrap (not removing it): $left"
}

# configure makes the bootstrapped tree a cloud guest: no host identity in it, a root by label, the report unit.
configure() {
	printf 'debian\n' >"$ROOT/etc/hostname"
	printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"
	rm -f "$ROOT/etc/resolv.conf"
	printf 'LABEL=%s\t/\text4\tdefaults,errors=remount-ro\t0\t1\n' "$FS_LABEL" >"$ROOT/etc/fstab"
	# Each instance gets its own machine id and host keys on first boot (systemd; cloud-init's ssh module).
	: >"$ROOT/etc/machine-id"
	rm -f "$ROOT/var/lib/dbus/machine-id" "$ROOT"/etc/ssh/ssh_host_*
	[[ -f $ROOT/etc/network/interfaces ]] ||
		printf 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n' >"$ROOT/etc/network/interfaces"
	install -m 0755 "$HERE/report.sh" "$ROOT/usr/local/sbin/cloudlet-cloudinit-report"
	install -m 0644 "$HERE/report.service" "$ROOT/etc/systemd/system/cloudlet-cloudinit-report.service"
	mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants"
	ln -sf /etc/systemd/system/cloudlet-cloudinit-report.service \
		"$ROOT/etc/systemd/system/multi-user.target.wants/cloudlet-cloudinit-report.service"
	write_cloud_cfg >"$ROOT/etc/cloud/cloud.cfg.d/01_cloudlet.cfg"
	# Under TCG on a loaded host udev may announce ttyS0 after systemd's 90 s wait for the device, which then
	# fails serial-getty@ttyS0: no login prompt ever (ci25: "Timed out waiting for device dev-ttyS0.device").
	# Wait for it as long as the boot takes (the way fstab's x-systemd.device-timeout does, by a drop-in).
	mkdir -p "$ROOT/etc/systemd/system/dev-ttyS0.device.d"
	printf '[Unit]\nJobRunningTimeoutSec=infinity\n' >"$ROOT/etc/systemd/system/dev-ttyS0.device.d/cloudlet-slow-boot.conf"
	# Nothing in a test guest should reach out on a timer.
	local u
	for u in apt-daily.timer apt-daily-upgrade.timer; do
		ln -sf /dev/null "$ROOT/etc/systemd/system/$u"
	done
	# Later installs inside the guest stay small too.
	printf 'path-exclude=/usr/share/doc/*\npath-exclude=/usr/share/man/*\npath-exclude=/usr/share/info/*\n' \
		>"$ROOT/etc/dpkg/dpkg.cfg.d/01-cloudlet-nodoc"
}

# write_cloud_cfg prints what this image changes in Debian's cloud-init defaults.
write_cloud_cfg() {
	cat <<'EOF'
# cloudlet's cloud-init guest (images/cloudguest/build.sh): its changes to Debian's defaults.
# C.UTF-8 is built into glibc; Debian's default en_US.UTF-8 is not generated here, and cc_locale fails on it.
locale: C.UTF-8
# Host keys in seconds under TCG: no RSA 3072 (about 30 s on a loaded host) and no DSA.
ssh_genkeytypes: [ecdsa, ed25519]
EOF
}

# slim removes documentation, translations, apt's lists and caches, and debootstrap's leftovers.
slim() {
	chroot_list_packages >"$OUT_TMP/packages"
	rm -rf "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* \
		"$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb \
		"$ROOT"/var/cache/debconf/*-old "$ROOT"/var/log/*.log "$ROOT"/var/log/apt/* "$ROOT"/debootstrap
	find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +
}

# chroot_list_packages prints "name version" of every installed package, read from dpkg's status file.
chroot_list_packages() {
	awk '/^Package:/ { p = $2 } /^Status:/ { s = $4 } /^Version:/ { v = $2 }
		/^$/ { if (s == "installed") print p, v; p = s = v = "" }' "$ROOT/var/lib/dpkg/status" | sort
}

# copy_boot copies the one kernel and initrd of the tree's /boot out.
copy_boot() {
	local k=("$ROOT"/boot/vmlinuz-*) i=("$ROOT"/boot/initrd.img-*)
	[[ ${#k[@]} -eq 1 && -f ${k[0]} ]] || die "expected one kernel in $ROOT/boot, found: ${k[*]}"
	[[ ${#i[@]} -eq 1 && -f ${i[0]} ]] || die "expected one initrd in $ROOT/boot, found: ${i[*]}"
	cp "${k[0]}" "$OUT_TMP/vmlinuz"
	cp "${i[0]}" "$OUT_TMP/initrd.img"
	printf '%s\n' "$CMDLINE" >"$OUT_TMP/cmdline"
}

# make_disk writes the tree into an ext4 image with FS_FREE_MIB to spare, converted to qcow2.
make_disk() {
	local used_mib size_mib raw=$WORK/root.ext4
	used_mib=$(du -s -x -m "$ROOT" | cut -f1)
	size_mib=$((used_mib * 11 / 10 + FS_FREE_MIB))
	find "$ROOT" -xdev -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	mkfs.ext4 -q -F -L "$FS_LABEL" -U "$FS_UUID" -E "root_owner=0:0,hash_seed=$FS_HASH_SEED" \
		-d "$ROOT" "$raw" "${size_mib}M" || die "mkfs.ext4 -d $ROOT failed"
	qemu-img convert -f raw -O qcow2 "$raw" "$OUT_TMP/disk.qcow2"
	rm -f "$raw"
}

cleanup_work() {
	# Only when nothing is mounted under it: rm must never walk into a /proc or /sys.
	if [[ -n ${WORK:-} && -d $WORK ]] && ! awk -v w="$WORK/" 'index($5, w) == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo; then
		rm -rf --one-file-system "$WORK"
	fi
}

build() {
	install_tools
	WORK=$(mktemp -d "$OUT/.work.XXXXXX")
	trap cleanup_work EXIT
	ROOT=$WORK/root
	OUT_TMP=$WORK/out
	mkdir -p "$OUT_TMP"
	bootstrap
	configure
	copy_boot
	slim
	make_disk
	touch -d "@$SOURCE_DATE_EPOCH" "$OUT_TMP"/*
	rm -rf "${OUT:?}/$KEY"
	mv -T "$OUT_TMP" "$OUT/$KEY"
}

complete() {
	local f
	for f in vmlinuz initrd.img disk.qcow2 cmdline; do
		[[ -f $OUT/$KEY/$f ]] || return 1
	done
}

# link points OUTDIR's names at <key>/, replacing each link atomically.
link() {
	local f
	for f in vmlinuz initrd.img disk.qcow2 cmdline; do
		ln -sfn "$KEY/$f" "$OUT/.$f.new"
		mv -T "$OUT/.$f.new" "$OUT/$f"
	done
	echo "$KEY" >"$OUT/.key.new"
	mv -T "$OUT/.key.new" "$OUT/key"
}

# prune removes builds of other keys and leftovers of interrupted ones (never one with a mount under it).
prune() {
	local d name
	for d in "$OUT"/* "$OUT"/.work.*; do
		name=$(basename "$d")
		[[ -d $d && $name != "$KEY" && $name =~ ^([0-9a-f]{16}|\.work\..+)$ ]] || continue
		if awk -v w="$d/" 'index($5, w) == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo; then
			log "not removing $d: something is mounted under it"
			continue
		fi
		rm -rf --one-file-system "$d"
	done
}

main() {
	[[ $# -eq 1 ]] || die "usage: build.sh OUTDIR"
	HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	[[ -f $HERE/report.sh && -f $HERE/report.service ]] || die "report.sh or report.service not found next to build.sh in $HERE"
	mkdir -p "$1"
	OUT=$(cd "$1" && pwd)
	DEBS=$OUT/debs

	# One build per OUTDIR at a time (cloudguest.Ensure also serialises its callers on another lock file).
	exec 9>"$OUT/.build.lock"
	flock 9

	MIRROR=${CLOUDGUEST_MIRROR:-$(host_mirror)}
	[[ -n $MIRROR ]] || die "no Debian mirror in /etc/apt/sources.list*; set CLOUDGUEST_MIRROR"
	resolve_packages
	KEY=$(compute_key)
	if complete; then
		log "up to date: $OUT/$KEY"
	else
		log "building $OUT/$KEY"
		build
		prune
	fi
	link
	echo "$OUT/$KEY"
}

main "$@"
