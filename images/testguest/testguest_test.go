package testguest_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kdomanski/iso9660"

	"cloudlet/images/testguest"
	"cloudlet/internal/testkit"
)

const (
	buildTimeout = 15 * time.Minute // first build: apt-get install of tools and ~30 MB of .debs
	bootTimeout  = 120 * time.Second
)

var slirpNet = netip.MustParsePrefix("10.0.2.0/24")

func TestParseReady(t *testing.T) {
	tests := []struct {
		line    string
		want    testguest.Ready
		wantErr bool
	}{
		{line: "CLOUDLET-GUEST-READY hostname=tg ip=10.0.2.15", want: testguest.Ready{Hostname: "tg", IP: "10.0.2.15"}},
		{line: "CLOUDLET-GUEST-READY hostname=tg ip=none", want: testguest.Ready{Hostname: "tg"}},
		{line: "CLOUDLET-GUEST-READY ip=10.0.2.15 hostname=tg\r", want: testguest.Ready{Hostname: "tg", IP: "10.0.2.15"}},
		{line: "[    3.1] noise CLOUDLET-GUEST-READY hostname=a.b ip=192.168.1.2 extra=1", want: testguest.Ready{Hostname: "a.b", IP: "192.168.1.2"}},
		{line: "CLOUDLET-GUEST-BOOT kernel=6.1", wantErr: true},
		{line: "CLOUDLET-GUEST-READYX hostname=tg ip=none", wantErr: true},
		{line: "CLOUDLET-GUEST-READY ip=10.0.2.15", wantErr: true},
		{line: "CLOUDLET-GUEST-READY hostname= ip=10.0.2.15", wantErr: true},
		{line: "CLOUDLET-GUEST-READY hostname=tg", wantErr: true},
		{line: "CLOUDLET-GUEST-READY hostname=tg ip=fe80::1", wantErr: true},
		{line: "CLOUDLET-GUEST-READY hostname=tg ip=10.0.2", wantErr: true},
		{line: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := testguest.ParseReady(tt.line)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseReady(%q) error = %v, want error %v", tt.line, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseReady(%q) mismatch (-want +got):\n%s", tt.line, diff)
		}
	}
}

func TestWaitForMarker(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		prefix  string
		want    string
		wantErr error
	}{
		{name: "first line", input: "CLOUDLET-GUEST-READY hostname=a ip=none\r\nmore\r\n", prefix: "CLOUDLET-GUEST-READY", want: "CLOUDLET-GUEST-READY hostname=a ip=none"},
		{name: "after noise", input: "[ 1.0] boot\nCLOUDLET-GUEST-BOOT kernel=x\nCLOUDLET-GUEST-READY hostname=a ip=none\n", prefix: "CLOUDLET-GUEST-READY", want: "CLOUDLET-GUEST-READY hostname=a ip=none"},
		{name: "mid line", input: "x\n[ 2.0] oops CLOUDLET-GUEST-READY hostname=a ip=none\n", prefix: "CLOUDLET-GUEST-READY", want: "[ 2.0] oops CLOUDLET-GUEST-READY hostname=a ip=none"},
		{name: "last line without newline", input: "a\nCLOUDLET-GUEST-DHCP ip=10.0.2.15", prefix: "CLOUDLET-GUEST-DHCP", want: "CLOUDLET-GUEST-DHCP ip=10.0.2.15"},
		{name: "eof first", input: "a\nb\n", prefix: "CLOUDLET-GUEST-READY", wantErr: io.ErrUnexpectedEOF},
		{name: "empty", input: "", prefix: "CLOUDLET-GUEST-READY", wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := testguest.WaitForMarker(context.Background(), strings.NewReader(tt.input), tt.prefix)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("WaitForMarker() error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("WaitForMarker() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWaitForMarkerSuccessive(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("CLOUDLET-GUEST-SEED found dev=/dev/vda\nCLOUDLET-GUEST-DHCP ip=10.0.2.15\nCLOUDLET-GUEST-READY hostname=a ip=10.0.2.15\n"))
	var got []string
	for _, prefix := range []string{testguest.MarkerSeed, testguest.MarkerDHCP, testguest.MarkerReady} {
		line, err := testguest.WaitForMarker(context.Background(), r, prefix)
		if err != nil {
			t.Fatalf("WaitForMarker(%q): %v", prefix, err)
		}
		got = append(got, line)
	}
	want := []string{"CLOUDLET-GUEST-SEED found dev=/dev/vda", "CLOUDLET-GUEST-DHCP ip=10.0.2.15", "CLOUDLET-GUEST-READY hostname=a ip=10.0.2.15"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines mismatch (-want +got):\n%s", diff)
	}
}

func TestWaitForMarkerContext(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close() // ends the pending read
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := testguest.WaitForMarker(ctx, pr, testguest.MarkerReady)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitForMarker on a silent console: error = %v, want %v", err, context.DeadlineExceeded)
	}
}

func TestWriteSeedISO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seed.iso")
	if err := testguest.WriteSeedISO(path, "local-hostname: a\n", "#!/bin/sh\necho hi\n"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %v, want 0600", got)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := iso9660.OpenImage(f)
	if err != nil {
		t.Fatal(err)
	}
	label, err := img.Label()
	if err != nil || label != "cidata" {
		t.Errorf("Label() = %q, %v, want cidata", label, err)
	}
	root, err := img.RootDir()
	if err != nil {
		t.Fatal(err)
	}
	children, err := root.GetChildren()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range children {
		data, err := io.ReadAll(c.Reader())
		if err != nil {
			t.Fatal(err)
		}
		got[c.Name()] = string(data)
	}
	want := map[string]string{"meta-data": "local-hostname: a\n", "user-data": "#!/bin/sh\necho hi\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("seed files mismatch (-want +got):\n%s", diff)
	}
}

func TestBootKernelInitrd(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU; skipped in -short mode")
	}
	t.Parallel()
	paths := ensureGuest(t)
	seed := filepath.Join(t.TempDir(), "seed.iso")
	userData := "#!/bin/sh\necho CLOUDLET-TEST-CANARY $(hostname)\n"
	if err := testguest.WriteSeedISO(seed, "instance-id: tg-1\nlocal-hostname: tg-seeded\n", userData); err != nil {
		t.Fatal(err)
	}
	vm := startQEMU(t, append(directBoot(paths), seedDrive(seed)...)...)
	ready := vm.waitReady(t)

	if ready.Hostname != "tg-seeded" {
		t.Errorf("hostname = %q, want tg-seeded (from meta-data)", ready.Hostname)
	}
	checkSlirpIP(t, ready)
	for _, want := range []string{"CLOUDLET-GUEST-SEED found", "CLOUDLET-TEST-CANARY tg-seeded", "CLOUDLET-GUEST-USERDATA ran rc=0", "CLOUDLET-GUEST-HTTP port=80"} {
		if !strings.Contains(vm.console.String(), want) {
			t.Errorf("console has no %q before the ready marker", want)
		}
	}
}

func TestBootCloudConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU; skipped in -short mode")
	}
	t.Parallel()
	paths := ensureGuest(t)
	seed := filepath.Join(t.TempDir(), "seed.iso")
	userData := strings.Join([]string{
		"#cloud-config",
		"hostname: tg-config",
		"ssh_authorized_keys:",
		"  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOne one@test",
		`  - "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQKeyTwo two@test"`,
		"runcmd:",
		"  - echo not run",
		"",
	}, "\n")
	if err := testguest.WriteSeedISO(seed, "instance-id: tg-2\nlocal-hostname: tg-meta\n", userData); err != nil {
		t.Fatal(err)
	}
	vm := startQEMU(t, append(directBoot(paths), seedDrive(seed)...)...)
	ready := vm.waitReady(t)

	if ready.Hostname != "tg-config" {
		t.Errorf("hostname = %q, want tg-config (cloud-config wins over meta-data)", ready.Hostname)
	}
	checkSlirpIP(t, ready)
	if want := "CLOUDLET-GUEST-SSHKEYS count=2"; !strings.Contains(vm.console.String(), want) {
		t.Errorf("console has no %q before the ready marker", want)
	}
}

// TestPowerButton checks that an ACPI power button press (what cloudlet sends for a soft stop) powers the
// guest off, so QEMU exits by itself.
func TestPowerButton(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU; skipped in -short mode")
	}
	t.Parallel()
	paths := ensureGuest(t)
	vm := startQEMU(t, directBoot(paths)...)
	vm.waitReady(t)

	vm.hmp(t, "system_powerdown")
	select {
	case <-vm.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("QEMU still running 60s after system_powerdown")
	}
}

func TestBootDiskFirmware(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU; skipped in -short mode")
	}
	t.Parallel()
	paths := ensureGuest(t)
	vm := startQEMU(t,
		"-drive", "file="+paths.Disk+",format=qcow2,if=none,id=d0,snapshot=on",
		"-device", "virtio-blk-pci,drive=d0,bootindex=1",
	)
	ready := vm.waitReady(t)

	if ready.Hostname != "testguest" {
		t.Errorf("hostname = %q, want the default testguest", ready.Hostname)
	}
	checkSlirpIP(t, ready)
	for _, want := range []string{"SYSLINUX", "CLOUDLET-GUEST-SEED none", "CLOUDLET-GUEST-HTTP port=80"} {
		if !strings.Contains(vm.console.String(), want) {
			t.Errorf("console has no %q before the ready marker", want)
		}
	}
}

// The ISO build boots from a CD (isolinux, BIOS El Torito) onto which nothing else is needed: the guest
// says it booted from the CD and reports a blank virtio disk and the CD (sr0, on virtio-scsi) with their sizes.
func TestBootISOFromACDROM(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU; skipped in -short mode")
	}
	t.Parallel()
	paths := ensureGuest(t)
	st, err := os.Stat(paths.ISO)
	if err != nil {
		t.Fatal(err)
	}
	blank := filepath.Join(t.TempDir(), "blank.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", blank, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v: %s", err, out)
	}
	vm := startQEMU(t,
		"-drive", "file="+blank+",format=qcow2,if=none,id=d0", "-device", "virtio-blk-pci,drive=d0,bootindex=2",
		"-device", "virtio-scsi-pci,id=scsi0",
		"-drive", "file="+paths.ISO+",format=raw,if=none,id=cd0,readonly=on", "-device", "scsi-cd,drive=cd0,bus=scsi0.0,bootindex=1",
	)
	vm.waitReady(t)
	// the CD's size rounded down to whole 2 KiB sectors, as the kernel reports a CD's capacity
	want := "CLOUDLET-GUEST-BLOCK boot=iso sr0=" + strconv.FormatInt(st.Size()/2048*2048, 10) + " vda=67108864"
	if !strings.Contains(vm.console.String(), want+"\n") && !strings.Contains(vm.console.String(), want+"\r") {
		t.Errorf("console has no %q", want)
	}
}

// TestBuildDeterministic rebuilds the guest into a fresh directory (reusing the downloaded .debs) and
// compares every output byte for byte with the cached build.
func TestBuildDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the guest; skipped in -short mode")
	}
	cached := ensureGuest(t)
	dir := t.TempDir()
	if err := linkDebs(filepath.Join(filepath.Dir(cached.Dir), "debs"), filepath.Join(dir, "debs")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	fresh, err := testguest.Ensure(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(fresh.Dir) != filepath.Base(cached.Dir) {
		t.Errorf("key = %s, want %s", filepath.Base(fresh.Dir), filepath.Base(cached.Dir))
	}
	for _, name := range []string{"vmlinuz", "initrd.img", "disk.qcow2", "testguest.iso"} {
		want, got := fileSHA256(t, filepath.Join(cached.Dir, name)), fileSHA256(t, filepath.Join(fresh.Dir, name))
		if got != want {
			t.Errorf("%s: sha256 %s, cached build has %s", name, got, want)
		}
	}
}

func ensureGuest(t *testing.T) testguest.Paths {
	t.Helper()
	dir, err := testguest.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	start := time.Now()
	paths, err := testguest.Ensure(ctx, dir)
	if err != nil {
		t.Fatalf("build the test guest (needs Debian apt and, as root, installs its build tools): %v", err)
	}
	t.Logf("test guest %s ready in %v", paths.Dir, time.Since(start).Round(time.Millisecond))
	return paths
}

// directBoot is QEMU's direct kernel boot of the guest; panic=-1 with -no-reboot makes a panic end QEMU.
func directBoot(p testguest.Paths) []string {
	return []string{"-kernel", p.Kernel, "-initrd", p.Initrd, "-append", "console=ttyS0 panic=-1 no_timer_check"}
}

// seedDrive attaches a NoCloud seed ISO as a read-only virtio disk.
func seedDrive(iso string) []string {
	return []string{
		"-drive", "file=" + iso + ",format=raw,if=none,id=seed,readonly=on",
		"-device", "virtio-blk-pci,drive=seed",
	}
}

type qemu struct {
	console *testkit.SyncBuffer // everything the guest printed so far
	lines   io.Reader           // the console stream, copied into console as it is read
	monitor string              // HMP unix socket
	exited  chan struct{}       // closed when QEMU has exited
	start   time.Time
}

// startQEMU boots a 256 MiB TCG guest with slirp networking, its serial console on a pipe and an HMP
// monitor on a unix socket. Cleanup kills QEMU and logs the console if the test failed.
func startQEMU(t *testing.T, args ...string) *qemu {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close() }) // runs after launchQEMU's cleanup has stopped QEMU
	defer pw.Close()                 // QEMU has its own copy once started
	vm := launchQEMU(t, pw, append([]string{"-serial", "stdio"}, args...))
	vm.lines = io.TeeReader(pr, vm.console)
	return vm
}

// startQEMUSocketConsole is startQEMU with the serial console on a unix socket, which carries input to the
// guest too. QEMU starts the guest only once the returned console is connected, so no output is lost.
func startQEMUSocketConsole(t *testing.T, args ...string) (*qemu, *socketConsole) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "console.sock")
	vm := launchQEMU(t, nil, append([]string{
		"-chardev", "socket,id=s0,path=" + sock + ",server=on,wait=on", "-serial", "chardev:s0",
	}, args...))
	conn := dialConsole(t, vm, sock)
	console := &socketConsole{Conn: conn, r: bufio.NewReader(io.TeeReader(conn, vm.console))}
	vm.lines = console.r
	return vm, console
}

// launchQEMU starts the common machine with args added; stdout gets QEMU's standard output. Cleanup kills
// QEMU and logs the console if the test failed.
func launchQEMU(t *testing.T, stdout io.Writer, args []string) *qemu {
	t.Helper()
	bin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Fatalf("qemu-system-x86_64 not found (apt-get install qemu-system-x86); this end-to-end test does not skip: %v", err)
	}
	vm := &qemu{console: &testkit.SyncBuffer{}, monitor: filepath.Join(t.TempDir(), "hmp.sock"), exited: make(chan struct{})}
	argv := append([]string{
		"-accel", "tcg", "-nodefaults", "-no-user-config", "-machine", "q35", "-m", "256", "-smp", "1",
		"-display", "none", "-no-reboot",
		"-monitor", "unix:" + vm.monitor + ",server=on,wait=off",
		"-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0",
	}, args...)
	var stderr testkit.SyncBuffer
	cmd := exec.Command(bin, argv...)
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	vm.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s %s: %v", bin, strings.Join(argv, " "), err)
	}
	go func() {
		cmd.Wait()
		close(vm.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-vm.exited
		if t.Failed() {
			t.Logf("qemu %s\nconsole:\n%s\nqemu stderr:\n%s", strings.Join(argv, " "), vm.console.String(), stderr.String())
		}
	})
	return vm
}

// dialConsole connects to QEMU's console socket as soon as QEMU listens on it; cleanup closes it.
func dialConsole(t *testing.T, vm *qemu, sock string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.Dial("unix", sock)
		if err == nil {
			t.Cleanup(func() { conn.Close() })
			return conn
		}
		if time.Now().After(deadline) {
			t.Fatalf("connect to the QEMU console socket: %v", err)
		}
		select {
		case <-vm.exited:
			t.Fatalf("QEMU exited before listening on its console socket: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// socketConsole is the guest's serial console on a QEMU unix socket. Reads go through one buffered reader
// that also copies into the VM's console log, so waitReady and testguest.Run can take turns on it; the
// deadlines Run sets reach the socket.
type socketConsole struct {
	net.Conn
	r *bufio.Reader
}

func (c *socketConsole) Read(p []byte) (int, error) { return c.r.Read(p) }

// hmp sends one human monitor command, without waiting for its output.
func (vm *qemu) hmp(t *testing.T, command string) {
	t.Helper()
	conn, err := net.Dial("unix", vm.monitor)
	if err != nil {
		t.Fatalf("connect to QEMU monitor: %v", err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, command+"\n"); err != nil {
		t.Fatalf("monitor command %q: %v", command, err)
	}
	// Wait for the prompt after the command (the first one follows the banner): it has run by then.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var out []byte
	for buf := make([]byte, 4096); bytes.Count(out, []byte("(qemu) ")) < 2; {
		n, err := conn.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			t.Fatalf("monitor command %q: %v (output %q)", command, err, out)
		}
	}
}

func (vm *qemu) waitReady(t *testing.T) testguest.Ready {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	line, err := testguest.WaitForMarker(ctx, vm.lines, testguest.MarkerReady)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s after %v", line, time.Since(vm.start).Round(time.Millisecond))
	ready, err := testguest.ParseReady(line)
	if err != nil {
		t.Fatal(err)
	}
	return ready
}

func checkSlirpIP(t *testing.T, ready testguest.Ready) {
	t.Helper()
	addr, err := netip.ParseAddr(ready.IP)
	if err != nil || !slirpNet.Contains(addr) {
		t.Errorf("ip = %q, want an address in %v (slirp DHCP)", ready.IP, slirpNet)
	}
}

// linkDebs fills dst with the .debs of src, hard-linked where the file system allows.
func linkDebs(src, dst string) error {
	debs, err := filepath.Glob(filepath.Join(src, "*.deb"))
	if err != nil || len(debs) == 0 {
		return errors.Join(errors.New("no .debs in "+src), err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, f := range debs {
		target := filepath.Join(dst, filepath.Base(f))
		if os.Link(f, target) == nil {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestDiskHotplugMarkers: a disk plugged in after boot is reported, a blank one gets this guest's canary,
// a resize and an unplug are reported, and a second guest reads the first one's canary back.
func TestDiskHotplugMarkers(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU; skipped in -short mode")
	}
	t.Parallel()
	paths := ensureGuest(t)
	disk := filepath.Join(t.TempDir(), "data.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", disk, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v: %s", err, out)
	}
	plug := func(vm *qemu) {
		vm.hmp(t, "drive_add 0 if=none,id=data,format=qcow2,file="+disk)
		vm.hmp(t, "device_add virtio-blk-pci,drive=data,id=vdata,bus=hp1")
	}
	// q35's root bus takes no hotplug: disks go into a PCIe root port, as cloudlet's VMs have spare ones.
	hotplugPort := []string{"-device", "pcie-root-port,id=hp1,chassis=1,bus=pcie.0"}
	a := startQEMU(t, append(directBoot(paths), hotplugPort...)...)
	a.waitReady(t)
	plug(a)
	want := func(vm *qemu, prefix string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
		defer cancel()
		line, err := testguest.WaitForMarker(ctx, vm.lines, "CLOUDLET-GUEST-DISK")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(line, "CLOUDLET-GUEST-DISK "+prefix) {
			t.Fatalf("disk marker %q, want %q", line, prefix)
		}
		return line
	}
	added := want(a, "added dev=")
	dev := strings.Fields(strings.TrimPrefix(added, "CLOUDLET-GUEST-DISK added dev="))[0]
	if !strings.HasSuffix(added, "size=67108864") {
		t.Errorf("added %q, want the 64 MiB size", added)
	}
	wrote := want(a, "wrote dev="+dev+" text=CLOUDLET-DATA:testguest:")
	a.hmp(t, "block_resize data 128M")
	want(a, "resized dev="+dev+" size=134217728")
	a.hmp(t, "device_del vdata")
	want(a, "removed dev="+dev)
	quit(t, a)

	b := startQEMU(t, append(directBoot(paths), hotplugPort...)...)
	b.waitReady(t)
	plug(b)
	want(b, "added dev="+dev)
	canary := strings.TrimPrefix(wrote, "CLOUDLET-GUEST-DISK wrote dev="+dev+" text=")
	if got := want(b, "data dev="+dev+" text="); !strings.HasSuffix(got, canary) {
		t.Errorf("second guest read %q, want the first guest's %q", got, canary)
	}
}

// quit asks QEMU to exit over its monitor (the connection ends instead of a prompt) and waits for it.
func quit(t *testing.T, vm *qemu) {
	t.Helper()
	conn, err := net.Dial("unix", vm.monitor)
	if err != nil {
		t.Fatalf("connect to QEMU monitor: %v", err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "quit\n"); err != nil {
		t.Fatalf("monitor quit: %v", err)
	}
	select {
	case <-vm.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("QEMU did not quit")
	}
}

// TestIOPSMarker: booted with cloudlet.iops=vdb:1, the guest measures 4 KiB random IOPS on its second virtio
// disk (the first is the boot disk, as in cloudlet's instances) and reports them; the writes land on that
// disk and nowhere else.
func TestIOPSMarker(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU; skipped in -short mode")
	}
	t.Parallel()
	paths := ensureGuest(t)
	scratch := filepath.Join(t.TempDir(), "scratch.raw")
	if err := os.WriteFile(scratch, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(scratch, 16<<20); err != nil {
		t.Fatal(err)
	}
	vm := startQEMU(t,
		"-kernel", paths.Kernel, "-initrd", paths.Initrd, "-append", "console=ttyS0 panic=-1 no_timer_check cloudlet.iops=vdb:1",
		"-drive", "file="+paths.Disk+",format=qcow2,if=none,id=d0,snapshot=on",
		"-device", "virtio-blk-pci,drive=d0",
		"-drive", "file="+scratch+",format=raw,if=none,id=d1,cache=none",
		"-device", "virtio-blk-pci,drive=d1",
	)
	vm.waitReady(t)
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	line, err := testguest.WaitForMarker(ctx, vm.lines, "CLOUDLET-GUEST-IOPS")
	if err != nil {
		t.Fatalf("%v (console: %s)", err, vm.console.String())
	}
	t.Log(line)
	_, rest, _ := strings.Cut(line, "CLOUDLET-GUEST-IOPS ")
	fields := map[string]string{}
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	if fields["dev"] != "vdb" {
		t.Errorf("marker %q: dev=%q, want vdb", line, fields["dev"])
	}
	for _, k := range []string{"read", "write"} {
		if n, err := strconv.Atoi(fields[k]); err != nil || n <= 0 {
			t.Errorf("marker %q: %s=%q, want a positive number", line, k, fields[k])
		}
	}
	if strings.Contains(vm.console.String(), "CLOUDLET-GUEST-WARN iops") {
		t.Errorf("console has an iops warning:\n%s", vm.console.String())
	}
	quit(t, vm)
	data, err := os.ReadFile(scratch)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, bytes.Repeat([]byte{0xa5}, 4096)) {
		t.Error("no 4 KiB block of the write pattern 0xa5 on the scratch disk (vdb)")
	}
}

// TestCommandChannel: a test runs shell commands on the guest over its serial console and gets back each
// command's output lines, in order, and its exit code. Heartbeat markers interleave without splitting a
// line, malformed lines are refused without running anything, and the channel keeps serving after a failing
// command and after one that hangs past the guest's 60 s timeout.
func TestCommandChannel(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU; skipped in -short mode")
	}
	t.Parallel()
	paths := ensureGuest(t)
	vm, console := startQEMUSocketConsole(t,
		"-kernel", paths.Kernel, "-initrd", paths.Initrd, "-append", "console=ttyS0 panic=-1 no_timer_check cloudlet.heartbeat=1")
	vm.waitReady(t)

	var hundred []string
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, strconv.Itoa(i))
	}
	steps := []struct {
		id, command string
		want        testguest.Result
	}{
		{id: "echo", command: "echo hello", want: testguest.Result{Output: []string{"hello"}}},
		{id: "fail", command: "exit 3", want: testguest.Result{RC: 3}},
		{id: "after-fail", command: "echo still serving", want: testguest.Result{Output: []string{"still serving"}}},
		{id: "http", command: "wget -q -O - http://127.0.0.1/", want: testguest.Result{Output: []string{"cloudlet-testguest testguest"}}},
		{id: "lines", command: "seq 1 100; echo to-stderr >&2", want: testguest.Result{Output: append(hundred, "to-stderr")}},
		{id: "quoting", command: `printf '%s\n' "a  b" 'c\d' ' x' '' "$HOME"; printf 'no newline'`,
			want: testguest.Result{Output: []string{"a  b", `c\d`, " x", "", "/root", "no newline"}}},
		{id: "stdin", command: "cat; pwd", want: testguest.Result{Output: []string{"/root"}}}, // stdin is /dev/null
		{id: "looks-like-a-marker", command: "echo CLOUDLET-GUEST-RAN looks-like-a-marker rc=9",
			want: testguest.Result{Output: []string{"CLOUDLET-GUEST-RAN looks-like-a-marker rc=9"}}},
	}
	for _, s := range steps {
		got := runOnGuest(t, console, s.id, s.command, 30*time.Second)
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("Run(%q) mismatch (-want +got):\n%s", s.command, diff)
		}
	}

	refuseMalformed(t, console, "CLOUDLET-RUN bad! touch /tmp/ran", "CLOUDLET-RUN ok", "touch /tmp/ran")
	if got := runOnGuest(t, console, "not-ran", "test -e /tmp/ran", 30*time.Second); got.RC != 1 {
		t.Errorf("after malformed lines: /tmp/ran exists (test -e rc=%d), want them not run", got.RC)
	}

	hung := runOnGuest(t, console, "hung", `trap "" TERM; echo started; sleep 600`, 120*time.Second)
	if want := (testguest.Result{Output: []string{"started", "Killed"}, RC: 137}); !cmp.Equal(want, hung) {
		t.Errorf("a command ignoring SIGTERM past the timeout: %+v, want %+v (killed)", hung, want)
	}
	if got := runOnGuest(t, console, "after-hang", "echo still serving", 30*time.Second); !cmp.Equal(got.Output, []string{"still serving"}) {
		t.Errorf("after a hung command: output %q, want [still serving]", got.Output)
	}
	checkMarkerLines(t, vm.console.String())
}

// checkMarkerLines checks the console after the ready marker: every line is a whole marker, none split or
// run together, and the heartbeat went on through the hung command, whose answer Run found past it.
func checkMarkerLines(t *testing.T, console string) {
	t.Helper()
	_, after, _ := strings.Cut(console, testguest.MarkerReady)
	lines := strings.Split(strings.TrimRight(after, "\r\n"), "\n")[1:]
	for _, l := range lines {
		l = strings.TrimRight(l, "\r")
		if !strings.HasPrefix(l, "CLOUDLET-GUEST-") || strings.LastIndex(l, "CLOUDLET-GUEST-UPTIME") > 0 {
			t.Errorf("console line %q after the ready marker: want one whole marker", l)
		}
	}
	_, during, _ := strings.Cut(console, "CLOUDLET-GUEST-RAN not-ran ")
	during, _, _ = strings.Cut(during, "CLOUDLET-GUEST-OUT hung started")
	if n := strings.Count(during, "CLOUDLET-GUEST-UPTIME "); n < 30 {
		t.Errorf("%d heartbeat markers while the hung command ran, want one a second", n)
	}
}

// runOnGuest runs command on the guest with testguest.Run, failing the test on an error.
func runOnGuest(t *testing.T, console *socketConsole, id, command string, timeout time.Duration) testguest.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	res, err := testguest.Run(ctx, console, id, command)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: rc=%d, %d lines, %v", command, res.RC, len(res.Output), time.Since(start).Round(time.Millisecond))
	return res
}

// refuseMalformed writes each line raw to the guest's console and waits for the guest to refuse it.
func refuseMalformed(t *testing.T, console *socketConsole, lines ...string) {
	t.Helper()
	for _, line := range lines {
		if _, err := io.WriteString(console, line+"\n"); err != nil {
			t.Fatalf("write %q to the console: %v", line, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := testguest.WaitForMarker(ctx, console.r, testguest.MarkerWarn+" bad command line")
		cancel()
		if err != nil {
			t.Fatalf("malformed line %q: %v", line, err)
		}
	}
}
