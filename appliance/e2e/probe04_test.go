package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cloudlet/appliance/identity"
)

// Sources of the finding 4 test, all on the namespace's loopback: the attacker holding connections,
// the admin, and a client flooding writes without a login.
const (
	attackerSource = "127.0.0.1"
	adminSource    = "127.0.0.2"
	floodSource    = "127.0.0.3"
)

// auditWindow is the daemon's unauthenticated_audit_window in this test (a minute by default).
const auditWindow = 2 * time.Second

// TestProbe04ExhaustionWithoutLoginLeavesTheAPIUp: 5,000 idle and slow-body connections from one
// source, and 2,000 writes and 3 logins refused without a login from another, do not stop /healthz
// answering or the admin logging in from a third source; the daemon holds no more than its
// per-source cap of the attacker's connections, and the refused writes cost a few aggregated audit
// entries, not one each.
func TestProbe04ExhaustionWithoutLoginLeavesTheAPIUp(t *testing.T) {
	raiseOpenFiles(t, 6000)
	d := NewDaemon(t, cloudletBin)
	d.Start(t, "--config", writeFile(t, "cloudlet.json", fmt.Sprintf(`{"unauthenticated_audit_window": %q}`, auditWindow)))
	d.WaitReady(t)
	checkDaemonOpenFiles(t, d.Cmd.Process.Pid)
	before := auditPage(t, d, 0)
	fdsBefore := openFDs(t, d.Cmd.Process.Pid)

	const floods, logins = 2000, 3
	start := time.Now()
	floodWrites(t, d.Listen, floods, logins)
	t.Logf("%d writes and %d logins refused in %v", floods, logins, time.Since(start))
	held := holdConnections(t, d.Listen, 5000)
	t.Logf("%d connections held after %v", len(held), time.Since(start))
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	if fds := openFDs(t, d.Cmd.Process.Pid); fds > fdsBefore+64+16 {
		t.Errorf("the daemon has %d open files while one source holds 5,000 connections (%d before): more than its per-source cap of 64", fds, fdsBefore)
	}

	admin := clientFrom(adminSource)
	resp, err := admin.Get("http://" + d.Listen + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz from %s under attack = %v, %v", adminSource, resp, err)
	}
	resp.Body.Close()
	if code := adminLogin(t, admin, d); code != http.StatusCreated {
		t.Fatalf("admin login from %s under attack = %d, want 201", adminSource, code)
	}

	entries := waitAggregated(t, d, before.Next, floods+logins)
	individual, aggregated := 0, 0
	for _, e := range entries {
		if e.Count == 0 {
			individual++
		} else {
			aggregated++
		}
	}
	// One aggregated entry per (source, route, status) per window: a few keys over the attack's windows.
	windows := int(time.Since(start)/auditWindow) + 2
	if individual != 1 || aggregated > 6*windows {
		t.Errorf("%d individual and %d aggregated audit entries after the attack, want 1 (the admin's login) and at most 6 per window (%d windows)",
			individual, aggregated, windows)
	}
	for _, e := range entries {
		t.Logf("audit: %s %s %s %d from %s count %d", e.Action, e.Method, e.Path, e.Status, e.Source, e.Count)
	}
	size, _ := os.Stat(filepath.Join(d.DataDir, "catalog.db"))
	t.Logf("%d held connections; audit entries %d individual, %d aggregated; catalog.db %d bytes", len(held), individual, aggregated, size.Size())
}

// raiseOpenFiles makes sure this test process may hold n descriptors.
func raiseOpenFiles(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	lim.Cur = min(lim.Max, n)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < n {
		t.Fatalf("this test holds %d connections: raise the open-files limit (now %d, hard %d): %v", n, lim.Cur, lim.Max, err)
	}
}

// checkDaemonOpenFiles: the daemon runs with its soft open-files limit raised to the hard one.
func checkDaemonOpenFiles(t *testing.T, pid int) {
	t.Helper()
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(limits), "\n") {
		if f := strings.Fields(strings.TrimPrefix(line, "Max open files")); len(f) >= 2 && strings.HasPrefix(line, "Max open files") {
			soft, _ := strconv.ParseUint(f[0], 10, 64)
			hard, _ := strconv.ParseUint(f[1], 10, 64)
			if soft+1 < hard {
				t.Errorf("daemon open-files limit %d, hard %d: want the soft limit raised to the hard one", soft, hard)
			}
			return
		}
	}
	t.Fatalf("no open-files line in /proc/%d/limits", pid)
}

func openFDs(t *testing.T, pid int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// clientFrom is an HTTP client whose connections come from source.
func clientFrom(source string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

// floodWrites sends writes without a login and failed logins of a user that does not exist (so
// admin stays unthrottled) from floodSource, four at a time.
func floodWrites(t *testing.T, addr string, writes, logins int) {
	t.Helper()
	c := clientFrom(floodSource)
	jobs := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused := map[int]int{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for path := range jobs {
				body := `{"name":"flood","subnet":{"cidr":"10.77.0.0/24"}}`
				if path == "/api/v1/auth/tokens" {
					body = `{"username":"nobody","password":"wrong-password","project":"admin"}`
				}
				resp, err := c.Post("http://"+addr+path, "application/json", strings.NewReader(body))
				mu.Lock()
				if err != nil {
					refused[-1]++
				} else {
					refused[resp.StatusCode]++
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				mu.Unlock()
			}
		}()
	}
	for i := range writes + logins {
		if i < logins {
			jobs <- "/api/v1/auth/tokens"
		} else {
			jobs <- "/api/v1/networks"
		}
	}
	close(jobs)
	wg.Wait()
	if refused[401]+refused[429] != writes+logins {
		t.Fatalf("answers to %d writes and logins without a login: %v, want only 401s and 429s", writes+logins, refused)
	}
}

// holdConnections opens n connections from attackerSource and keeps them: a third send nothing, a
// third start a write without a login and trickle its body, a third start a login the same way.
func holdConnections(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	starts := []string{"",
		"POST /api/v1/networks HTTP/1.1\r\nHost: cloudlet\r\nContent-Length: 1000000\r\n\r\n{",
		"POST /api/v1/auth/tokens HTTP/1.1\r\nHost: cloudlet\r\nContent-Length: 1000000\r\n\r\n{"}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(attackerSource)}, Timeout: 10 * time.Second}
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	for w := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 50 {
				c, err := d.Dial("tcp", addr)
				if err != nil {
					continue // a full accept queue: the attacker's problem
				}
				io.WriteString(c, starts[i%len(starts)])
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	held := conns[:0]
	for _, c := range conns {
		if c != nil {
			held = append(held, c)
		}
	}
	if len(held) < n/2 {
		t.Fatalf("only %d of %d attacking connections opened", len(held), n)
	}
	return held
}

// adminLogin logs in as admin with c and returns the status.
func adminLogin(t *testing.T, c *http.Client, d *Daemon) int {
	t.Helper()
	pw, err := os.ReadFile(filepath.Join(d.DataDir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"username":"admin","password":%q,"project":"admin"}`, strings.TrimSpace(string(pw)))
	resp, err := c.Post("http://"+d.Listen+"/api/v1/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("admin login: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func auditPage(t *testing.T, d *Daemon, since uint64) identity.AuditPage {
	t.Helper()
	var page identity.AuditPage
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Client().Do(ctx, "GET", fmt.Sprintf("/api/v1/audit?since=%d", since), nil, &page); err != nil {
		t.Fatalf("read the audit log: %v", err)
	}
	return page
}

// waitAggregated waits until the aggregated entries from floodSource after since count want
// failures, and returns every entry after since.
func waitAggregated(t *testing.T, d *Daemon, since uint64, want int) []*identity.AuditEntry {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		page := auditPage(t, d, since)
		got := 0
		for _, e := range page.Entries {
			if e.Source == floodSource {
				got += e.Count
			}
		}
		if got == want {
			return page.Entries
		}
		if got > want || time.Now().After(deadline) {
			t.Fatalf("aggregated audit entries from %s count %d failures, want %d: %+v", floodSource, got, want, page.Entries)
		}
		time.Sleep(200 * time.Millisecond) // polls the audit log; orders nothing
	}
}
