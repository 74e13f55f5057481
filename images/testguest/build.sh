#!/usr/bin/env bash
# build.sh OUTDIR builds the cloudlet test guest from Debian packages: vmlinuz, initrd.img (busybox, virtio
# modules, init.sh as /init and iops.c compiled as /bin/cloudlet-iops), disk.qcow2 (the same kernel and
# initramfs behind SeaBIOS + syslinux) and testguest.iso (the same again on a bootable El Torito CD,
# behind isolinux, with cloudlet.boot=iso on the kernel command line; isohybrid, so the ISO copied onto a
# disk boots from that disk too, as an installer's work does).
#
# Layout of OUTDIR:
#   debs/                            downloaded .debs, checked against apt's SHA256 and reused by later builds
#   <key>/{vmlinuz,initrd.img,disk.qcow2,testguest.iso}   one complete build; renamed into place only when finished
#   vmlinuz, initrd.img, disk.qcow2, testguest.iso  symlinks into <key>/
#   key                              the current key
#   .resolved                        apt's state, the kernel package and the candidates resolved in it
#
# <key> hashes this script, init.sh, iops.c and the candidate version and SHA256 of every package the guest is made
# of, as apt-cache reports them; a build whose <key>/ exists only relinks, without network or build tools.
# Host tools (cpio, gzip, mtools, dosfstools, qemu-img, xorriso, gcc and the static glibc it links) are not part of
# the key: they do not change what the guest does.
#
# Determinism: SOURCE_DATE_EPOCH is fixed here, so all three outputs are byte-identical across builds
# (TestBuildDeterministic checks it): vmlinuz is copied; initrd.img is a sorted newc cpio with fixed mtimes,
# owners and inode numbers, compressed with gzip -n; disk.qcow2 has a FAT made with mkfs.fat --invariant,
# files copied with fixed mtimes, and the syslinux installer's files stamped by mtools, which honours
# SOURCE_DATE_EPOCH; testguest.iso is made by xorriso, which honours SOURCE_DATE_EPOCH too, from files with
# fixed mtimes.
set -euo pipefail
umask 022
export LC_ALL=C TZ=UTC
# Fixed rather than inherited: the outputs must depend on the key's inputs only.
export SOURCE_DATE_EPOCH=1704067200
export MTOOLS_SKIP_CHECK=1

readonly KERNEL_META=linux-image-cloud-amd64
# Loaded in dependency order (computed below with modinfo, which also pulls in cdrom for isofs).
# button and evdev let busybox acpid see the ACPI power button; virtio_console gives the org.cloudlet.ready port.
# virtio_scsi and sr_mod show a CD-ROM on virtio-scsi as sr0 (this kernel has no AHCI driver for a SATA one).
readonly MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
	failover net_failover virtio_net virtio_blk isofs button evdev virtio_console virtio_scsi sr_mod)
# The guest's packages besides the kernel (isolinux: the ISO's boot loader).
readonly GUEST_PACKAGES=(busybox-static syslinux-common syslinux isolinux)
readonly DISK_MIB=32
readonly PART_START=2048 # sectors: the FAT partition starts at 1 MiB
# no_timer_check: under TCG on a loaded host the IO-APIC timer check can fail and panic the kernel
# ("IO-APIC + timer doesn't work"); virtual machines do not need it (cloud images set it too).
readonly KERNEL_APPEND="console=ttyS0,115200 no_timer_check"

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

# candidates PKG... prints "PKG VERSION SHA256" for the version apt would install of each PKG.
# apt-cache's own messages go to APT_ERRORS, for the error of a package it did not show; its exit status
# is checked (a process substitution would lose it), so a failed or killed apt-cache is named as such.
candidates() {
	local shown rc=0
	shown=$(mktemp)
	apt-cache show --no-all-versions "$@" >"$shown" 2>"$APT_ERRORS" || rc=$?
	if [[ $rc -ne 0 ]]; then
		rm -f "$shown"
		die "apt-cache show $*: exit status $rc$( ((rc > 128)) && echo " (signal $((rc - 128)))"); apt-cache said: $(tr '\n' ' ' <"$APT_ERRORS")"
	fi
	awk '
		/^Package:/ { p = $2 }
		/^Version:/ { v = $2 }
		/^SHA256:/ { s = $2 }
		/^$/ { if (p != "") print p, v, s; p = "" }
		END { if (p != "") print p, v, s }' "$shown"
	rm -f "$shown"
}

# kernel_package prints the versioned kernel package that the meta package depends on (nothing when apt
# knows no such dependency); an apt-cache that fails for another reason is named with its exit status.
kernel_package() {
	local deps rc=0
	deps=$(apt-cache depends "$KERNEL_META" 2>/dev/null) || rc=$?
	if [[ $rc -ne 0 && $rc -ne 100 ]]; then # 100: apt's own "no such package"
		die "apt-cache depends $KERNEL_META: exit status $rc$( ((rc > 128)) && echo " (signal $((rc - 128)))")"
	fi
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }' <<<"$deps"
}

# resolve_packages fills PACKAGES with "name version sha256" lines, updating apt's lists once if needed.
# Each apt-cache call costs about 0.6 s where apt keeps no pkgcache.bin, hence one call for all packages.
resolve_packages() {
	local kpkg p
	kpkg=$(kernel_package)
	if [[ -z $kpkg && $EUID -eq 0 ]]; then
		log "apt knows no $KERNEL_META; running apt-get update"
		apt-get update -q >&2 || die "apt-get update failed"
		kpkg=$(kernel_package)
	fi
	[[ -n $kpkg ]] || die "apt-cache depends $KERNEL_META: no linux-image-* dependency (run apt-get update)"
	KERNEL_PKG=$kpkg
	local -a want=("$kpkg" "${GUEST_PACKAGES[@]}")
	local said out
	APT_ERRORS=$(mktemp)
	out=$(candidates "${want[@]}")
	mapfile -t PACKAGES <<<"$out"
	said=$(tr '\n' ' ' <"$APT_ERRORS")
	rm -f "$APT_ERRORS"
	for p in "${want[@]}"; do
		printf '%s\n' "${PACKAGES[@]}" | grep -q "^$p " ||
			die "apt-cache show $p: no candidate version (run apt-get update); apt-cache said: ${said:-nothing}"
	done
}

# apt_state prints what apt's choice of candidates depends on: its package lists and its configuration
# (names, sizes, modification times). The same state gives the same candidates.
apt_state() {
	find /var/lib/apt/lists /etc/apt -maxdepth 2 -type f ! -name lock ! -path '*/partial/*' \
		-printf '%p %s %T@\n' 2>/dev/null | sort
}

# resolve_packages_once fills KERNEL_PKG and PACKAGES from OUTDIR/.resolved when apt's state is the one
# they were resolved in (and the packages asked for are the same), else asks apt (resolve_packages) and keeps the answer there. apt-cache is slow
# (seconds on a loaded machine) and every test package's Ensure runs this script: with the answer kept,
# a test run asks apt once, when `make testguest` builds, not once per caller.
resolve_packages_once() {
	local state cache=$OUT/.resolved
	state=$({
		apt_state
		printf '%s\n' "${GUEST_PACKAGES[@]}"
	} | sha256sum | cut -c1-32)
	if [[ -f $cache && $(sed -n 1p "$cache") == "$state" ]]; then
		KERNEL_PKG=$(sed -n 2p "$cache")
		mapfile -t PACKAGES < <(sed -n '3,$p' "$cache")
		[[ -n $KERNEL_PKG && ${#PACKAGES[@]} -gt 0 ]] && return 0
	fi
	resolve_packages
	{
		echo "$state"
		echo "$KERNEL_PKG"
		printf '%s\n' "${PACKAGES[@]}"
	} >"$cache.new"
	mv -T "$cache.new" "$cache"
}

compute_key() {
	{
		sha256sum <"$HERE/build.sh"
		sha256sum <"$HERE/init.sh"
		sha256sum <"$HERE/iops.c"
		printf '%s\n' "${PACKAGES[@]}"
	} | sha256sum | cut -c1-16
}

# fetch_deb NAME VERSION SHA256 prints the path of the verified .deb in $DEBS, downloading it if needed.
fetch_deb() {
	local name=$1 version=$2 sha=$3 f tmp
	for f in "$DEBS/${name}_"*.deb; do
		[[ -f $f ]] || continue
		[[ $(sha256sum <"$f" | cut -d' ' -f1) == "$sha" ]] && {
			echo "$f"
			return 0
		}
	done
	# apt-get download writes into the working directory, which must be writable.
	tmp=$(mktemp -d "$DEBS/.download.XXXXXX")
	local -a opts=(-q)
	[[ $EUID -ne 0 ]] || opts+=(-o APT::Sandbox::User=root)
	(cd "$tmp" && apt-get download "${opts[@]}" "$name=$version" >&2) || die "apt-get download $name=$version failed"
	f=$(find "$tmp" -name '*.deb' | head -n 1)
	[[ -n $f && $(sha256sum <"$f" | cut -d' ' -f1) == "$sha" ]] || die "apt-get download $name=$version: SHA256 mismatch"
	rm -f "$DEBS/${name}_"*.deb
	mv "$f" "$DEBS/"
	rmdir "$tmp"
	echo "$DEBS/$(basename "$f")"
}

install_tools() {
	need dpkg-deb dpkg
	need cpio cpio
	need gzip gzip
	need modinfo kmod
	need mkfs.fat dosfstools
	need mcopy mtools
	need sfdisk fdisk
	need qemu-img qemu-utils
	need xorriso xorriso
	need gcc gcc
	# gcc only recommends libc6-dev, whose libc.a a static link needs (packaging/deps.sh test installs it).
	gcc -print-file-name=libc.a | grep -q / ||
		die "gcc cannot link statically: install Debian package libc6-dev (packaging/deps.sh test does)"
}

# add_iops compiles iops.c into a static /bin/cloudlet-iops. It is built in $WORK under a fixed name and
# stripped, so no path of this build ends up in the binary and it is the same byte for byte every time.
add_iops() {
	mkdir -p "$WORK/iops"
	cp "$HERE/iops.c" "$WORK/iops/iops.c"
	(cd "$WORK/iops" && gcc -static -O2 -s -Wall -Werror -o cloudlet-iops iops.c) || die "gcc -static iops.c failed"
	install -m 0755 "$WORK/iops/cloudlet-iops" "$ROOT/bin/cloudlet-iops"
}

# unpack_module SRC DST copies a module, decompressing it: busybox insmod loads plain .ko files only.
unpack_module() {
	case "$1" in
	*.ko) cp "$1" "$2" ;;
	*.ko.xz) need xz xz-utils && xz -dc "$1" >"$2" ;;
	*.ko.zst) need zstd zstd && zstd -q -dc "$1" >"$2" ;;
	*.ko.gz) gzip -dc "$1" >"$2" ;;
	*) die "unknown module format: $1" ;;
	esac
}

# add_module NAME copies NAME and, first, its dependencies into the initramfs, appending to modules.order.
add_module() {
	local name=${1//-/_} src dst dep
	[[ -z ${ADDED[$name]:-} ]] || return 0
	ADDED[$name]=1
	if grep -q "/${name}.ko\$" "$KMODS/modules.builtin" 2>/dev/null; then
		return 0 # built into this kernel
	fi
	src=${MODFILES[$name]:-}
	[[ -n $src ]] || die "module $name not found in $KMODS"
	dst=$ROOT/lib/modules/$KVER/$name.ko
	mkdir -p "$(dirname "$dst")"
	unpack_module "$src" "$dst"
	for dep in $(modinfo -F depends "$dst" | tr ',' ' '); do
		add_module "$dep"
	done
	echo "/lib/modules/$KVER/$name.ko" >>"$ROOT/etc/modules.order"
}

add_modules() {
	local f base
	declare -gA MODFILES=() ADDED=()
	while IFS= read -r f; do
		base=$(basename "$f")
		base=${base%%.ko*}
		MODFILES[${base//-/_}]=$f
	done < <(find "$KMODS" -name '*.ko*' | sort)
	: >"$ROOT/etc/modules.order"
	for m in "${MODULES[@]}"; do
		add_module "$m"
	done
}

add_busybox() {
	local applet
	install -m 0755 "$WORK/bb/bin/busybox" "$ROOT/bin/busybox"
	for applet in $("$ROOT/bin/busybox" --list-full); do
		[[ $applet == bin/busybox || $applet == linuxrc ]] && continue
		mkdir -p "$ROOT/$(dirname "$applet")"
		ln -sf /bin/busybox "$ROOT/$applet"
	done
}

add_config() {
	install -m 0755 "$HERE/init.sh" "$ROOT/init"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOT/etc/passwd"
	printf 'root:x:0:\n' >"$ROOT/etc/group"
	# Static glibc NSS without this file segfaults busybox wget and ps.
	printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$ROOT/etc/nsswitch.conf"
	mkdir -p "$ROOT/etc/acpi/PWRF"
	printf '#!/bin/sh\n# ACPI power button (QMP system_powerdown).\nsync\npoweroff -f\n' >"$ROOT/etc/acpi/PWRF/00000080"
	chmod 0755 "$ROOT/etc/acpi/PWRF/00000080"
	ln -s /run "$ROOT/var/run"
}

build_initrd() {
	ROOT=$WORK/root
	mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,root,www,var/log,lib/modules}
	chmod 0700 "$ROOT/root"
	chmod 1777 "$ROOT/tmp"
	add_busybox
	add_iops
	add_modules
	add_config
	find "$ROOT" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	(cd "$ROOT" && find . -print0 | sort -z |
		cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
		gzip -9 -n >"$OUT_TMP/initrd.img"
}

# write_syslinux_cfg prints the (sys|iso)linux config; $1, if given, is appended to the kernel command line.
write_syslinux_cfg() {
	cat <<EOF
SERIAL 0 115200
PROMPT 0
TIMEOUT 0
DEFAULT testguest
LABEL testguest
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND $KERNEL_APPEND${1:+ $1}
EOF
}

# build_disk makes an MBR disk with one bootable FAT16 partition holding syslinux, vmlinuz and initrd.img.
# No loop devices: the partition is built as its own file with mtools and copied in.
build_disk() {
	local raw=$WORK/disk.raw part=$WORK/part.img sectors
	sectors=$((DISK_MIB * 2048 - PART_START))
	write_syslinux_cfg >"$WORK/syslinux.cfg"
	cp "$OUT_TMP/vmlinuz" "$OUT_TMP/initrd.img" "$WORK/"
	touch -d "@$SOURCE_DATE_EPOCH" "$WORK/syslinux.cfg" "$WORK/vmlinuz" "$WORK/initrd.img"

	truncate -s $((sectors * 512)) "$part"
	# --invariant: fixed volume id and timestamps.
	mkfs.fat -F 16 -n TESTGUEST -h "$PART_START" --invariant "$part" >/dev/null
	mcopy -m -i "$part" "$WORK/syslinux.cfg" "$WORK/vmlinuz" "$WORK/initrd.img" ::/
	# The installer from the syslinux .deb (not the host's): its boot sector and ldlinux are in the key.
	"$WORK/sl/usr/bin/syslinux" --install "$part"

	truncate -s $((DISK_MIB * 1024 * 1024)) "$raw"
	printf 'label: dos\nlabel-id: 0x434c4454\nstart=%d, type=e, bootable\n' "$PART_START" |
		sfdisk --quiet "$raw"
	dd if="$WORK/sc/usr/lib/syslinux/mbr/mbr.bin" of="$raw" bs=440 count=1 conv=notrunc status=none
	dd if="$part" of="$raw" bs=512 seek="$PART_START" conv=notrunc,sparse status=none
	qemu-img convert -f raw -O qcow2 "$raw" "$OUT_TMP/disk.qcow2"
}

# build_iso makes testguest.iso: an El Torito CD booted by isolinux (BIOS, no emulation), with the kernel and
# initramfs in its root, and isohybrid (an MBR that boots the same isolinux from a disk holding the ISO). The
# isolinux boot image, its MBR and ldlinux.c32 come from the .debs (in the key).
build_iso() {
	local dir=$WORK/iso
	mkdir -p "$dir/isolinux"
	install -m 0644 "$WORK/il/usr/lib/ISOLINUX/isolinux.bin" "$dir/isolinux/isolinux.bin"
	install -m 0644 "$WORK/sc/usr/lib/syslinux/modules/bios/ldlinux.c32" "$dir/isolinux/ldlinux.c32"
	write_syslinux_cfg cloudlet.boot=iso >"$dir/isolinux/isolinux.cfg"
	install -m 0644 "$OUT_TMP/vmlinuz" "$OUT_TMP/initrd.img" "$dir/"
	find "$dir" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	xorriso -as mkisofs -quiet -o "$OUT_TMP/testguest.iso" -V TESTGUEST -R -J \
		-b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
		-isohybrid-mbr "$WORK/il/usr/lib/ISOLINUX/isohdpfx.bin" \
		"$dir" 2>"$WORK/xorriso.log" || die "xorriso failed: $(tr '\n' ' ' <"$WORK/xorriso.log")"
}

build() {
	local line name version sha
	install_tools
	mkdir -p "$DEBS"
	WORK=$(mktemp -d "$OUT/.work.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT
	for line in "${PACKAGES[@]}"; do
		read -r name version sha <<<"$line"
		DEB[$name]=$(fetch_deb "$name" "$version" "$sha")
	done
	dpkg-deb -x "${DEB[$KERNEL_PKG]}" "$WORK/k"
	dpkg-deb -x "${DEB[busybox-static]}" "$WORK/bb"
	dpkg-deb -x "${DEB[syslinux-common]}" "$WORK/sc"
	dpkg-deb -x "${DEB[syslinux]}" "$WORK/sl"
	dpkg-deb -x "${DEB[isolinux]}" "$WORK/il"
	KVER=$(ls "$WORK/k/lib/modules")
	[[ $(wc -w <<<"$KVER") -eq 1 ]] || die "expected one kernel in $KERNEL_PKG, found: $KVER"
	KMODS=$WORK/k/lib/modules/$KVER

	OUT_TMP=$WORK/out
	mkdir -p "$OUT_TMP"
	cp "$WORK/k/boot/vmlinuz-$KVER" "$OUT_TMP/vmlinuz"
	build_initrd
	build_disk
	build_iso
	printf '%s\n' "${PACKAGES[@]}" >"$OUT_TMP/packages"
	touch -d "@$SOURCE_DATE_EPOCH" "$OUT_TMP"/*
	rm -rf "${OUT:?}/$KEY"
	mv -T "$OUT_TMP" "$OUT/$KEY"
}

complete() {
	[[ -f $OUT/$KEY/vmlinuz && -f $OUT/$KEY/initrd.img && -f $OUT/$KEY/disk.qcow2 && -f $OUT/$KEY/testguest.iso ]]
}

# link points OUTDIR's names at <key>/, replacing each link atomically.
link() {
	local f
	for f in vmlinuz initrd.img disk.qcow2 testguest.iso; do
		ln -sfn "$KEY/$f" "$OUT/.$f.new"
		mv -T "$OUT/.$f.new" "$OUT/$f"
	done
	echo "$KEY" >"$OUT/.key.new"
	mv -T "$OUT/.key.new" "$OUT/key"
}

# prune removes builds of other keys and leftovers of interrupted ones.
prune() {
	local d name
	for d in "$OUT"/* "$OUT"/.work.* "$DEBS"/.download.*; do
		name=$(basename "$d")
		if [[ -d $d && $name != "$KEY" && $name =~ ^([0-9a-f]{16}|\.work\..+|\.download\..+)$ ]]; then
			rm -rf "$d"
		fi
	done
}

main() {
	[[ $# -eq 1 ]] || die "usage: build.sh OUTDIR"
	HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	[[ -f $HERE/init.sh ]] || die "init.sh not found next to build.sh in $HERE"
	[[ -f $HERE/iops.c ]] || die "iops.c not found next to build.sh in $HERE"
	mkdir -p "$1"
	OUT=$(cd "$1" && pwd)
	DEBS=$OUT/debs
	declare -gA DEB=()

	# One build per OUTDIR at a time (testguest.Ensure also serialises its callers on another lock file).
	exec 9>"$OUT/.build.lock"
	flock 9

	resolve_packages_once
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
