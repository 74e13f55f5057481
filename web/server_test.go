package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/fault"
	"cloudlet/appliance/host"
	"cloudlet/appliance/identity"
	"cloudlet/appliance/network"
	"cloudlet/appliance/volume"
	"cloudlet/images"
	"cloudlet/internal/testkit"
	"cloudlet/store"
)

const (
	remoteAddr   = "192.0.2.10:40000" // TEST-NET-1: an untrusted remote caller
	loopbackAddr = "127.0.0.1:40000"
)

func testHostService() *host.Service {
	p := host.Probes{Statfs: func(string) (host.DiskSpace, error) { return host.DiskSpace{TotalBytes: 100, FreeBytes: 40}, nil }}
	facts := host.Facts{Accel: "tcg", AccelMode: "auto", AccelWarning: "using TCG"}
	return host.NewService("test", facts, "/data", "/data/catalog.db", p, time.Now)
}

// testServicesDB builds real compute, image, volume and network services over one catalog in a
// temp dir, and returns the catalog too.
func testServicesDB(t testing.TB) (*store.DB, *compute.Service, *images.Service, *volume.Service, *network.Service) {
	t.Helper()
	dir := t.TempDir()
	db := testkit.Catalog(t, dir, store.Options{})
	imgs, err := images.New(db, images.Options{Dir: filepath.Join(dir, "images")})
	if err != nil {
		t.Fatal(err)
	}
	noImages := func(context.Context, string, string) (compute.BootImage, error) {
		return compute.BootImage{}, fault.New(fault.NotFound, "no images here")
	}
	comp, err := compute.New(compute.Options{DB: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RunDir: filepath.Join(dir, "run"), StateDir: filepath.Join(dir, "state"), Images: noImages, Volumes: noVolumes{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { comp.Close() })
	vols, err := volume.New(volume.Options{DB: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	nets, err := network.New(network.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	return db, comp, imgs, vols, nets
}

// cheapArgon2 keeps password hashing fast in tests; the code path is the real one.
var cheapArgon2 = identity.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}

// testIdentity is a bootstrapped identity service over db; it returns the admin password.
func testIdentity(t testing.TB, db *store.DB, now func() time.Time) (*identity.Service, string) {
	t.Helper()
	ids, err := identity.NewWithOptions(db, identity.Options{Argon2: cheapArgon2, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	pw, err := ids.Bootstrap(filepath.Join(t.TempDir(), "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	return ids, pw
}

// noVolumes is a volume service with no volumes: these tests never boot an instance.
type noVolumes struct{ compute.Volumes }

func (noVolumes) Get(context.Context, string, string) (compute.Volume, error) {
	return compute.Volume{}, fault.New(fault.NotFound, "no volumes here")
}

// AttachedTo answers that no volume is attached (an instance's delete asks, in the background).
func (noVolumes) AttachedTo(context.Context, string) ([]compute.Volume, error) { return nil, nil }

// Reservations answers that no volume is reserved.
func (noVolumes) Reservations(context.Context, string) ([]compute.Volume, error) { return nil, nil }

func newTestServer(t *testing.T) *Server {
	t.Helper()
	db, comp, imgs, vols, nets := testServicesDB(t)
	ids, _ := testIdentity(t, db, nil)
	s, err := New(Options{
		Identity: ids,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Host:     testHostService(),
		Backup: func(w io.Writer) (int64, error) {
			n, err := w.Write([]byte("catalog-bytes"))
			return int64(n), err
		},
		MaxBodyBytes: 1024,
		Events: func(uint64, int) ([]json.RawMessage, error) {
			return []json.RawMessage{json.RawMessage(`{"seq":1}`)}, nil
		},
		Compute:        comp,
		Images:         imgs,
		Volumes:        vols,
		Networks:       nets,
		DefaultProject: "p1",
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(t testing.TB, s *Server, method, path, from string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	req.RemoteAddr = from
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) ErrorBody {
	t.Helper()
	var eb ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil {
		t.Fatalf("error body %q is not JSON: %v", rec.Body.String(), err)
	}
	return eb
}

func TestHealthzIsPublic(t *testing.T) {
	rec := do(t, newTestServer(t), "GET", "/healthz", remoteAddr, nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"ok"`) {
		t.Errorf("GET /healthz = %d %s", rec.Code, rec.Body)
	}
}

func TestHostInfo(t *testing.T) {
	s := newTestServer(t)
	if rec := do(t, s, "GET", "/api/v1/host", remoteAddr, nil); rec.Code != 401 {
		t.Errorf("remote GET /api/v1/host = %d, want 401", rec.Code)
	}
	rec := do(t, s, "GET", "/api/v1/host", loopbackAddr, nil)
	var info host.Info
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil || rec.Code != 200 {
		t.Fatalf("GET /api/v1/host = %d %s (%v)", rec.Code, rec.Body, err)
	}
	if info.Accel != "tcg" || info.AccelWarning == "" || info.Disk.FreeBytes != 40 || info.Version != "test" {
		t.Errorf("host info = %+v", info)
	}
}

func TestErrorShape(t *testing.T) {
	s := newTestServer(t)
	tests := []struct {
		method, path, from string
		want               ErrorBody
	}{
		{"GET", "/api/v1/nope", loopbackAddr, ErrorBody{ErrorDetail{404, "not found"}}},
		{"DELETE", "/api/v1/host", loopbackAddr, ErrorBody{ErrorDetail{405, "method not allowed"}}},
		{"GET", "/api/v1/host", remoteAddr, ErrorBody{ErrorDetail{401, "authentication required"}}},
		{"GET", "/api/v1/backup", remoteAddr, ErrorBody{ErrorDetail{401, "authentication required"}}},
	}
	for _, tt := range tests {
		rec := do(t, s, tt.method, tt.path, tt.from, nil)
		if diff := cmp.Diff(tt.want, decodeError(t, rec)); diff != "" || rec.Code != tt.want.Error.Code {
			t.Errorf("%s %s: status %d, body (-want +got):\n%s", tt.method, tt.path, rec.Code, diff)
		}
	}
}

func TestFaultKindsMapToStatus(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{fault.New(fault.Invalid, "bad"), 400},
		{fault.New(fault.NotFound, "gone"), 404},
		{fault.New(fault.Conflict, "taken"), 409},
		{fault.New(fault.Quota, "over"), 409},
		{fault.New(fault.NoCapacity, "full"), 507},
		{fault.New(fault.Unavailable, "down"), 503},
		{fault.New(fault.TooManyRequests, "slow down"), 429},
		{&http.MaxBytesError{Limit: 5}, 413},
		{echo.ErrNotFound, 404},
		{errors.New("secret internal detail"), 500},
	}
	for _, tt := range tests {
		code, msg := statusAndMessage(tt.err)
		if code != tt.want {
			t.Errorf("statusAndMessage(%v) = %d, want %d", tt.err, code, tt.want)
		}
		if code == 500 && msg != "internal error" {
			t.Errorf("internal error leaked its detail: %q", msg)
		}
	}
}

func TestRouteWithoutAccessRuleIsRefused(t *testing.T) {
	s := newTestServer(t)
	err := s.handle("GET", "/api/v1/unguarded", "", func(c echo.Context) error { return c.String(200, "leak") })
	if err == nil {
		t.Fatal("handle accepted a route without an access rule")
	}
	if rec := do(t, s, "GET", "/api/v1/unguarded", loopbackAddr, nil); rec.Code != 404 {
		t.Errorf("refused route still serves: %d %s", rec.Code, rec.Body)
	}
	// A route that bypasses handle() is denied at request time.
	s.e.GET("/api/v1/sneaky", func(c echo.Context) error { return c.String(200, "leak") })
	if rec := do(t, s, "GET", "/api/v1/sneaky", loopbackAddr, nil); rec.Code != 403 {
		t.Errorf("route registered behind the router's back = %d %s, want 403", rec.Code, rec.Body)
	}
	if err := s.handle("GET", "/api/v1/made-up", "instance:fly", s.healthz); err == nil {
		t.Error("a route with an action the policy does not know was accepted")
	}
	if err := s.handle("GET", "/healthz", Public, s.healthz); err == nil {
		t.Error("duplicate route accepted")
	}
}

func TestEveryRouteHasARule(t *testing.T) {
	s := newTestServer(t)
	routes := s.Routes()
	if len(routes)+len(s.uiRoutes) != len(s.e.Routes()) {
		t.Errorf("Routes() lists %d routes and the dashboard has %d, echo has %d", len(routes), len(s.uiRoutes), len(s.e.Routes()))
	}
	for key := range s.uiRoutes {
		if s.rules[key] != Public {
			t.Errorf("dashboard route %s has action %q, want public (the dashboard checks its session itself)", key, s.rules[key])
		}
	}
	for _, r := range routes {
		if r.Access == noRule {
			t.Errorf("%s %s: action %q has no policy row", r.Method, r.Path, r.Action)
		}
		if r.Action == Public {
			continue
		}
		if rec := do(t, s, r.Method, r.Path, remoteAddr, nil); rec.Code != 401 {
			t.Errorf("%s %s without credentials = %d, want 401", r.Method, r.Path, rec.Code)
		}
	}
}

type echoBody struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func TestJSONBodies(t *testing.T) {
	s := newTestServer(t)
	err := s.handle("POST", "/api/v1/echo", "instance:create", func(c echo.Context) error {
		var b echoBody
		if err := decodeJSON(c, &b); err != nil {
			return err
		}
		return c.JSON(200, b)
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		body     string
		want     int
		contains string
	}{
		{"valid", `{"name":"web","count":2}`, 200, `"web"`},
		{"malformed", `{"name":`, 400, "invalid JSON body"},
		{"wrong type", `{"name":"web","count":"two"}`, 400, `count\" must be int, not string`},
		{"unknown field", `{"name":"web","evil":1}`, 400, "unknown field"},
		{"empty", ``, 400, "request body is empty"},
		{"two values", `{} {}`, 400, "more than one value"},
		{"over the cap", `{"name":"` + strings.Repeat("a", 2048) + `"}`, 413, "larger than 1024 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, s, "POST", "/api/v1/echo", loopbackAddr, strings.NewReader(tt.body))
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.contains) {
				t.Errorf("POST %q = %d %s, want %d containing %q", tt.body, rec.Code, rec.Body, tt.want, tt.contains)
			}
		})
	}
}

func TestChunkedBodyOverCapIs413(t *testing.T) {
	s := newTestServer(t)
	_ = s.handle("POST", "/api/v1/echo", "instance:create", func(c echo.Context) error { return decodeJSON(c, &echoBody{}) })
	req := httptest.NewRequest("POST", "/api/v1/echo", io.MultiReader(strings.NewReader(`{"name":"`), strings.NewReader(strings.Repeat("a", 4096))))
	req.ContentLength = -1 // unknown length: the cap must hold while reading
	req.RemoteAddr = loopbackAddr
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Errorf("chunked oversize body = %d %s, want 413", rec.Code, rec.Body)
	}
}

func TestPanicIs500WithoutDetail(t *testing.T) {
	s := newTestServer(t)
	_ = s.handle("GET", "/api/v1/boom", "instance:list", func(echo.Context) error { panic("secret panic detail") })
	rec := do(t, s, "GET", "/api/v1/boom", loopbackAddr, nil)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret") {
		t.Errorf("panic = %d %s", rec.Code, rec.Body)
	}
}

func TestBackupStreamsCatalog(t *testing.T) {
	rec := do(t, newTestServer(t), "GET", "/api/v1/backup", loopbackAddr, nil)
	if rec.Code != 200 || rec.Body.String() != "catalog-bytes" {
		t.Errorf("GET /api/v1/backup = %d %q", rec.Code, rec.Body)
	}
}

// TestUnixSocketPeerIsRoot serves on a real unix socket: the peer uid decides the principal.
func TestUnixSocketPeerIsRoot(t *testing.T) {
	s := newTestServer(t)
	sock := filepath.Join(t.TempDir(), "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		_ = s.Shutdown(context.Background())
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := client.Get("http://unix/api/v1/backup")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	want := 401 // a non-root peer on the socket is not trusted
	if isRoot() {
		want = 200
	}
	if resp.StatusCode != want {
		t.Errorf("GET /api/v1/backup over unix socket = %d %s, want %d", resp.StatusCode, body, want)
	}
	if want == 200 && !bytes.Equal(body, []byte("catalog-bytes")) {
		t.Errorf("body = %q", body)
	}
}
