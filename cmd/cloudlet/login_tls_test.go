package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/web/client"
)

// newFakeTLSAPI is fakeAPI over https with httptest's self-signed certificate; it returns the
// certificate's fingerprint too.
func newFakeTLSAPI(t *testing.T) (*fakeAPI, string) {
	api, cert := newFakeTLSAPICert(t)
	return api, client.Fingerprint(cert)
}

func newFakeTLSAPICert(t *testing.T) (*fakeAPI, []byte) {
	f := &fakeAPI{t: t, code: http.StatusNoContent}
	srv := httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f, srv.Certificate().Raw
}

// otherCA is a self-signed CA certificate that signed nothing the tests serve.
func otherCA(t *testing.T) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// otherFingerprint is a pin no test server presents: the certificate trusted before a change.
var otherFingerprint = client.Fingerprint([]byte("the certificate the daemon had before"))

func TestProbe11LoginOverPlainHTTPToAnotherHostIsRefused(t *testing.T) {
	path := configHome(t)
	_, _, err := runIn("pw\n", "login", "--url", "http://192.0.2.10:8080", "--user", "alice", "--password-stdin")
	if err == nil || !strings.Contains(err.Error(), "clear text") || !strings.Contains(err.Error(), "https://192.0.2.10:8080") {
		t.Errorf("login over http to another host: err = %v, want refused with a hint to use https", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a refused login wrote %s", path)
	}
	g := &globals{stderr: io.Discard}
	if _, err := g.loginTrust(context.Background(), strings.NewReader(""), "http://192.0.2.10:8080", nil,
		trustFlags{insecure: true}); err != nil {
		t.Errorf("--insecure: %v, want plain http allowed when asked for", err)
	}
	for _, loopback := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"} {
		if _, err := g.loginTrust(context.Background(), strings.NewReader(""), loopback, nil, trustFlags{}); err != nil {
			t.Errorf("%s: %v, want plain http on loopback allowed", loopback, err)
		}
	}
}

func TestProbe11FirstContactWithoutTerminalNeedsFingerprint(t *testing.T) {
	path := configHome(t)
	api, fp := newFakeTLSAPI(t)
	api.answerWith(http.StatusCreated, tokenJSON)
	_, _, err := runIn("pw\n", "login", "--url", api.URL, "--user", "alice", "--password-stdin")
	if err == nil || !strings.Contains(err.Error(), "--fingerprint "+fp) {
		t.Errorf("first contact without a terminal: err = %v, want refused naming --fingerprint %s", err, fp)
	}
	if reqs := api.take(); len(reqs) != 0 {
		t.Errorf("an untrusted server got %+v", reqs)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a refused login wrote %s", path)
	}
}

func TestProbe11LoginPinsFingerprintForLaterCommands(t *testing.T) {
	path := configHome(t)
	api, fp := newFakeTLSAPI(t)
	api.answerWith(http.StatusCreated, tokenJSON)
	asOpenSSL := strings.ToUpper(strings.TrimPrefix(fp, client.FingerprintPrefix)) // pasted from openssl x509 -fingerprint
	if _, _, err := runIn("pw\n", "login", "--url", api.URL, "--user", "alice", "--password-stdin", "--fingerprint", asOpenSSL); err != nil {
		t.Fatalf("login with the server's fingerprint: %v", err)
	}
	if r := api.only(); r.Path != "/api/v1/auth/tokens" {
		t.Errorf("login sent %+v", r)
	}
	cfg, err := loadUserConfig(path)
	if err != nil || len(cfg.Logins) != 1 || cfg.Logins[0].Fingerprint != fp {
		t.Fatalf("stored logins %+v (%v), want one pinned to %s", cfg, err, fp)
	}
	api.answerWith(http.StatusOK, `[]`)
	for _, args := range [][]string{{"project", "list"}, {"--url", api.URL, "--token", "flag", "project", "list"}} {
		if _, _, err := runIn("", args...); err != nil {
			t.Errorf("%v after a pinned login: %v", args, err)
		}
		api.only()
	}
	api.answerWith(http.StatusNoContent, "")
	if _, _, err := runIn("", "logout"); err != nil {
		t.Errorf("logout over the pinned connection: %v", err)
	}
	if r := api.only(); r.Method != "DELETE" {
		t.Errorf("logout sent %+v", r)
	}
}

func TestProbe11ChangedFingerprintIsRefused(t *testing.T) {
	path := configHome(t)
	api, fp := newFakeTLSAPI(t)
	writeConfig(t, path, 0o600, storedLogin{URL: api.URL, Token: "stored", TokenID: "tok-1", User: "alice",
		ExpiresAt: time.Now().Add(time.Hour), Fingerprint: otherFingerprint})
	api.answerWith(http.StatusCreated, tokenJSON)
	for _, args := range [][]string{{"project", "list"}, {"--url", api.URL, "--token", "flag", "project", "list"},
		{"login", "--password-stdin"}} {
		_, _, err := runIn("pw\n", args...)
		if err == nil || !strings.Contains(err.Error(), otherFingerprint) || !strings.Contains(err.Error(), fp) ||
			!strings.Contains(err.Error(), "cloudlet login --fingerprint "+fp) {
			t.Errorf("%v with a changed certificate: err = %v, want both fingerprints and how to re-trust", args, err)
		}
	}
	if reqs := api.take(); len(reqs) != 0 {
		t.Errorf("a server with a changed certificate got %+v", reqs)
	}
	// Re-trusting on purpose: login with the new fingerprint replaces the pin.
	if _, _, err := runIn("pw\n", "login", "--password-stdin", "--fingerprint", fp); err != nil {
		t.Fatalf("login --fingerprint NEW: %v", err)
	}
	if cfg, _ := loadUserConfig(path); cfg.Logins[0].Fingerprint != fp {
		t.Errorf("pin after re-trusting = %s, want %s", cfg.Logins[0].Fingerprint, fp)
	}
}

func TestProbe11LoginVerifiesWithCAFile(t *testing.T) {
	path := configHome(t)
	api, der := newFakeTLSAPICert(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	api.answerWith(http.StatusCreated, tokenJSON)
	if _, _, err := runIn("pw\n", "login", "--url", api.URL, "--user", "alice", "--password-stdin", "--ca-file", ca); err != nil {
		t.Fatalf("login --ca-file: %v", err)
	}
	api.take()
	if cfg, _ := loadUserConfig(path); cfg.Logins[0].CAFile != ca || cfg.Logins[0].Fingerprint != "" {
		t.Errorf("stored login %+v, want verified by %s", cfg.Logins[0], ca)
	}
	api.answerWith(http.StatusOK, `[]`)
	if _, _, err := runIn("", "project", "list"); err != nil {
		t.Errorf("project list verified by the stored CA file: %v", err)
	}
	other := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(other, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: otherCA(t)}), 0o644); err != nil {
		t.Fatal(err)
	}
	api.take()
	if _, _, err := runIn("pw\n", "login", "--password-stdin", "--ca-file", other); err == nil {
		t.Error("login --ca-file with a CA that did not sign the server's certificate succeeded")
	}
	if reqs := api.take(); len(reqs) != 0 {
		t.Errorf("a server the CA file does not vouch for got %+v", reqs)
	}
}

func TestProbe11TrustIsConfirmedOnTheTerminal(t *testing.T) {
	const fp = "SHA256:aa"
	for _, tc := range []struct {
		answer string
		want   bool
	}{{"y\n", true}, {"yes\n", true}, {"Y\n", true}, {"\n", false}, {"n\n", false}, {"", false}, {"sure\n", false}} {
		in := strings.NewReader(tc.answer + "the password line\n")
		var prompt bytes.Buffer
		got, err := confirmTrust(in, &prompt, "https://cloud.lan:8443", fp)
		if err != nil || got != tc.want {
			t.Errorf("answer %q: trusted %v (%v), want %v", tc.answer, got, err, tc.want)
		}
		if !strings.Contains(prompt.String(), fp) || !strings.Contains(prompt.String(), "[y/N]") {
			t.Errorf("prompt %q does not show the fingerprint and [y/N]", prompt.String())
		}
		if rest, _ := io.ReadAll(in); tc.answer != "" && string(rest) != "the password line\n" {
			t.Errorf("answer %q: the confirmation read past its line, leaving %q", tc.answer, rest)
		}
	}
}
