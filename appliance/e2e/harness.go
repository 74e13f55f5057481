// Package e2e runs the real cloudlet binary for end-to-end tests: its tests run inside a fresh network
// namespace (internal/testkit.RunInNetns, so nothing touches the host's network and everything vanishes
// with the test process); it builds the binary, and starts, stops and kills daemons on temp dirs.
//
// It is a test helper: only _test.go files import it. It imports web/client and nothing from the
// services.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cloudlet/appliance/qemu"
	"cloudlet/web/client"
)

// BuildBinary builds cmd/cloudlet into dir and returns its path.
func BuildBinary(dir string) (string, error) {
	bin := filepath.Join(dir, "cloudlet")
	out, err := exec.Command("go", "build", "-o", bin, "cloudlet/cmd/cloudlet").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build cloudlet/cmd/cloudlet: %v: %s", err, out)
	}
	return bin, nil
}

// CLI runs bin as a client or one-shot command and returns stdout, stderr and the exit code.
func CLI(t testing.TB, bin string, args ...string) (string, string, int) {
	t.Helper()
	return RunCommand(t, exec.Command(bin, args...))
}

// RunCommand runs cmd (a cloudlet command, its environment and stdin set by the caller) and returns
// stdout, stderr and the exit code; a command that could not run ends the test.
func RunCommand(t testing.TB, cmd *exec.Cmd) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", cmd.Args, err)
	}
	return stdout.String(), stderr.String(), code
}

// FreePort returns a loopback address with a port nobody listens on right now.
func FreePort(t testing.TB) string {
	t.Helper()
	return FreePortOn(t, "127.0.0.1")
}

// FreePortOn returns an address of ip with a port nobody listens on right now.
func FreePortOn(t testing.TB, ip string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// AddLANAddress gives the test's own namespace a non-loopback address (cidr, on one end of a veth
// pair named name: this kernel has no dummy links) and returns its IP. A daemon listening there
// serves HTTPS.
func AddLANAddress(t testing.TB, name, cidr string) string {
	t.Helper()
	for _, args := range [][]string{{"link", "add", name, "type", "veth", "peer", "name", name + "p"},
		{"addr", "add", cidr, "dev", name}, {"link", "set", name, "up"}, {"link", "set", name + "p", "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", name).Run() })
	ip, _, _ := strings.Cut(cidr, "/")
	return ip
}

// Daemon is one `cloudlet serve` process started by a test.
type Daemon struct {
	Bin, DataDir, RunDir, Socket, Listen string
	Env                                  []string // extra environment for the daemon (e.g. PATH)
	Cmd                                  *exec.Cmd
	mu                                   sync.Mutex
	stdout, stderr                       bytes.Buffer
	done                                 chan struct{}
	waitErr                              error
}

// NewDaemon describes a daemon on fresh temp dirs; Start runs it.
func NewDaemon(t testing.TB, bin string) *Daemon {
	dir := t.TempDir()
	// The run dir gets a short name of its own: unix socket paths must stay under 108 bytes.
	run, err := os.MkdirTemp("", "clr")
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs last, after the daemon is killed, also when the test failed: every
	// process naming this daemon's dirs dies (its QEMUs; a child the daemon forked as it was killed,
	// which exec's QEMU only afterwards), and only then do the dirs go. Another daemon of the same test
	// has dirs of its own and is left to its own cleanup.
	roots := []string{dir, run}
	t.Cleanup(func() {
		killLeftovers(t, roots)
		os.RemoveAll(run)
	})
	return &Daemon{Bin: bin, DataDir: filepath.Join(dir, "data"), RunDir: run,
		Socket: filepath.Join(run, "cloudlet.sock"), Listen: FreePort(t)}
}

// Args are the serve flags for this daemon's dirs, plus extra.
func (d *Daemon) Args(extra ...string) []string {
	return append([]string{"serve", "--data-dir", d.DataDir, "--run-dir", d.RunDir,
		"--socket", d.Socket, "--listen", d.Listen, "--accel", "tcg", "--qemu-user", "root"}, extra...)
}

// Start runs the daemon; t.Cleanup kills it if the test did not stop it.
func (d *Daemon) Start(t testing.TB, extra ...string) {
	t.Helper()
	d.mu.Lock()
	d.stdout.Reset() // each start's output stands alone
	d.stderr.Reset()
	d.mu.Unlock()
	d.Cmd = exec.Command(d.Bin, d.Args(extra...)...)
	d.Cmd.Env = append(os.Environ(), d.Env...)
	d.Cmd.Stdout, d.Cmd.Stderr = &lockedWriter{&d.mu, &d.stdout}, &lockedWriter{&d.mu, &d.stderr}
	d.done = make(chan struct{})
	if err := d.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", d.Bin, err)
	}
	go func() { d.waitErr = d.Cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		d.Kill()
		if t.Failed() {
			t.Logf("daemon stdout:\n%s\ndaemon stderr:\n%s", d.Stdout(), d.Stderr())
		}
	})
}

// WaitReady polls /healthz on the socket until it answers or the daemon exits.
func (d *Daemon) WaitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := d.Client().Do(ctx, "GET", "/healthz", nil, nil)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-d.done:
			t.Fatalf("daemon exited before it was ready: %v\nstderr:\n%s", d.waitErr, d.Stderr())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("daemon not ready within 30s\nstderr:\n%s", d.Stderr())
}

// WaitBanner waits until the start banner's last line ("try: …") has come through the stdout pipe,
// which may be a moment after the API answers, and returns stdout.
func (d *Daemon) WaitBanner(t testing.TB) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if out := d.Stdout(); strings.Contains(out, "  try: ") {
			return out
		}
	}
	t.Fatalf("the daemon printed no whole banner:\n%s", d.Stdout())
	return ""
}

// Client talks to the daemon over its unix socket (as root: admin), for calls that only touch the
// catalog: each must answer within 10 s.
func (d *Daemon) Client() *client.Client {
	return client.New(client.Options{Socket: d.Socket, Timeout: 10 * time.Second})
}

// ImportTimeout bounds a host-file image import, which copies and hashes the whole disk inside the
// request (386 MiB for the cloud-init guest): ci18 saw one take over Client's 10 s on a machine that
// two other suites loaded.
const ImportTimeout = 5 * time.Minute

// ImportClient is Client for image imports from host files: its requests may take ImportTimeout.
func (d *Daemon) ImportClient() *client.Client {
	return client.New(client.Options{Socket: d.Socket, Timeout: ImportTimeout})
}

// AdminToken logs in as admin over the daemon's TCP listener (password from the data dir, written on the
// first start) and returns the bearer token: TCP callers, loopback included, need one.
func (d *Daemon) AdminToken(t testing.TB) string {
	t.Helper()
	pw, err := os.ReadFile(filepath.Join(d.DataDir, "admin-password"))
	if err != nil {
		t.Fatalf("admin password: %v", err)
	}
	body := fmt.Sprintf(`{"username":"admin","password":%q,"project":"admin"}`, strings.TrimSpace(string(pw)))
	resp, err := http.Post("http://"+d.Listen+"/api/v1/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("admin login: %v", err)
	}
	defer resp.Body.Close()
	var tok struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusCreated || tok.Token == "" {
		t.Fatalf("admin login = %d (%v)", resp.StatusCode, err)
	}
	return tok.Token
}

// Signal sends sig to the daemon.
func (d *Daemon) Signal(sig syscall.Signal) error { return d.Cmd.Process.Signal(sig) }

// Wait waits up to timeout for the daemon to exit and returns its exit error.
func (d *Daemon) Wait(timeout time.Duration) (error, bool) {
	select {
	case <-d.done:
		return d.waitErr, true
	case <-time.After(timeout):
		return nil, false
	}
}

// Kill sends SIGKILL (if still running) and reaps the process.
func (d *Daemon) Kill() {
	if d.Cmd == nil || d.Cmd.Process == nil {
		return
	}
	select {
	case <-d.done:
	default:
		_ = d.Cmd.Process.Kill()
		<-d.done
	}
}

// Stdout and Stderr return what the daemon printed so far.
func (d *Daemon) Stdout() string { d.mu.Lock(); defer d.mu.Unlock(); return d.stdout.String() }
func (d *Daemon) Stderr() string { d.mu.Lock(); defer d.mu.Unlock(); return d.stderr.String() }

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// reapQEMU kills every QEMU started from runRoot (identity re-checked) and waits for them to go. It
// scans again after each round and kills what it finds then too: a QEMU whose parent forked it
// before the first scan may exec only after it.
func reapQEMU(t testing.TB, runRoot string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		found, err := qemu.Scan(runRoot)
		if err != nil {
			t.Errorf("scan for QEMU under %s: %v", runRoot, err)
			return
		}
		if len(found) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("QEMU processes under %s survived SIGKILL: %v", runRoot, found)
			return
		}
		for _, f := range found {
			if err := qemu.KillFound(f); err != nil {
				t.Logf("kill QEMU pid %d: %v", f.PID, err)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ImportDir is the daemon's import directory (import_dir's default): file imports read only there.
func (d *Daemon) ImportDir() string { return filepath.Join(d.DataDir, "import") }

// Importable places the host file path into the daemon's import directory, as a hard link (a copy
// across filesystems), and returns the name a file import gives for it. Its name there is the whole
// path, flattened, so different files never collide.
func (d *Daemon) Importable(t testing.TB, path string) string {
	t.Helper()
	name := strings.ReplaceAll(strings.TrimPrefix(filepath.Clean(path), "/"), "/", "_")
	dst := filepath.Join(d.ImportDir(), name)
	if _, err := os.Stat(dst); err == nil {
		return name
	}
	if err := os.MkdirAll(d.ImportDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(path, dst); err == nil {
		return name
	}
	if err := copyFile(path, dst); err != nil {
		t.Fatalf("place %s in the import directory: %v", path, err)
	}
	return name
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}
