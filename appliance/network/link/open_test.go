package link_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"cloudlet/appliance/network/link"
)

// TestOpenTapQEMU: a real QEMU takes the fd from OpenTap as its NIC's tap and stays up holding it
// (the tap has carrier only while some fd is attached, and the test closed its own copy).
func TestOpenTapQEMU(t *testing.T) {
	skipShort(t)
	b := bridge(t, "net-qemu", "10.88.10.1/24")
	tp := tap(t, "port-qemu", b, "52:54:00:ab:cd:ef")
	f, err := link.OpenTap(tp.Name)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	// -pidfile names the test's temp dir: were the test binary to die, `make test` finds this QEMU by it.
	cmd := exec.Command("qemu-system-x86_64", "-nodefaults", "-display", "none", "-machine", "q35,accel=tcg", "-S",
		"-pidfile", filepath.Join(t.TempDir(), "qemu.pid"),
		"-netdev", "tap,id=n0,fd=3", "-device", "virtio-net-pci,netdev=n0,mac="+tp.MAC.String())
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start QEMU (install qemu-system-x86): %v", err)
	}
	f.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if err := cmd.Process.Kill(); err == nil {
			<-exited
		}
	})

	select {
	case err := <-exited:
		t.Fatalf("QEMU exited with the tap fd: %v\n%s", err, stderr.String())
	case <-time.After(2 * time.Second):
	}
	if got := sysNet(t, tp.Name, "carrier"); got != "1" {
		t.Errorf("%s carrier = %s while QEMU holds it, want 1", tp.Name, got)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	if got := sysNet(t, tp.Name, "carrier"); got != "0" {
		t.Errorf("%s carrier = %s after QEMU exited, want 0", tp.Name, got)
	}
	if st := readTap(t, tp.Name); !st.Persist || st.Master != b.Name {
		t.Errorf("after QEMU exited the tap is %+v, want it persistent and still on %s", st, b.Name)
	}
	if strings.TrimSpace(stderr.String()) != "" {
		t.Logf("QEMU stderr: %s", stderr.String())
	}
}

// TestOpenTapMissing: OpenTap never creates a tap (TUNSETIFF on an unknown name would).
func TestOpenTapMissing(t *testing.T) {
	skipShort(t)
	name := link.TapName("no-such-port")
	f, err := link.OpenTap(name)
	if !errors.Is(err, link.ErrNotFound) || !strings.Contains(err.Error(), name) {
		t.Errorf("OpenTap(%s) = %v, want ErrNotFound naming it", name, err)
	}
	if f != nil {
		f.Close()
	}
	if _, err := netlink.LinkByName(name); err == nil {
		t.Errorf("OpenTap created %s", name)
		link.RemoveTap(name)
	}
}

// TestOpenVhost: the device opens when the host has it, and is ErrNoVhost when not.
func TestOpenVhost(t *testing.T) {
	skipShort(t)
	_, statErr := os.Stat("/dev/vhost-net")
	f, err := link.OpenVhost()
	switch {
	case statErr == nil && err != nil:
		t.Errorf("OpenVhost with /dev/vhost-net present: %v", err)
	case statErr != nil && !errors.Is(err, link.ErrNoVhost):
		t.Errorf("OpenVhost without /dev/vhost-net = %v, want ErrNoVhost", err)
	}
	t.Logf("/dev/vhost-net: %v; OpenVhost: %v", statErr, err)
	if f != nil {
		f.Close()
	}
}
