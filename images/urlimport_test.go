package images

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloudlet/appliance/fault"
)

// testServer is an HTTP server on loopback that a service is allowed to fetch from (the one
// exception its test hook makes), serving files and misbehaving on request.
type testServer struct {
	*httptest.Server
	mu     sync.Mutex
	files  map[string][]byte
	ranges []string // the Range header of every request, in order
	hits   atomic.Int64
}

func newTestServer(t *testing.T) *testServer {
	ts := &testServer{files: map[string][]byte{}}
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.Close)
	return ts
}

// allow lets e's service fetch from ts and shortens its retry and idle times.
func (e *env) allow(ts *testServer) {
	e.svc.fetch.guard.Allow = netip.MustParseAddrPort(ts.Listener.Addr().String())
	e.svc.fetch.retryDelay = 10 * time.Millisecond
	e.svc.fetch.idleTimeout = 2 * time.Second
}

func (ts *testServer) put(path string, data []byte) string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.files[path] = data
	return ts.URL + path
}

func (ts *testServer) serve(w http.ResponseWriter, r *http.Request) {
	ts.hits.Add(1)
	ts.mu.Lock()
	ts.ranges = append(ts.ranges, r.Header.Get("Range"))
	n := len(ts.ranges)
	data, ok := ts.files[strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/cut"), "/norange")]
	ts.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/redirect/"):
		var left int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/redirect/"), "%d", &left)
		http.Redirect(w, r, fmt.Sprintf("/redirect/%d", left-1), http.StatusFound)
	case r.URL.Path == "/to":
		http.Redirect(w, r, r.URL.Query().Get("url"), http.StatusFound)
	case r.URL.Path == "/stall":
		w.Header().Set("Content-Length", "1000000")
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	case r.URL.Path == "/flaky" && n == 1:
		http.Error(w, "try again", http.StatusServiceUnavailable)
	case !ok:
		http.NotFound(w, r)
	case strings.HasPrefix(r.URL.Path, "/cut") && n == 1:
		ts.cut(w, data, !strings.Contains(r.URL.Path, "norange"))
	case strings.HasPrefix(r.URL.Path, "/cut/norange"):
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data)
	default:
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "", time.Unix(1700000000, 0), strings.NewReader(string(data)))
	}
}

// cut announces the whole file, sends half of it and drops the connection.
func (ts *testServer) cut(w http.ResponseWriter, data []byte, ranges bool) {
	if ranges {
		w.Header().Set("Accept-Ranges", "bytes")
		w.Header().Set("ETag", `"v1"`)
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data[:len(data)/2])
	w.(http.Flusher).Flush()
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// genericFault is the one fault of every refused or failed connection.
const genericFault = "could not connect to the server, or the address or port is not allowed for image imports"

// lockedBuffer is a bytes.Buffer for a logger that background imports write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// debugLog captures what the service's URL imports log at debug level.
func (e *env) debugLog() *lockedBuffer {
	buf := &lockedBuffer{}
	e.svc.fetch.log = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return buf
}

func (e *env) importURL(name, format, url, checksum string) (*Image, error) {
	e.t.Helper()
	return e.svc.ImportURL(context.Background(), ImportURLRequest{
		CreateRequest: CreateRequest{ProjectID: projectA, Name: name, DiskFormat: format}, URL: url, Checksum: checksum,
	})
}

func TestImportURL(t *testing.T) {
	e := newEnv(t)
	ts := newTestServer(t)
	e.allow(ts)
	src := e.qcow2("disk.qcow2", "8M")
	ts.put("/images/disk.qcow2", e.read(src))
	url := ts.URL + "/images/disk.qcow2?token=secret"
	img, err := e.importURL("web", FormatQcow2, url, strings.ToUpper(sha256File(t, src)))
	if err != nil {
		t.Fatal(err)
	}
	if img.Status != StatusQueued || img.Source != SourceURL {
		t.Errorf("ImportURL answered %+v, want queued", *img)
	}
	got := e.waitSettled(img.ID)
	if got.Status != StatusActive || got.Checksum != sha256File(t, src) || got.VirtualSize != 8<<20 || got.BytesReceived != got.Size {
		t.Fatalf("imported image = %+v", *got)
	}
	if strings.Contains(fmt.Sprintf("%+v", *got), "secret") {
		t.Errorf("the record keeps the URL's query: %+v", *got)
	}
}

// Every URL that points at the host itself, at link-local metadata services, or at anything but
// http(s) is refused: schemes at request time (nothing created), addresses when connecting
// (killed, nothing written, the refused server never reached). A refused address gets the same
// generic fault as any failed connection; the reason (msg) is in the debug log only.
func TestImportURLRefusals(t *testing.T) {
	other := newTestServer(t) // a loopback server that is NOT allowed
	otherPort := other.Listener.Addr().(*net.TCPAddr).Port
	tests := []struct {
		name string
		url  func(ts *testServer) string
		msg  string
		now  bool // refused at request time
	}{
		{name: "file scheme", url: func(*testServer) string { return "file:///etc/passwd" }, msg: "only http and https", now: true},
		{name: "ftp scheme", url: func(*testServer) string { return "ftp://example.com/disk.qcow2" }, msg: "only http and https", now: true},
		{name: "no scheme", url: func(*testServer) string { return "/etc/passwd" }, msg: "only http and https", now: true},
		{name: "credentials", url: func(*testServer) string { return "http://user:pw@example.com/x" }, msg: "credentials", now: true},
		{name: "loopback", url: func(*testServer) string { return "http://127.0.0.1/x" }, msg: "loopback"},
		{name: "loopback, other port", url: func(*testServer) string { return other.URL + "/x" }, msg: "loopback"},
		{name: "IPv6 loopback", url: func(*testServer) string { return fmt.Sprintf("http://[::1]:%d/x", otherPort) }, msg: "loopback"},
		{name: "IPv4-mapped loopback", url: func(*testServer) string { return fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/x", otherPort) }, msg: "loopback"},
		{name: "metadata service", url: func(*testServer) string { return "http://169.254.169.254/latest/meta-data/" }, msg: "link-local"},
		{name: "IPv6 link-local", url: func(*testServer) string { return "http://[fe80::1%25lo]/x" }, msg: "link-local"},
		{name: "unspecified", url: func(*testServer) string { return fmt.Sprintf("http://0.0.0.0:%d/x", otherPort) }, msg: "unspecified"},
		{name: "multicast", url: func(*testServer) string { return "http://224.0.0.1/x" }, msg: "multicast"},
		{name: "private", url: func(*testServer) string { return "http://10.1.2.3/x" }, msg: "private addresses are refused"},
		{name: "localhost", url: func(*testServer) string { return fmt.Sprintf("http://localhost:%d/x", otherPort) }, msg: "loopback"},
		{name: "a name resolving to loopback", url: func(*testServer) string { return fmt.Sprintf("http://rebind.test:%d/x", otherPort) }, msg: "loopback"},
		{name: "redirect into loopback", url: func(ts *testServer) string { return ts.URL + "/to?url=" + other.URL + "/x" }, msg: "loopback"},
		{name: "redirect to the metadata service", url: func(ts *testServer) string {
			return ts.URL + "/to?url=http://169.254.169.254/latest/meta-data/"
		}, msg: "link-local"},
		{name: "redirect to a file URL", url: func(ts *testServer) string { return ts.URL + "/to?url=file:///etc/passwd" }, msg: "only http and https"},
		{name: "six redirects", url: func(ts *testServer) string { return ts.URL + "/redirect/6" }, msg: "more than 5 redirects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ts := newTestServer(t)
			e.allow(ts)
			e.svc.fetch.hosts = map[string]string{"rebind.test": "127.0.0.1"}
			log := e.debugLog()
			img, err := e.importURL("evil", FormatRaw, tt.url(ts), "")
			if tt.now {
				checkErr(t, err, ErrInvalid, fault.Invalid, tt.msg)
				e.assertNothingLeft()
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := e.waitSettled(img.ID)
			t.Logf("fault: %s", got.Fault)
			if strings.Contains(tt.msg, "redirect") || strings.Contains(tt.msg, "only http") {
				e.assertKilledClean("evil", tt.msg)
			} else {
				e.assertKilledClean("evil", genericFault)
				if !strings.Contains(log.String(), tt.msg) {
					t.Errorf("debug log %q does not say %q", log.String(), tt.msg)
				}
			}
			if n := other.hits.Load(); n != 0 {
				t.Errorf("the refused server got %d requests", n)
			}
		})
	}
}

func TestImportURLChecksumMismatch(t *testing.T) {
	e := newEnv(t)
	ts := newTestServer(t)
	e.allow(ts)
	url := ts.put("/d.raw", make([]byte, 4096))
	img, err := e.importURL("sum", FormatRaw, url, strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	e.waitSettled(img.ID)
	e.assertKilledClean("sum", "checksum mismatch")
}

func TestImportURLBadRequests(t *testing.T) {
	for name, r := range map[string]ImportURLRequest{
		"bad checksum": {URL: "http://example.com/x", Checksum: "md5:abc"},
		"no URL":       {},
		"long URL":     {URL: "http://example.com/" + strings.Repeat("a", MaxURLLen)},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			r.CreateRequest = CreateRequest{ProjectID: projectA, Name: "x", DiskFormat: FormatRaw}
			_, err := e.svc.ImportURL(context.Background(), r)
			checkErr(t, err, ErrInvalid, fault.Invalid)
			e.assertNothingLeft()
		})
	}
}

// Downloads that fail end killed: an error status, a body over the cap, a server that stops
// sending, a disk that fills up.
func TestImportURLFailures(t *testing.T) {
	tests := []struct {
		name string
		opts []func(*Options)
		path string
		size int
		msg  string
	}{
		{name: "not found", path: "/missing", msg: "404 Not Found"},
		{name: "over the cap", opts: []func(*Options){func(o *Options) { o.MaxUploadBytes = 1 << 20 }}, path: "/big", size: 2 << 20, msg: "larger than the cap"},
		{name: "stalls", path: "/stall", msg: "no data for"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts...)
			ts := newTestServer(t)
			e.allow(ts)
			e.svc.fetch.idleTimeout = 200 * time.Millisecond
			if tt.size > 0 {
				ts.put(tt.path, make([]byte, tt.size))
			}
			img, err := e.importURL("bad", FormatRaw, ts.URL+tt.path, "")
			if err != nil {
				t.Fatal(err)
			}
			got := e.waitSettled(img.ID)
			t.Logf("fault: %s", got.Fault)
			e.assertKilledClean("bad", tt.msg)
		})
	}
}

// A download cut off half-way resumes with a Range request when the server offers ranges, and
// starts over when it does not; a 503 is retried. Each ends with the right bytes.
func TestImportURLRetries(t *testing.T) {
	tests := []struct {
		path       string
		wantRanges []string
	}{
		{"/cut/d.raw", []string{"", "bytes=524288-"}},
		{"/cut/norange/d.raw", []string{"", ""}},
		{"/flaky", []string{"", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			e := newEnv(t)
			ts := newTestServer(t)
			e.allow(ts)
			data := make([]byte, 1<<20)
			for i := range data {
				data[i] = byte(i * 7)
			}
			ts.put("/d.raw", data)
			ts.put("/norange/d.raw", data)
			ts.put("/flaky", data)
			img, err := e.importURL("r", FormatRaw, ts.URL+tt.path, "")
			if err != nil {
				t.Fatal(err)
			}
			got := e.waitSettled(img.ID)
			if got.Status != StatusActive || got.Size != int64(len(data)) || got.Checksum != sha256Hex(data) {
				t.Fatalf("image = %+v", *got)
			}
			ts.mu.Lock()
			defer ts.mu.Unlock()
			if fmt.Sprint(ts.ranges) != fmt.Sprint(tt.wantRanges) {
				t.Errorf("Range headers %q, want %q", ts.ranges, tt.wantRanges)
			}
		})
	}
}

// Close cancels running URL imports and waits for them: each ends killed with nothing written,
// and no import starts afterwards.
func TestCloseCancelsImports(t *testing.T) {
	e := newEnv(t)
	ts := newTestServer(t)
	e.allow(ts)
	img, err := e.importURL("slow", FormatRaw, ts.URL+"/stall", "")
	if err != nil {
		t.Fatal(err)
	}
	for e.get(img.ID).BytesReceived == 0 && e.get(img.ID).Status != StatusKilled {
		time.Sleep(5 * time.Millisecond) // wait until the download runs
	}
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	e.assertKilledClean("slow", "cancelled")
	_, err = e.importURL("late", FormatRaw, ts.URL+"/x", "")
	checkErr(t, err, ErrClosed, fault.Unavailable)
	if recs := e.records(); len(recs) != 1 {
		t.Errorf("records after a refused import: %v", names(recs))
	}
}

// An OVA comes by URL like any image: downloaded, then unpacked and converted.
func TestImportURLOVA(t *testing.T) {
	e := newEnv(t)
	ts := newTestServer(t)
	e.allow(ts)
	url := ts.put("/vm.ova", ovaBytes(t,
		tarEntry{name: "vm.ovf", data: ovfXML(4, 2048, "vm-disk1.vmdk")},
		tarEntry{name: "vm-disk1.vmdk", data: e.streamOptimized("d.vmdk", "4M")},
	))
	img, err := e.svc.ImportURL(context.Background(), ImportURLRequest{
		CreateRequest: CreateRequest{ProjectID: projectA, Name: "vm", ContainerFormat: ContainerOVA}, URL: url,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := e.waitSettled(img.ID)
	if got.Status != StatusActive || got.DiskFormat != FormatQcow2 || got.MinRAMMiB != 2048 || got.Properties["ovf_vcpus"] != "4" {
		t.Errorf("image = %+v", *got)
	}
}

func sha256Hex(b []byte) string {
	h := sha256New()
	h.Write(b)
	return fmt.Sprintf("%x", h.Sum(nil))
}
