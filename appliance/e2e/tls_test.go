package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloudlet/web/client"
)

// Finding 11: the daemon on a non-loopback address (a veth inside the test's own namespace)
// answers only HTTPS, with the certificate it made in its data dir; the fingerprint it prints and
// shows in `cloudlet host` is the served one; `cloudlet login` trusts it by fingerprint, and after
// the certificate is replaced the stored login is refused with both fingerprints named.
func TestProbe11NonLoopbackServesOnlyHTTPSAndLoginPinsTheCertificate(t *testing.T) {
	addr := AddLANAddress(t, "cltls0", "10.77.0.1/24")
	d := NewDaemon(t, cloudletBin)
	d.Listen = FreePortOn(t, addr)
	d.Start(t)
	d.WaitReady(t)
	base := "https://" + d.Listen
	fp := servedFingerprint(t, d)
	if !strings.Contains(d.Stdout(), "TLS fingerprint:   "+fp) || !strings.Contains(d.Stdout(), base) {
		t.Errorf("start output does not show %s and the fingerprint %s:\n%s", base, fp, d.Stdout())
	}
	password := adminPassword(t, d)
	assertPlainHTTPGetsNoAPI(t, d.Listen, password)

	pinned := client.New(client.Options{URL: base, Fingerprint: fp, Timeout: 10 * time.Second})
	if err := pinned.Do(context.Background(), "GET", "/healthz", nil, nil); err != nil {
		t.Errorf("HTTPS with the pinned fingerprint: %v", err)
	}
	unpinned := client.New(client.Options{URL: base, Timeout: 10 * time.Second})
	if err := unpinned.Do(context.Background(), "GET", "/healthz", nil, nil); err == nil {
		t.Error("HTTPS verified by the system's CAs trusted the self-signed certificate")
	}
	if got := hostFingerprint(t, d); got != fp {
		t.Errorf("cloudlet host shows %q, the daemon serves %s", got, fp)
	}

	home := t.TempDir()
	login := []string{"login", "--url", base, "--user", "admin", "--project", "admin", "--password-stdin"}
	if _, errOut, code := cliWithConfig(t, home, password+"\n", login...); code == 0 || !strings.Contains(errOut, "--fingerprint "+fp) {
		t.Errorf("login without a terminal or --fingerprint = %d %q, want refused naming the fingerprint", code, errOut)
	}
	if _, errOut, code := cliWithConfig(t, home, password+"\n", append(login, "--fingerprint", fp)...); code != 0 {
		t.Fatalf("login --fingerprint = %d: %s", code, errOut)
	}
	if out, errOut, code := cliWithConfig(t, home, "", "project", "list"); code != 0 || !strings.Contains(out, "admin") {
		t.Fatalf("project list over the stored pinned login = %d %q %q", code, out, errOut)
	}

	// The certificate is replaced: delete the tls dir and restart.
	if err := d.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, exited := d.Wait(30 * time.Second); !exited {
		t.Fatal("daemon did not stop on SIGTERM")
	}
	if err := os.RemoveAll(filepath.Join(d.DataDir, "tls")); err != nil {
		t.Fatal(err)
	}
	d.Start(t)
	d.WaitReady(t)
	fresh := servedFingerprint(t, d)
	if fresh == fp {
		t.Fatalf("the restarted daemon kept fingerprint %s after its tls dir was removed", fp)
	}
	for _, args := range [][]string{{"project", "list"}, {"login", "--password-stdin"}} {
		_, errOut, code := cliWithConfig(t, home, password+"\n", args...)
		if code == 0 || !strings.Contains(errOut, fp) || !strings.Contains(errOut, fresh) || !strings.Contains(errOut, "--fingerprint "+fresh) {
			t.Errorf("%v after the certificate changed = %d %q, want refused naming %s, %s and how to re-trust", args, code, errOut, fp, fresh)
		}
	}
}

// servedFingerprint is the fingerprint of the certificate in the daemon's data dir, checked to be
// the one its listener presents.
func servedFingerprint(t *testing.T, d *Daemon) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.DataDir, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("no PEM certificate in the data dir's tls/cert.pem")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatal(err)
	}
	onDisk := client.Fingerprint(block.Bytes)
	served, err := client.FetchServerCert(context.Background(), "https://"+d.Listen)
	if err != nil {
		t.Fatal(err)
	}
	if served.Fingerprint != onDisk {
		t.Fatalf("the daemon serves %s, its data dir holds %s", served.Fingerprint, onDisk)
	}
	return onDisk
}

func adminPassword(t *testing.T, d *Daemon) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(d.DataDir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(raw))
}

// assertPlainHTTPGetsNoAPI sends the admin's login in clear text: no token may come back.
func assertPlainHTTPGetsNoAPI(t *testing.T, listen, password string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": password, "project": "admin"})
	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Post("http://"+listen+"/api/v1/auth/tokens", "application/json", bytes.NewReader(body))
	if err != nil {
		return // refused outright: fine
	}
	defer resp.Body.Close()
	var answer bytes.Buffer
	answer.ReadFrom(resp.Body)
	if resp.StatusCode/100 == 2 || strings.Contains(answer.String(), `"token"`) {
		t.Errorf("plain HTTP login on a non-loopback address = %d %s", resp.StatusCode, answer.String())
	}
}

// hostFingerprint is what `cloudlet host -o json` over the socket shows.
func hostFingerprint(t *testing.T, d *Daemon) string {
	t.Helper()
	out, errOut, code := cli(t, "--socket", d.Socket, "host", "-o", "json")
	var info struct {
		TLSFingerprint string `json:"tls_fingerprint"`
	}
	if err := json.Unmarshal([]byte(out), &info); code != 0 || err != nil {
		t.Fatalf("cloudlet host -o json = %d %q %q (%v)", code, out, errOut, err)
	}
	return info.TLSFingerprint
}

// cliWithConfig runs the cloudlet binary as a client whose own config lives in home, with stdin.
func cliWithConfig(t *testing.T, home, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(cloudletBin, args...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+home, "CLOUDLET_URL=", "CLOUDLET_TOKEN=")
	cmd.Stdin = strings.NewReader(stdin)
	return RunCommand(t, cmd)
}
