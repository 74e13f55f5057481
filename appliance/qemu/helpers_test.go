package qemu_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloudlet/appliance/qemu"
	"cloudlet/appliance/testproc"
	"cloudlet/images/testguest"
)

const (
	buildTimeout = 15 * time.Minute // first build of the test guest downloads its .debs
	bootTimeout  = 120 * time.Second
	helperEnv    = "CLOUDLET_QEMU_TEST_START_SPEC" // JSON Spec: run as the helper that starts QEMU and exits
	fakeHang     = "fake-qemu-hang"                // argv[0] base name: run as a "QEMU" that never comes up
)

// TestMain lets the test binary play two other programs: a short-lived parent of QEMU (helperEnv),
// and a fake QEMU that hangs (started through a symlink named fakeHang).
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == fakeHang {
		select {}
	}
	if spec := os.Getenv(helperEnv); spec != "" {
		os.Exit(startAndExit(spec))
	}
	os.Exit(m.Run())
}

// startAndExit starts QEMU from a JSON spec, prints its PID and returns, leaving QEMU running.
func startAndExit(specJSON string) int {
	var spec qemu.Spec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	p, err := qemu.Start(spec, qemu.StartOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(p.PID())
	return 0
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real QEMU; skipped in -short mode")
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
	paths, err := testguest.Ensure(ctx, dir)
	if err != nil {
		t.Fatalf("build the test guest: %v", err)
	}
	return paths
}

// newUUID returns a random version 4 UUID.
func newUUID(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// testSpec is a 1-vCPU, 256 MiB TCG machine with BIOS and no disks. Its run directory is
// runRoot/<first 8 hex of the uuid>, short enough for unix socket paths under t.TempDir(). Whatever
// names that directory is killed when the test ends, however it ended: QEMU runs in a session of its
// own and would outlive a test that stopped at t.Fatal before it registered its own cleanup.
func testSpec(t *testing.T, runRoot, stateRoot string) qemu.Spec {
	t.Helper()
	id := newUUID(t)
	testproc.KillOnCleanup(t, filepath.Join(runRoot, id[:8]))
	return qemu.Spec{
		UUID:      id,
		Accel:     qemu.AccelTCG,
		VCPUs:     1,
		MemoryMiB: 256,
		Firmware:  qemu.Firmware{Kind: qemu.FirmwareBIOS},
		Paths:     qemu.PathsFor(filepath.Join(runRoot, id[:8]), filepath.Join(stateRoot, id[:8])),
	}
}

// start starts spec and kills the process when the test ends, logging QEMU's output and the
// console if the test failed.
func start(t *testing.T, spec qemu.Spec, opts qemu.StartOptions) *qemu.Process {
	t.Helper()
	p, err := qemu.Start(spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Kill(ctx); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if t.Failed() {
			console, _ := qemu.ConsoleLogTail(spec.Paths.ConsoleLog, 8<<10)
			t.Logf("qemu output:\n%s\nconsole:\n%s", p.StderrTail(50), console)
		}
	})
	return p
}

// killOnCleanup kills pid when the test ends, if it is still a process started with -uuid id.
func killOnCleanup(t *testing.T, pid int, id string) {
	t.Cleanup(func() {
		if cmdlineHasUUID(pid, id) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

func cmdlineHasUUID(pid int, id string) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(data, []byte("\x00-uuid\x00"+id+"\x00"))
}

// processesWithUUID lists the live processes whose cmdline holds -uuid id.
func processesWithUUID(t *testing.T, id string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && cmdlineHasUUID(pid, id) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procStartTime reads field 22 of /proc/<pid>/stat.
func procStartTime(t *testing.T, pid int) uint64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	v, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// qmp is a minimal QMP client: this package may not import appliance/qemu/qmp.
type qmp struct {
	conn net.Conn
	r    *bufio.Reader
}

// dialQMP connects, reads the greeting and negotiates capabilities.
// qmpExchangeTimeout bounds one QMP command and its answer in these tests.
const qmpExchangeTimeout = 30 * time.Second

func dialQMP(t *testing.T, socket string) *qmp {
	t.Helper()
	conn, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// Each exchange gets its own deadline (run sets it): one for the whole connection expired while a
	// slow TCG boot was still reaching its ready marker, and the next command failed with an i/o timeout.
	conn.SetDeadline(time.Now().Add(qmpExchangeTimeout))
	m := &qmp{conn: conn, r: bufio.NewReader(conn)}
	greeting := m.read(t)
	if _, ok := greeting["QMP"]; !ok {
		t.Fatalf("QMP greeting = %v", greeting)
	}
	m.run(t, "qmp_capabilities")
	return m
}

// run executes a command with optional arguments and returns its "return" value, skipping events.
func (m *qmp) run(t *testing.T, command string, args ...any) json.RawMessage {
	t.Helper()
	req := map[string]any{"execute": command}
	if len(args) > 0 {
		req["arguments"] = args[0]
	}
	data, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	m.conn.SetDeadline(time.Now().Add(qmpExchangeTimeout))
	if _, err := m.conn.Write(append(data, '\n')); err != nil {
		t.Fatalf("qmp %s: %v", command, err)
	}
	for {
		msg := m.read(t)
		if ret, ok := msg["return"]; ok {
			return ret
		}
		if e, ok := msg["error"]; ok {
			t.Fatalf("qmp %s: %s", command, e)
		}
	}
}

func (m *qmp) read(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	line, err := m.r.ReadBytes('\n')
	if err != nil {
		t.Fatalf("qmp read: %v", err)
	}
	var msg map[string]json.RawMessage
	if err := json.Unmarshal(line, &msg); err != nil {
		t.Fatalf("qmp read %q: %v", line, err)
	}
	return msg
}

// waitConsole polls the console log until it holds marker, and returns that line.
func waitConsole(t *testing.T, path, marker string) string {
	t.Helper()
	deadline := time.Now().Add(bootTimeout)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(path)
		if i := bytes.Index(data, []byte(marker)); i >= 0 {
			line, _, _ := bytes.Cut(data[i:], []byte("\n"))
			return strings.TrimSpace(string(line))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %q in %s after %v", marker, path, bootTimeout)
	return ""
}

// startFake runs argv (not QEMU) in a process group of its own and kills the group when the test
// ends, so that the children of a shell go too.
func startFake(t *testing.T, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	waitCmdline(t, cmd.Process.Pid, argv)
	return cmd
}

// waitCmdline waits (up to 5 s) until /proc/<pid>/cmdline shows argv: on a loaded CI machine a fresh
// child was once read with another command line than the one it was started with.
func waitCmdline(t *testing.T, pid int, argv []string) {
	t.Helper()
	want := strings.Join(argv, "\x00") + "\x00"
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && string(got) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d has cmdline %q (%v), want %q", pid, got, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
