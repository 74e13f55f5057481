package dhcp

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// lab is a bridge with the server's address, and a veth whose guest end sits in a namespace of
// its own, like a tap whose other side is a VM.
type lab struct {
	Bridge   string
	Subnet   netip.Prefix
	ServerIP netip.Addr
	GuestIf  string
	GuestMAC net.HardwareAddr
	guestNS  netns.NsHandle
}

var labCount int

func newLab(t testing.TB) *lab {
	t.Helper()
	if testing.Short() {
		t.Skip("needs network namespaces")
	}
	labCount++
	n := labCount
	l := &lab{
		Bridge:   fmt.Sprintf("dbr%d", n),
		Subnet:   netip.MustParsePrefix(fmt.Sprintf("10.77.%d.0/24", n)),
		ServerIP: netip.MustParseAddr(fmt.Sprintf("10.77.%d.1", n)),
		GuestIf:  fmt.Sprintf("dgu%d", n),
		GuestMAC: net.HardwareAddr{0x52, 0x54, 0x00, 0x77, byte(n), 0x10},
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: l.Bridge}}
	must(t, "LinkAdd bridge", netlink.LinkAdd(br))
	t.Cleanup(func() { netlink.LinkDel(br) })
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip(l.ServerIP), Mask: net.CIDRMask(24, 32)}}
	must(t, "AddrAdd", netlink.AddrAdd(br, addr))
	must(t, "LinkSetUp bridge", netlink.LinkSetUp(br))

	host := fmt.Sprintf("dho%d", n)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: host, MasterIndex: br.Attrs().Index},
		PeerName: l.GuestIf, PeerHardwareAddr: l.GuestMAC}
	must(t, "LinkAdd veth", netlink.LinkAdd(veth))
	t.Cleanup(func() { netlink.LinkDel(veth) })
	must(t, "LinkSetUp veth", netlink.LinkSetUp(veth))

	l.guestNS = newNetns(t)
	guest, err := netlink.LinkByName(l.GuestIf)
	must(t, "LinkByName guest", err)
	must(t, "LinkSetNsFd", netlink.LinkSetNsFd(guest, int(l.guestNS)))
	l.inGuest(t, func() error {
		g, err := netlink.LinkByName(l.GuestIf)
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(g); err != nil {
			return err
		}
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(lo)
	})
	return l
}

func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// newNetns makes an unnamed namespace that lives as long as its handle (and whatever was opened in it).
func newNetns(t testing.TB) netns.NsHandle {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	must(t, "netns.Get", err)
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatalf("netns.New: %v", err)
	}
	must(t, "netns.Set back", netns.Set(orig))
	t.Cleanup(func() { ns.Close() })
	return ns
}

// inGuest runs f on a thread inside the guest namespace; sockets f opens stay there.
func (l *lab) inGuest(t testing.TB, f func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with this goroutine, namespace and all
		if err := netns.Set(l.guestNS); err != nil {
			errc <- fmt.Errorf("netns.Set: %w", err)
			return
		}
		errc <- f()
	}()
	if err := <-errc; err != nil {
		t.Fatalf("in guest namespace: %v", err)
	}
}

// client is a DHCP client on the guest's interface (with mac as chaddr if given).
func (l *lab) client(t *testing.T, mac net.HardwareAddr) *nclient4.Client {
	t.Helper()
	opts := []nclient4.ClientOpt{nclient4.WithTimeout(time.Second), nclient4.WithRetry(2)}
	if mac != nil {
		opts = append(opts, nclient4.WithHWAddr(mac))
	}
	var c *nclient4.Client
	l.inGuest(t, func() (err error) {
		c, err = nclient4.New(l.GuestIf, opts...)
		return err
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// rawConn is a UDP-over-packet-socket conn on the guest's port 68, for messages nclient4 won't send.
func (l *lab) rawConn(t testing.TB) net.PacketConn {
	t.Helper()
	var c net.PacketConn
	l.inGuest(t, func() (err error) {
		c, err = nclient4.NewRawUDPConn(l.GuestIf, 68)
		return err
	})
	t.Cleanup(func() { c.Close() })
	return c
}

func (l *lab) config() Config {
	return Config{
		Interface: l.Bridge,
		ServerIP:  l.ServerIP,
		Subnet:    l.Subnet,
		Router:    l.ServerIP,
		DNS:       []netip.Addr{l.ServerIP},
		Domain:    "net1.cloudlet",
		MTU:       1450,
		LeaseTime: time.Hour,
		Routes:    []Route{{Dest: netip.MustParsePrefix("192.168.50.0/24"), Via: l.ServerIP}},
	}
}

// reservations is a Lookup over a fixed table.
func reservations(rs ...Reservation) Lookup {
	return func(mac net.HardwareAddr) (Reservation, bool) {
		for _, r := range rs {
			if r.MAC.String() == mac.String() {
				return r, true
			}
		}
		return Reservation{}, false
	}
}

func (l *lab) start(t *testing.T, lookup Lookup) *Server {
	t.Helper()
	s, err := New(l.config(), lookup, testLogger(t))
	must(t, "New", err)
	must(t, "Start", s.Start())
	t.Cleanup(func() { s.Close() })
	return s
}
