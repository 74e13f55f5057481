package qemu_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/qemu"
	"cloudlet/images/testguest"
)

// TestBootDirectKernel boots the test guest by direct kernel boot with commas in every path QEMU
// gets, resumes it over QMP and waits for its ready marker in the console log.
func TestBootDirectKernel(t *testing.T) {
	skipShort(t)
	t.Parallel()
	guest := ensureGuest(t)
	root := t.TempDir()
	kernelDir := filepath.Join(root, "k,1")
	spec := testSpec(t, filepath.Join(root, "r,1"), filepath.Join(root, "s,1"))
	spec.Kernel, spec.Initrd = filepath.Join(kernelDir, "vmlinuz"), filepath.Join(kernelDir, "initrd.img")
	spec.Cmdline = "console=ttyS0 panic=-1 no_timer_check"
	if err := os.Mkdir(kernelDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, link := range [][2]string{{guest.Kernel, spec.Kernel}, {guest.Initrd, spec.Initrd}} {
		if err := os.Symlink(link[0], link[1]); err != nil {
			t.Fatal(err)
		}
	}

	began := time.Now()
	p := start(t, spec, qemu.StartOptions{})
	t.Logf("Start returned after %v", time.Since(began).Round(time.Millisecond))
	checkRunning(t, p, spec)
	dialQMP(t, spec.Paths.QMP).run(t, "cont")
	line := waitConsole(t, spec.Paths.ConsoleLog, testguest.MarkerReady)
	t.Logf("%s after %v", line, time.Since(began).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := p.ExitStatus(), "signal: killed"; got != want {
		t.Errorf("ExitStatus() = %q, want %q", got, want)
	}
	checkCleanup(t, spec.Paths)
}

// checkRunning checks what a started QEMU leaves on the host: pidfile, identity, sockets, VNC.
func checkRunning(t *testing.T, p *qemu.Process, spec qemu.Spec) {
	t.Helper()
	pidfile, err := os.ReadFile(spec.Paths.PIDFile)
	if err != nil || string(pidfile) != strconv.Itoa(p.PID())+"\n" {
		t.Errorf("pidfile = %q, %v; want %d", pidfile, err, p.PID())
	}
	if got, want := p.StartTime(), procStartTime(t, p.PID()); got != want {
		t.Errorf("StartTime() = %d, /proc says %d", got, want)
	}
	if !cmdlineHasUUID(p.PID(), spec.UUID) {
		t.Errorf("/proc/%d/cmdline has no -uuid %s", p.PID(), spec.UUID)
	}
	for _, sock := range []string{spec.Paths.QMP, spec.Paths.VNC, spec.Paths.Console, spec.Paths.Agent, spec.Paths.Ready} {
		if fi, err := os.Lstat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
			t.Errorf("socket %s: %v, mode %v", sock, err, fi)
		}
	}
	for _, dir := range []string{spec.Paths.RunDir, spec.Paths.StateDir} {
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, mode %v; want 0700", dir, err, fi)
		}
	}
	checkVNC(t, spec.Paths.VNC)
	select {
	case <-p.Exited():
		t.Fatalf("Exited() closed for a running QEMU (%s)", p.ExitStatus())
	default:
	}
}

// checkVNC reads the RFB protocol version QEMU's VNC server sends first.
func checkVNC(t *testing.T, socket string) {
	t.Helper()
	conn, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatalf("VNC: %v", err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	banner := make([]byte, 12)
	if _, err := io.ReadFull(conn, banner); err != nil || !strings.HasPrefix(string(banner), "RFB 003.") {
		t.Errorf("VNC banner = %q, %v; want RFB 003.x", banner, err)
	}
}

// checkCleanup runs Cleanup after the process exited: the run directory goes, the console log stays.
func checkCleanup(t *testing.T, paths qemu.Paths) {
	t.Helper()
	for range 2 { // the second time finds nothing to do
		if err := qemu.Cleanup(paths); err != nil {
			t.Fatalf("Cleanup: %v", err)
		}
	}
	if exists(paths.RunDir) {
		t.Errorf("run dir %s still there after Cleanup", paths.RunDir)
	}
	if !exists(paths.ConsoleLog) {
		t.Errorf("console log %s removed by Cleanup", paths.ConsoleLog)
	}
}

// TestBootDisk boots the test guest's disk under SeaBIOS through a qcow2 overlay, and powers it off
// over QMP: QEMU exits on its own and Exited reports it.
func TestBootDisk(t *testing.T) {
	skipShort(t)
	t.Parallel()
	guest := ensureGuest(t)
	root := t.TempDir()
	overlay := filepath.Join(root, "root.qcow2")
	out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-b", guest.Disk, "-F", "qcow2", overlay).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img create: %v: %s", err, out)
	}
	spec := testSpec(t, filepath.Join(root, "r"), filepath.Join(root, "s"))
	spec.Disks = []qemu.Disk{{Name: "root", Path: overlay, Format: qemu.FormatQcow2, BootIndex: 1, Serial: "root-1"}}

	began := time.Now()
	p := start(t, spec, qemu.StartOptions{})
	monitor := dialQMP(t, spec.Paths.QMP)
	monitor.run(t, "cont")
	line := waitConsole(t, spec.Paths.ConsoleLog, testguest.MarkerReady)
	t.Logf("%s after %v", line, time.Since(began).Round(time.Millisecond))
	if console, _ := os.ReadFile(spec.Paths.ConsoleLog); !strings.Contains(string(console), "SYSLINUX") {
		t.Errorf("console has no SYSLINUX banner: not a firmware + disk boot")
	}

	monitor.run(t, "system_powerdown")
	select {
	case <-p.Exited():
	case <-time.After(60 * time.Second):
		t.Fatal("QEMU still running 60s after system_powerdown")
	}
	if got, want := p.ExitStatus(), "exit status 0"; got != want {
		t.Errorf("ExitStatus() = %q, want %q", got, want)
	}
	if err := p.Signal(0); !errors.Is(err, qemu.ErrNotRunning) {
		t.Errorf("Signal after exit = %v, want ErrNotRunning", err)
	}
}

// TestBootUEFI boots the test guest's kernel under OVMF from a per-instance copy of the variables.
func TestBootUEFI(t *testing.T) {
	skipShort(t)
	t.Parallel()
	const code, vars = "/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"
	guest := ensureGuest(t)
	root := t.TempDir()
	spec := testSpec(t, filepath.Join(root, "r"), filepath.Join(root, "s"))
	spec.Kernel, spec.Initrd, spec.Cmdline = guest.Kernel, guest.Initrd, "console=ttyS0 panic=-1 no_timer_check"
	spec.Firmware = qemu.Firmware{Kind: qemu.FirmwareUEFI, Code: code, Vars: filepath.Join(root, "vars.fd")}
	data, err := os.ReadFile(vars)
	if err != nil {
		t.Fatalf("OVMF (apt-get install ovmf): %v", err)
	}
	if err := os.WriteFile(spec.Firmware.Vars, data, 0o600); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	start(t, spec, qemu.StartOptions{})
	dialQMP(t, spec.Paths.QMP).run(t, "cont")
	line := waitConsole(t, spec.Paths.ConsoleLog, testguest.MarkerReady)
	t.Logf("%s after %v", line, time.Since(began).Round(time.Millisecond))
}
