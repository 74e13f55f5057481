package images

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cloudlet/internal/netguard"
)

// hostServer serves body on every address of the host (0.0.0.0 and [::]) at a free port, counting
// requests, and returns the port.
func hostServer(t *testing.T, body string) (int, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, body)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port, &hits
}

// nonLoopbackHostAddrs returns the host's addresses that no other rule refuses: what only the
// host-address rule stops (the probe fetched from the host's own public address).
func nonLoopbackHostAddrs(t *testing.T) []netip.Addr {
	t.Helper()
	all, err := netguard.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var out []netip.Addr
	for _, a := range all {
		if netguard.BlockedReason(a) == "" {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		t.Fatalf("the host has no address beside loopback and link-local (%v): this test needs one", all)
	}
	return out
}

// Finding 7: a URL import fetched from the host's own public address, and a raw import handed the
// body back. Now every address of the host, read when connecting, is refused even where private
// addresses and the port are allowed: the server is never reached, the image is killed with the
// generic fault, and nothing it could have sent is kept or served.
func TestProbe07URLToEveryHostAddressIsRefused(t *testing.T) {
	const secret = "host-only-secret-7c1"
	port, hits := hostServer(t, secret)
	for _, a := range nonLoopbackHostAddrs(t) {
		t.Run(a.String(), func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.AllowPrivateURLs, o.Import.AllowedPorts = true, []int{port} })
			e.svc.fetch.retryDelay = time.Millisecond
			log := e.debugLog()
			img, err := e.importURL("self", FormatRaw, "http://"+netip.AddrPortFrom(a, uint16(port)).String()+"/", "")
			if err != nil {
				t.Fatal(err)
			}
			e.waitSettled(img.ID)
			e.assertKilledClean("self", genericFault)
			if !strings.Contains(log.String(), "it is an address of this host") {
				t.Errorf("debug log %q does not give the reason", log.String())
			}
			if _, _, err := e.svc.Download(context.Background(), projectA, "self"); !errors.Is(err, ErrNotActive) {
				t.Errorf("download of the refused import: %v, want ErrNotActive", err)
			}
			if containsFileWith(t, e.dir, []byte(secret)) {
				t.Error("the host server's body is in the image store")
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the host's server got %d requests", n)
	}
}

// Finding 7: errors told "connection refused" from "no route" from "refused address" (a port-scan
// oracle). Now a refused address, a refused port, a closed port and a connection that times out
// give the same fault, word for word but the URL, after the same number of attempts.
func TestProbe07SameErrorForRefusedClosedAndUnreachable(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	ts := newTestServer(t)
	tests := []struct {
		name  string
		url   string
		setup func(e *env)
		log   string // what the debug log says
	}{
		{"refused address", "http://10.9.8.7/", func(*env) {}, "private addresses are refused"},
		{"refused port", "http://93.184.216.34:22/", func(*env) {}, "port 22"},
		{"closed port", "http://" + closedAddr + "/", func(e *env) {
			e.svc.fetch.guard.Allow = netip.MustParseAddrPort(closedAddr)
		}, "connection refused"},
		{"connect timeout", ts.URL + "/", func(e *env) {
			e.allow(ts)
			e.svc.fetch.dialTimeout = time.Nanosecond
		}, "timeout"},
	}
	var faults []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.svc.fetch.retryDelay = time.Millisecond
			tt.setup(e)
			log := e.debugLog()
			img, err := e.importURL("probe", FormatRaw, tt.url, "")
			if err != nil {
				t.Fatal(err)
			}
			got := e.waitSettled(img.ID)
			e.assertKilledClean("probe", genericFault)
			faults = append(faults, strings.ReplaceAll(got.Fault, strings.TrimSuffix(tt.url, "/"), "URL"))
			if !strings.Contains(log.String(), tt.log) {
				t.Errorf("debug log %q does not say %q", log.String(), tt.log)
			}
		})
	}
	for i := 1; i < len(faults); i++ {
		if faults[i] != faults[0] {
			t.Errorf("faults differ:\n%s\n%s", faults[0], faults[i])
		}
	}
	if ts.hits.Load() != 0 {
		t.Errorf("the test server was reached")
	}
}
