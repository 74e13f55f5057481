package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// B6's baseline network, made by hand in the test's namespace next to cloudlet's: a bridge with the
// gateway address, a tap on it for the guest, and one MASQUERADE rule for its subnet. The names stay
// clear of clbr-/clt-, which the daemon reaps.
const (
	b6Bridge   = "b6br0"
	b6Tap      = "b6tap0"
	b6BaseNet  = "10.65.0.0/24"
	b6BaseGW   = "10.65.0.1"
	b6BaseIP   = "10.65.0.2"
	b6BaseMAC  = "52:54:00:b6:00:02"
	b6BaseName = "baseline"
)

// b6Masquerade is the baseline's only NAT rule (after -t nat and -A or -D).
var b6Masquerade = []string{"POSTROUTING", "-s", b6BaseNet, "!", "-d", b6BaseNet, "-j", "MASQUERADE"}

// b6HandNet makes the baseline network and returns the commands it ran; cleanup undoes them.
func b6HandNet(b *testing.B) []string {
	b.Helper()
	steps := []struct{ do, undo []string }{
		{[]string{"ip", "link", "add", b6Bridge, "type", "bridge"}, []string{"ip", "link", "del", b6Bridge}},
		{[]string{"ip", "addr", "add", b6BaseGW + "/24", "dev", b6Bridge}, nil},
		{[]string{"ip", "link", "set", b6Bridge, "up"}, nil},
		// The flags cloudlet's taps have: persistent, single queue, no packet info, a virtio-net header.
		{[]string{"ip", "tuntap", "add", "dev", b6Tap, "mode", "tap", "vnet_hdr"}, []string{"ip", "link", "del", b6Tap}},
		{[]string{"ip", "link", "set", b6Tap, "master", b6Bridge, "up"}, nil},
		{append([]string{"iptables", "-t", "nat", "-A"}, b6Masquerade...),
			append([]string{"iptables", "-t", "nat", "-D"}, b6Masquerade...)},
	}
	var ran []string
	for _, s := range steps {
		if out, err := exec.Command(s.do[0], s.do[1:]...).CombinedOutput(); err != nil {
			b.Fatalf("%s: %v: %s", strings.Join(s.do, " "), err, out)
		}
		ran = append(ran, strings.Join(s.do, " "))
		if s.undo != nil {
			undo := s.undo
			b.Cleanup(func() {
				if out, err := exec.Command(undo[0], undo[1:]...).CombinedOutput(); err != nil {
					b.Errorf("%s: %v: %s", strings.Join(undo, " "), err, out)
				}
			})
		}
	}
	// cloudlet turned forwarding on in this namespace; the baseline relies on it as well.
	if fwd, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); strings.TrimSpace(string(fwd)) != "1" {
		b.Fatalf("net.ipv4.ip_forward is %q in the test namespace, want 1 (set by the daemon)", fwd)
	}
	return ran
}

// b6OpenTap attaches to the hand-made tap the way cloudlet does for QEMU (TUNSETIFF with IFF_TAP,
// IFF_NO_PI and IFF_VNET_HDR on /dev/net/tun).
func b6OpenTap(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun for %s: %w", name, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err == nil {
		ifr.SetUint16(uint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR))
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ioctl(TUNSETIFF, %s): %w", name, err)
	}
	return os.NewFile(uintptr(fd), "tap:"+name), nil
}

var netdevFD = regexp.MustCompile(`^tap,id=[^,]+,fd=(\d+)(,vhost=on,vhostfd=(\d+))?$`)

// b6NIC checks that the daemon's argv has exactly one NIC, a tap passed as an fd, and returns the
// fds QEMU expects it (and its vhost-net device, if any) on.
func b6NIC(argv []string) (tapFD, vhostFD int, err error) {
	n := 0
	for i, a := range argv {
		if a != "-netdev" || i+1 == len(argv) {
			continue
		}
		m := netdevFD.FindStringSubmatch(argv[i+1])
		if m == nil {
			return 0, 0, fmt.Errorf("netdev %q: want tap,id=…,fd=N[,vhost=on,vhostfd=M]", argv[i+1])
		}
		tapFD, _ = strconv.Atoi(m[1])
		vhostFD, _ = strconv.Atoi(m[3])
		n++
	}
	if n != 1 {
		return 0, 0, fmt.Errorf("%d -netdev options in the daemon's argv, want 1", n)
	}
	return tapFD, vhostFD, nil
}

// withMAC is argv with the virtio-net-pci device's MAC set to mac.
func withMAC(argv []string, mac string) ([]string, error) {
	out := append([]string(nil), argv...)
	for i, a := range out {
		var dev map[string]any
		if json.Unmarshal([]byte(a), &dev) != nil || dev["driver"] != "virtio-net-pci" {
			continue
		}
		dev["mac"] = mac
		data, err := json.Marshal(dev)
		if err != nil {
			return nil, err
		}
		out[i] = string(data)
		return out, nil
	}
	return nil, fmt.Errorf("no virtio-net-pci device in the daemon's argv")
}

// b6RawGuest starts the daemon's argv by hand in dir with the NIC on the hand-made tap (and a MAC of
// its own), waits for the guest, and addresses it by hand over its command channel. The QEMU stays up
// until the benchmark ends.
func b6RawGuest(b *testing.B, tpl qemuTemplate, dir string) *b6Guest {
	b.Helper()
	tapFD, vhostFD, err := b6NIC(tpl.argv)
	if err != nil {
		b.Fatal(err)
	}
	vm, err := tpl.prepare(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(vm.kill)
	if vm.argv, err = withMAC(vm.argv, b6BaseMAC); err != nil {
		b.Fatal(err)
	}
	files, err := b6Files(tapFD, vhostFD)
	if err != nil {
		b.Fatal(err)
	}
	err = vm.startWith(files)
	for _, f := range files {
		f.Close() // QEMU has its copies
	}
	if err != nil {
		b.Fatal(err)
	}
	if err := vm.cont(10 * time.Second); err != nil {
		b.Fatal(err)
	}
	// No DHCP server on the hand-made bridge: the guest gives up waiting for a lease after 30 s; then
	// its udhcpc is stopped and eth0 addressed by hand.
	if _, err := waitMarker(vm.consoleLog, ready, bootWait); err != nil {
		b.Fatalf("raw QEMU: %v (qemu log: %s)", err, vm.log())
	}
	conn, err := net.Dial("unix", filepath.Join(vm.dir, "run", "console.sock"))
	if err != nil {
		b.Fatalf("connect to the console of the raw QEMU: %v", err)
	}
	b.Cleanup(func() { conn.Close() })
	sh := &shell{t: b, name: b6BaseName, conn: conn}
	cmd := fmt.Sprintf("killall udhcpc; sleep 1; ip -4 addr flush dev eth0 && ip addr add %s/24 dev eth0 && ip route replace default via %s",
		b6BaseIP, b6BaseGW)
	if out, rc := sh.run(cmd); rc != 0 {
		b.Fatalf("address the raw guest: rc=%d: %s", rc, out)
	}
	return &b6Guest{sh: sh, qemu: vm.cmd.Process.Pid}
}

// b6Files are the ExtraFiles that put the tap (and vhost-net) on the fds the argv names.
func b6Files(tapFD, vhostFD int) ([]*os.File, error) {
	if max(tapFD, vhostFD) != 3+min(1, vhostFD) || tapFD == vhostFD {
		return nil, fmt.Errorf("tap fd %d, vhost fd %d: want 3 (and 4), as the daemon passes them", tapFD, vhostFD)
	}
	files := make([]*os.File, max(tapFD, vhostFD)-2)
	tap, err := b6OpenTap(b6Tap)
	if err != nil {
		return nil, err
	}
	files[tapFD-3] = tap
	if vhostFD != 0 {
		vhost, err := os.OpenFile("/dev/vhost-net", os.O_RDWR, 0)
		if err != nil {
			tap.Close()
			return nil, err
		}
		files[vhostFD-3] = vhost
	}
	return files, nil
}

// startWith is rawVM.start with files on fds 3, 4, …, as the daemon passes taps to QEMU.
func (vm *rawVM) startWith(files []*os.File) error {
	log, err := os.Create(filepath.Join(vm.dir, "run", "qemu.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	vm.cmd = exec.Command(vm.argv[0], vm.argv[1:]...)
	vm.cmd.Stdout, vm.cmd.Stderr = log, log
	vm.cmd.Env, vm.cmd.Dir = []string{}, "/"
	vm.cmd.ExtraFiles = files
	vm.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := vm.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", vm.argv[0], err)
	}
	return nil
}
