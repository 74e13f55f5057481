#!/usr/bin/env bash
# Installs what cloudlet needs on Debian/Ubuntu, only what is missing, through apt.
#   deps.sh runtime   QEMU, qemu-img, iptables, nft: what the daemon runs
#   deps.sh run       runtime + what building the test guest needs (make run imports it as image "tiny")
#   deps.sh test      runtime + what the test suite uses (test guest build tools, chromium, iproute2, util-linux,
#                     dnsmasq-base: the DHCP benchmark's and the plain cloud-init boot's baseline;
#                     debootstrap, e2fsprogs: the cloud-init guest)
# Both also create the unprivileged system user QEMU runs as ($CLOUDLET_QEMU_USER, default
# cloudlet-qemu; "root" skips it): the daemon refuses to start when its qemu_user is missing.
set -euo pipefail

qemu_user="${CLOUDLET_QEMU_USER:-cloudlet-qemu}"

# ensure_qemu_user creates the QEMU user once (the command cloudlet doctor suggests).
ensure_qemu_user() {
  if [ "$qemu_user" = root ] || id "$qemu_user" >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "cloudlet needs the system user $qemu_user for QEMU; run as root, or:" >&2
    echo "sudo useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin $qemu_user" >&2
    return 1
  fi
  echo "creating system user: $qemu_user"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$qemu_user"
}

runtime_pkgs=(qemu-system-x86 qemu-utils ovmf iptables nftables iproute2)
# What images/testguest/build.sh needs: make run builds the test guest too, for its first image "tiny".
guest_pkgs=(cpio kmod dosfstools mtools fdisk util-linux gcc libc6-dev xorriso)
test_pkgs=("${guest_pkgs[@]}" dnsmasq-base debootstrap e2fsprogs)
test_pkgs+=(genisoimage openssl) # isoinfo and openssl passwd: the seed tests check ISOs and password hashes with tools written elsewhere
test_pkgs+=(chromium)            # the dashboard's browser tests drive Debian's headless Chromium (chromedp)
test_pkgs+=(python3-openstackclient) # the OpenStack API's end-to-end tests run the real openstack CLI
test_pkgs+=(tempest)                 # and Debian's tempest (33.x) runs its API subset against the daemon
# make ui (run by make run and make test) needs node and npm; a machine may have them from elsewhere.
command -v npm >/dev/null || runtime_pkgs+=(nodejs npm)

case "${1:-runtime}" in
  runtime) want=("${runtime_pkgs[@]}") ;;
  run) want=("${runtime_pkgs[@]}" "${guest_pkgs[@]}") ;;
  test) want=("${runtime_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 runtime|run|test" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then ensure_qemu_user; exit; fi

if [ "$(id -u)" -ne 0 ]; then
  echo "cloudlet needs these Debian packages: ${missing[*]}" >&2
  echo "run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
ensure_qemu_user
