package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
)

// QEMU runs as the configured unprivileged user: it boots, suspends and resumes with files it was given
// access to, and nothing else of the daemon's becomes readable to that user.
func TestQEMURunsAsTheUnprivilegedUser(t *testing.T) {
	d := NewDaemon(t, cloudletBin)
	// t.TempDir's top directory is 0700: open it for traversal as a real data dir's parents are.
	if err := os.Chmod(filepath.Dir(filepath.Dir(d.DataDir)), 0o711); err != nil {
		t.Fatal(err)
	}
	c := NewCloudWith(t, d, "", "--qemu-user", "nobody")
	id := c.Create("nobody", kernelImage, nil).ID
	c.WaitConsole(id, ready, 1, bootWait)
	pid := c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second).PID
	if uid := statusField(t, pid, "Uid:"); !strings.HasPrefix(uid, "65534\t65534\t65534") {
		t.Errorf("QEMU uid %q, want nobody (65534)", uid)
	}
	checkConsoleBufferWidened(t, c, id) // the daemon reaches an unprivileged QEMU's descriptors too
	c.Act(id, "suspend")
	c.WaitState(id, compute.VMSuspended, compute.PowerSuspended, 60*time.Second)
	c.Act(id, "resume")
	c.WaitState(id, compute.VMActive, compute.PowerRunning, 60*time.Second)
	for _, path := range []string{filepath.Join(d.DataDir, "catalog.db"), filepath.Join(d.DataDir, "admin-password")} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v: readable beyond root", path, st.Mode().Perm())
		}
	}
	c.DeleteAndWait(id)
}

func statusField(t *testing.T, pid int, field string) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return ""
}
