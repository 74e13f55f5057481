// Package crashpoint kills the daemon on purpose at a named point inside a multi-step operation, so that
// a test proves recovery from that exact moment instead of hitting it by luck. It does nothing unless
// the environment variable CLOUDLET_CRASH_AT names the point (a comma-separated list may name several).
// It imports nothing from the project, so any package may mark its points.
package crashpoint

import (
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Env is the environment variable that arms crash points.
const Env = "CLOUDLET_CRASH_AT"

// The named points. Each is hit right after the step its name says.
const (
	PIDFileTemp      = "qemu.pidfile-temp"          // QEMU runs; its pidfile is written under its temporary name
	QEMUExec         = "qemu.exec"                  // QEMU runs; no pidfile names it yet
	AttachReserved   = "compute.attach-reserved"    // a volume is reserved for the instance, not plugged
	SuspendSaved     = "compute.suspend-saved"      // the guest's state is saved under suspend.state.tmp
	SuspendCommitted = "compute.suspend-committed"  // the saved state is renamed to suspend.state; QEMU still runs
	CreateRecorded   = "compute.create-recorded"    // the instance is recorded building; nothing of it is made
	BootDiskMade     = "compute.boot-disk-made"     // the boot volume exists and the record names it; no QEMU
	DeleteStopped    = "compute.delete-stopped"     // the deleted instance's QEMU is gone, its run dir removed
	DeletePortsFreed = "compute.delete-ports-freed" // its ports are released; volumes, state dir and record remain
	// DeleteVolumeDetached: a volume that goes with the deleted instance is detached, not yet deleted.
	DeleteVolumeDetached = "compute.delete-volume-detached"
	PortTapMade          = "network.port-tap-made"  // a new port is recorded and its tap made; its rules are not
	SnapshotActive       = "volume.snapshot-active" // a snapshot's new active file is published; not yet in use
)

// All lists every named point, for a harness that hits each on purpose.
var All = []string{QEMUExec, PIDFileTemp, CreateRecorded, BootDiskMade, PortTapMade, DeleteStopped,
	DeletePortsFreed, AttachReserved, SuspendSaved, SuspendCommitted, SnapshotActive, ResumeExec, RebuildOldDetached, DeleteVolumeDetached}

// Hit kills the process with SIGKILL, as kill -9 would, when the environment arms point.
func Hit(point string) {
	armed := os.Getenv(Env)
	if armed == "" || !slices.Contains(strings.Split(armed, ","), point) {
		return
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	time.Sleep(time.Hour) // the signal is on its way; never go past the point
}
