package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"cloudlet/appliance/compute"
)

// newCloud starts a daemon of this package's binary (extra serve flags allowed) and imports the test guest.
func newCloud(t *testing.T, config string, extra ...string) *Cloud {
	t.Helper()
	return NewCloud(t, cloudletBin, config, extra...)
}

// qemuStart is the /proc start time of pid, or "" when it is gone.
func qemuStart(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return fields[19]
}

func processAlive(pid int) bool { return pid > 0 && qemuStart(pid) != "" && !isZombie(pid) }

func isZombie(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	rest := string(data[strings.LastIndexByte(string(data), ')')+1:])
	return strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

func cmdline(pid int) string {
	data, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.ReplaceAll(string(data), "\x00", " ")
}

// bootDisk is the active file of an instance's boot volume (in the default pool).
func bootDisk(c *Cloud, inst compute.Instance) string {
	return filepath.Join(c.D.DataDir, "pools", "default", inst.BootVolumeID, "active.qcow2")
}
