package client

import (
	"context"
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// tlsServer is an https test server (its own self-signed certificate) that counts the requests
// that reached it: a refused certificate must mean no request, so no token or password, was sent.
func tlsServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var seen atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		w.Write([]byte(`{"status":"ok"}`))
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestProbe11FingerprintFormat(t *testing.T) {
	der := []byte("not really a certificate")
	sum := sha256.Sum256(der)
	got := Fingerprint(der)
	if !regexp.MustCompile(`^SHA256:([0-9a-f]{2}:){31}[0-9a-f]{2}$`).MatchString(got) {
		t.Fatalf("Fingerprint = %q, want SHA256: and 32 lower-case hex pairs", got)
	}
	if want := fmt.Sprintf("%x", sum[:]); strings.ReplaceAll(strings.TrimPrefix(got, "SHA256:"), ":", "") != want {
		t.Errorf("Fingerprint = %q, not the SHA-256 %s", got, want)
	}
	openssl := "sha256:" + strings.ToUpper(strings.TrimPrefix(got, "SHA256:")) // as openssl x509 -fingerprint prints it
	for _, in := range []string{got, openssl, strings.ReplaceAll(strings.TrimPrefix(got, "SHA256:"), ":", ""), " " + got + "\n"} {
		if p, err := ParseFingerprint(in); err != nil || p != got {
			t.Errorf("ParseFingerprint(%q) = %q, %v; want %q", in, p, err, got)
		}
	}
	for _, bad := range []string{"", "SHA256:", "SHA256:ab:cd", "MD5:" + got[7:], got + ":00", strings.Replace(got, "a", "g", 1)} {
		if _, err := ParseFingerprint(bad); err == nil {
			t.Errorf("ParseFingerprint(%q) accepted it", bad)
		}
	}
}

func TestProbe11PinnedFingerprintIsTrusted(t *testing.T) {
	srv, seen := tlsServer(t)
	c := New(Options{URL: srv.URL, Token: "tok", Fingerprint: Fingerprint(srv.Certificate().Raw)})
	if err := c.Do(context.Background(), "GET", "/healthz", nil, nil); err != nil {
		t.Fatalf("Do with the server's own fingerprint pinned: %v", err)
	}
	if seen.Load() != 1 {
		t.Errorf("server saw %d requests, want 1", seen.Load())
	}
}

func TestProbe11ChangedFingerprintIsRefusedBeforeSending(t *testing.T) {
	srv, seen := tlsServer(t)
	other := Fingerprint([]byte("the certificate trusted before"))
	c := New(Options{URL: srv.URL, Token: "tok", Fingerprint: other})
	err := c.Do(context.Background(), "POST", "/api/v1/auth/tokens", map[string]string{"password": "secret"}, nil)
	var pinErr *FingerprintError
	if !errors.As(err, &pinErr) {
		t.Fatalf("Do with another fingerprint pinned: err = %v, want a *FingerprintError", err)
	}
	served := Fingerprint(srv.Certificate().Raw)
	if pinErr.Want != other || pinErr.Got != served {
		t.Errorf("FingerprintError = %+v, want Want %s Got %s", pinErr, other, served)
	}
	for _, part := range []string{other, served, "cloudlet login --fingerprint " + served} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not say %q", err, part)
		}
	}
	if seen.Load() != 0 {
		t.Errorf("server saw %d requests over a refused certificate", seen.Load())
	}
}

func TestProbe11CAFileVerifiesAndSystemCAsRefuseSelfSigned(t *testing.T) {
	srv, seen := tlsServer(t)
	err := New(Options{URL: srv.URL}).Do(context.Background(), "GET", "/healthz", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "cloudlet login --url "+srv.URL) {
		t.Fatalf("a self-signed server with neither pin nor CA file: err = %v, want refused with a login hint", err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	pool, err := LoadCAFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := New(Options{URL: srv.URL, CA: pool}).Do(context.Background(), "GET", "/healthz", nil, nil); err != nil {
		t.Errorf("Do verified by the CA file: %v", err)
	}
	if seen.Load() != 1 {
		t.Errorf("server saw %d requests, want 1 (the CA-verified one)", seen.Load())
	}
	if err := os.WriteFile(path, []byte("no PEM here"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCAFile(path); err == nil {
		t.Error("LoadCAFile accepted a file without certificates")
	}
}

func TestProbe11FetchServerCertSendsNothing(t *testing.T) {
	srv, seen := tlsServer(t)
	got, err := FetchServerCert(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if want := (ServerCert{Fingerprint: Fingerprint(srv.Certificate().Raw)}); got != want {
		t.Errorf("FetchServerCert = %+v, want %+v (self-signed: not verified)", got, want)
	}
	if seen.Load() != 0 {
		t.Errorf("reading the certificate sent %d requests", seen.Load())
	}
	if _, err := FetchServerCert(context.Background(), strings.Replace(srv.URL, "https", "http", 1)); err == nil {
		t.Error("FetchServerCert of an http URL succeeded")
	}
}
