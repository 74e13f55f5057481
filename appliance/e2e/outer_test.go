package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// The outside world of NAT, floating IP and port forward tests: a second network namespace joined to
// the test's own (where the daemon runs) by a veth pair. The test side, uplink0, is the host's
// uplink; the outer side has no route to any guest subnet, so only the daemon's NAT gets traffic
// between guests and the outside.
const (
	outerUplink = "uplink0"       // in the test's namespace: the external network's uplink
	outerPeer   = "outer0"        // in the outer namespace
	outerHostIP = "203.0.113.1"   // the host's address on the uplink
	outerIP     = "203.0.113.2"   // the outside's address (its "router")
	outerPrefix = 24              // 203.0.113.0/24 is the LAN between them
	outerWait   = 4 * time.Second // a connection the firewall drops gives up after this
)

// outer is the outside namespace; it lives as long as the handle on it.
type outer struct {
	ns   netns.NsHandle
	busy sync.WaitGroup // calls of run in flight (a dial the test gave up on may still be one)
}

// newOuter makes the outer namespace (unnamed: it cannot outlive the test process) and the veth
// pair, and removes both when the test ends, also on failure.
func newOuter(t *testing.T) *outer {
	t.Helper()
	ns, err := newNetns()
	if err != nil {
		t.Fatalf("new network namespace: %v", err)
	}
	o := &outer{ns: ns}
	t.Cleanup(func() { o.busy.Wait(); o.ns.Close() })
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: outerUplink}, PeerName: outerPeer}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("netlink.LinkAdd(%s): %v", outerUplink, err)
	}
	t.Cleanup(func() { // deleting one end deletes the other
		if err := netlink.LinkDel(veth); err != nil {
			t.Errorf("netlink.LinkDel(%s): %v", outerUplink, err)
		}
	})
	if err := o.wire(); err != nil {
		t.Fatal(err)
	}
	return o
}

// wire moves the peer into the outer namespace and gives both ends their addresses.
func (o *outer) wire() error {
	peer, err := netlink.LinkByName(outerPeer)
	if err != nil {
		return fmt.Errorf("netlink.LinkByName(%s): %w", outerPeer, err)
	}
	if err := netlink.LinkSetNsFd(peer, int(o.ns)); err != nil {
		return fmt.Errorf("netlink.LinkSetNsFd(%s): %w", outerPeer, err)
	}
	if err := linkUp(&netlink.Handle{}, outerUplink, outerHostIP); err != nil {
		return err
	}
	h, err := netlink.NewHandleAt(o.ns)
	if err != nil {
		return fmt.Errorf("netlink.NewHandleAt(outer): %w", err)
	}
	defer h.Close()
	if err := linkUp(h, "lo", ""); err != nil {
		return err
	}
	return linkUp(h, outerPeer, outerIP)
}

// linkUp gives link name (in h's namespace; the zero Handle is the caller's) the address
// ip/outerPrefix, if any, and brings it up.
func linkUp(h *netlink.Handle, name, ip string) error {
	l, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("netlink.LinkByName(%s): %w", name, err)
	}
	if ip != "" {
		a, err := netlink.ParseAddr(fmt.Sprintf("%s/%d", ip, outerPrefix))
		if err != nil {
			return err
		}
		if err := h.AddrAdd(l, a); err != nil {
			return fmt.Errorf("netlink.AddrAdd(%s, %s): %w", name, a, err)
		}
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("netlink.LinkSetUp(%s): %w", name, err)
	}
	return nil
}

// get makes an HTTP GET from inside the outer namespace and returns the body. A connection nobody
// answers (the firewall drops it) fails after outerWait.
func (o *outer) get(t *testing.T, url string) (string, error) {
	t.Helper()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := o.run(func() (err error) {
			c, err = (&net.Dialer{Timeout: outerWait}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
	cl := &http.Client{Timeout: outerWait, Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
	return fetch(cl, url)
}

// serve runs an HTTP server inside the outer namespace on outerIP, answering "outside", until the
// test ends. remotes lists the remote addresses of the requests it got, in order (the source NAT
// gave them).
func (o *outer) serve(t *testing.T) (addr string, remotes func() []string) {
	t.Helper()
	var l net.Listener
	if err := o.run(func() (err error) { l, err = net.Listen("tcp4", outerIP+":0"); return err }); err != nil {
		t.Fatalf("listen in the outer namespace: %v", err)
	}
	var mu sync.Mutex
	var seen []string
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		seen = append(seen, host)
		mu.Unlock()
		io.WriteString(w, "outside")
	})}
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return l.Addr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// run calls fn on an OS thread switched into the outer namespace: the sockets fn makes belong to
// it. The thread is switched back before it is released; if it cannot be, it stays locked and
// dies with its goroutine, so no other goroutine ever runs in the wrong namespace.
func (o *outer) run(fn func() error) error {
	o.busy.Add(1)
	defer o.busy.Done()
	return onThread(func() error {
		if err := netns.Set(o.ns); err != nil {
			return fmt.Errorf("netns.Set(outer): %w", err)
		}
		return fn()
	})
}

// newNetns makes an unnamed network namespace and returns a handle on it.
func newNetns() (netns.NsHandle, error) {
	ns := netns.None()
	err := onThread(func() (err error) { ns, err = netns.New(); return err })
	return ns, err
}

// onThread runs fn on a locked OS thread of a goroutine of its own and puts the thread back into
// the namespace it started in afterwards.
func onThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns.Get: %w", err)
			return
		}
		defer orig.Close()
		err = fn()
		if serr := netns.Set(orig); serr != nil {
			errc <- errors.Join(err, fmt.Errorf("netns.Set(back): %w", serr)) // the thread stays locked and dies
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// hostGet makes an HTTP GET from the test's namespace: the host itself.
func hostGet(url string) (string, error) {
	return fetch(&http.Client{Timeout: outerWait, Transport: &http.Transport{DisableKeepAlives: true}}, url)
}

func fetch(cl *http.Client, url string) (string, error) {
	resp, err := cl.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}
