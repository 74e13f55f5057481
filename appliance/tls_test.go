package appliance

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"cloudlet/web/client"
)

func TestProbe11NonLoopbackListenServesHTTPSOnly(t *testing.T) {
	for _, tc := range []struct {
		listen          string
		tls, insecure   bool
		wantTLS         bool
		wantPlainNotice bool
	}{
		{listen: "127.0.0.1:8080"},
		{listen: "127.0.0.53:8080"},
		{listen: "[::1]:8080"},
		{listen: "localhost:8080"},
		{listen: "127.0.0.1:8443", tls: true, wantTLS: true},
		{listen: "0.0.0.0:8443", wantTLS: true},
		{listen: "[::]:8443", wantTLS: true},
		{listen: ":8443", wantTLS: true},
		{listen: "192.168.1.5:8443", wantTLS: true},
		{listen: "[fe80::1%eth0]:8443", wantTLS: true},
		{listen: "cloud.lan:8443", wantTLS: true},
		{listen: "0.0.0.0:8080", insecure: true, wantPlainNotice: true},
		{listen: "127.0.0.1:8080", insecure: true},
	} {
		c := Config{Listen: tc.listen, TLS: tc.tls, InsecureHTTP: tc.insecure}
		if got := c.ServesTLS(); got != tc.wantTLS {
			t.Errorf("listen %s tls %v insecure_http %v: ServesTLS = %v, want %v", tc.listen, tc.tls, tc.insecure, got, tc.wantTLS)
		}
		if got := c.PlainHTTPOffLoopback(); got != tc.wantPlainNotice {
			t.Errorf("listen %s insecure_http %v: PlainHTTPOffLoopback = %v, want %v", tc.listen, tc.insecure, got, tc.wantPlainNotice)
		}
	}
}

func TestProbe11TLSConfigIsChecked(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"cert without key", func(c *Config) { c.TLSCert = "/etc/cloudlet/cert.pem" }, "give both"},
		{"key without cert", func(c *Config) { c.TLSKey = "/etc/cloudlet/key.pem" }, "give both"},
		{"insecure_http with tls", func(c *Config) { c.TLS, c.InsecureHTTP = true, true }, "contradicts"},
		{"insecure_http with a cert", func(c *Config) {
			c.TLSCert, c.TLSKey, c.InsecureHTTP = "/c.pem", "/k.pem", true
		}, "contradicts"},
	} {
		c := DefaultConfig()
		tc.change(&c)
		if err := c.Normalize(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Normalize = %v, want %q", tc.name, err, tc.want)
		}
	}
	c := DefaultConfig()
	c.TLSCert, c.TLSKey = "cert.pem", "key.pem"
	if err := c.Normalize(); err != nil || !filepath.IsAbs(c.TLSCert) || !filepath.IsAbs(c.TLSKey) {
		t.Errorf("relative tls_cert/tls_key: Normalize = %v, paths %s %s, want absolute", err, c.TLSCert, c.TLSKey)
	}
}

func TestProbe11CertificateNamesTheHost(t *testing.T) {
	addrs := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.1.2.3"), net.ParseIP("fe80::1"),
		net.ParseIP("2001:db8::5"), net.ParseIP("10.1.2.3")}
	got := makeCertNames("Box.", addrs, "192.168.7.2:8443")
	want := certNames{DNS: []string{"box", "localhost"}, IPs: []net.IP{net.ParseIP("192.168.7.2").To4(),
		net.ParseIP("127.0.0.1").To4(), net.ParseIP("10.1.2.3").To4(), net.ParseIP("2001:db8::5")}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("makeCertNames (-want +got):\n%s", diff)
	}
	got = makeCertNames("box", nil, "cloud.lan:8443")
	if diff := cmp.Diff([]string{"box", "localhost", "cloud.lan"}, got.DNS); diff != "" {
		t.Errorf("names with a listen host name (-want +got):\n%s", diff)
	}
}

func TestProbe11GeneratedCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	names := makeCertNames("box", []net.IP{net.ParseIP("10.1.2.3")}, "0.0.0.0:8443")
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	sc, err := loadOrCreateCert(dir, names, now)
	if err != nil {
		t.Fatal(err)
	}
	cert := parseCertFile(t, filepath.Join(dir, certFile))
	if key, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || key.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", cert.PublicKey)
	}
	if diff := cmp.Diff([]string{"box", "localhost"}, cert.DNSNames); diff != "" {
		t.Errorf("DNS SANs (-want +got):\n%s", diff)
	}
	if len(cert.IPAddresses) != 1 || !cert.IPAddresses[0].Equal(net.ParseIP("10.1.2.3")) {
		t.Errorf("IP SANs = %v, want [10.1.2.3]", cert.IPAddresses)
	}
	if cert.IsCA || len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("IsCA %v, ExtKeyUsage %v: want a server-only leaf", cert.IsCA, cert.ExtKeyUsage)
	}
	if life := cert.NotAfter.Sub(now); life < 2*365*24*time.Hour || cert.NotBefore.After(now) {
		t.Errorf("valid %s to %s: want from now for a few years", cert.NotBefore, cert.NotAfter)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "box", Roots: roots, CurrentTime: now}); err != nil {
		t.Errorf("the certificate does not verify for its host name against itself (a CA file): %v", err)
	}
	if sc.fingerprint != client.Fingerprint(cert.Raw) {
		t.Errorf("fingerprint %s, want the SHA-256 of the served DER %s", sc.fingerprint, client.Fingerprint(cert.Raw))
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, keyFile): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %04o", path, fi.Mode().Perm(), err, want)
		}
	}
}

func TestProbe11CertificateIsReusedOnRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	names := makeCertNames("box", nil, "0.0.0.0:8443")
	first, err := loadOrCreateCert(dir, names, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	again, err := loadOrCreateCert(dir, makeCertNames("renamed", nil, "0.0.0.0:9443"), time.Now())
	if err != nil || again.fingerprint != first.fingerprint {
		t.Errorf("second start: fingerprint %s (%v), want the first start's %s", again.fingerprint, err, first.fingerprint)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	fresh, err := loadOrCreateCert(dir, names, time.Now())
	if err != nil || fresh.fingerprint == first.fingerprint {
		t.Errorf("after removing %s: fingerprint %s (%v), want a new one", dir, fresh.fingerprint, err)
	}
}

func TestProbe11KeyReadableByOthersIsRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	if _, err := loadOrCreateCert(dir, makeCertNames("box", nil, ":8443"), time.Now()); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, keyFile)
	if err := os.Chmod(key, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOrCreateCert(dir, makeCertNames("box", nil, ":8443"), time.Now()); err == nil ||
		!strings.Contains(err.Error(), "chmod 600 "+key) {
		t.Errorf("key mode 0640: err = %v, want a chmod 600 hint", err)
	}
}

func TestProbe11AdminsOwnCertificateIsUsed(t *testing.T) {
	own := t.TempDir()
	certPath, keyPath := filepath.Join(own, "server.crt"), filepath.Join(own, "server.key")
	if err := writeNewCert(certPath, keyPath, makeCertNames("cloud.example", nil, ":443"), time.Now()); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Listen, cfg.TLSCert, cfg.TLSKey = t.TempDir(), "127.0.0.1:0", certPath, keyPath
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	if !cfg.ServesTLS() {
		t.Fatal("an own certificate on loopback does not serve HTTPS")
	}
	sc, err := loadServerCert(cfg, makeCertNames("box", nil, cfg.Listen), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := client.Fingerprint(parseCertFile(t, certPath).Raw); sc.fingerprint != want || sc.path != certPath {
		t.Errorf("served %s from %s, want the admin's %s from %s", sc.fingerprint, sc.path, want, certPath)
	}
	if _, err := os.Stat(cfg.TLSDir()); !os.IsNotExist(err) {
		t.Errorf("with an own certificate, %s was made anyway (%v)", cfg.TLSDir(), err)
	}
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadServerCert(cfg, certNames{}, time.Now()); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("an own key readable by everyone: err = %v", err)
	}
}

func TestProbe11ListenerSpeaksHTTPSWithItsCertificate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Listen, cfg.TLS = t.TempDir(), "127.0.0.1:0", true
	a := &Appliance{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	raw, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	l, err := a.secure(raw)
	if err != nil {
		t.Fatal(err)
	}
	a.listeners = []net.Listener{l}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{}`) })}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	served := parseCertFile(t, filepath.Join(cfg.TLSDir(), certFile))
	if a.TLSFingerprint() != client.Fingerprint(served.Raw) || !strings.HasPrefix(a.URL(), "https://") {
		t.Errorf("fingerprint %s URL %s, want %s over https", a.TLSFingerprint(), a.URL(), client.Fingerprint(served.Raw))
	}
	pinned := client.New(client.Options{URL: a.URL(), Fingerprint: a.TLSFingerprint(), Timeout: 5 * time.Second})
	if err := pinned.Do(context.Background(), "GET", "/healthz", nil, nil); err != nil {
		t.Errorf("HTTPS with the pinned fingerprint: %v", err)
	}
	plain := "http://" + strings.TrimPrefix(a.URL(), "https://")
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(plain + "/healthz")
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP on the HTTPS listener = %d %s", resp.StatusCode, body)
		}
	}
}

func parseCertFile(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s holds no PEM certificate", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
