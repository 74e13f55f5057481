package qemu_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"cloudlet/appliance/qemu"
	"cloudlet/internal/testkit"
)

// TestStartAsUser: with a Credential QEMU runs as that user, in run and state directories it owns.
func TestStartAsUser(t *testing.T) {
	skipShort(t)
	t.Parallel()
	const nobody = 65534
	root := t.TempDir()
	for _, dir := range []string{filepath.Dir(root), root} { // testing creates them 0700
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	spec := testSpec(t, filepath.Join(root, "r"), filepath.Join(root, "s"))
	p := start(t, spec, qemu.StartOptions{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}})

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID()))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") || strings.HasPrefix(line, "Gid:") {
			if fields := strings.Fields(line); fields[1] != "65534" || fields[2] != "65534" {
				t.Errorf("QEMU runs with %q, want 65534", line)
			}
		}
	}
	for _, dir := range []string{spec.Paths.RunDir, spec.Paths.StateDir} {
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err != nil || st.Uid != nobody {
			t.Errorf("%s owned by uid %d (%v), want %d", dir, st.Uid, err, nobody)
		}
	}
	dialQMP(t, spec.Paths.QMP)
}

// TestStartTapAndIncoming: QEMU takes a tap fd and an incoming-state fd passed in ExtraFiles, with
// the fd numbers the spec names, and waits for the state (status "inmigrate").
func TestStartTapAndIncoming(t *testing.T) {
	skipShort(t)
	t.Parallel()
	root := t.TempDir()
	tap := openTap(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	spec := testSpec(t, filepath.Join(root, "r"), filepath.Join(root, "s"))
	spec.NICs = []qemu.NIC{{Name: "eth0", MAC: "52:54:00:00:00:01", TapFD: 3}}
	spec.IncomingFD = 4
	start(t, spec, qemu.StartOptions{ExtraFiles: []*os.File{tap, pr}})
	tap.Close()

	m := dialQMP(t, spec.Paths.QMP)
	var status struct{ Status string }
	if err := json.Unmarshal(m.run(t, "query-status"), &status); err != nil || status.Status != "inmigrate" {
		t.Errorf("query-status = %+v, %v; want inmigrate", status, err)
	}
	mac := m.run(t, "qom-get", map[string]string{"path": "/machine/peripheral/nic-eth0", "property": "mac"})
	if string(mac) != `"52:54:00:00:00:01"` {
		t.Errorf("nic-eth0 mac = %s, want 52:54:00:00:00:01", mac)
	}
}

// openTap creates a tap device in a network namespace of its own (never the host's) and returns
// its fd. The namespace lives as long as the fd.
func openTap(t *testing.T) *os.File {
	t.Helper()
	var tap *os.File
	if err := testkit.OnThreadInNetns(func() (err error) { tap, err = newTap(); return err }); err != nil {
		t.Fatalf("open a tap device in a new network namespace: %v", err)
	}
	t.Cleanup(func() { tap.Close() })
	return tap
}

// newTap creates tap0 in the calling thread's network namespace and returns its fd.
func newTap() (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ifr, err := unix.NewIfreq("tap0")
	if err == nil {
		ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF: %w", err)
	}
	return os.NewFile(uintptr(fd), "tap0"), nil
}
