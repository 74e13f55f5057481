package network

import (
	"context"
	"net"
	"testing"

	"cloudlet/appliance/network/dhcp"
)

// A DHCP ACK reaches every subscriber as the id of the instance that owns the port, and only ACKs
// to instances' ports do; a subscription ends, its channel closed, when its context does.
func TestLeasesTellSubscribersWhichInstanceGotAnAddress(t *testing.T) {
	s, _ := newPublishingService(t)
	sub, stop := context.WithCancel(ctx)
	first, second := s.Leases(sub), s.Leases(ctx)
	vm := must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "vm", Network: "lan", Instance: "i1", InstanceName: "alpha"}))
	free := must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "free", Network: "lan"}))

	s.leaseGranted(dhcp.Reservation{MAC: mustMAC(t, free.MAC)})
	s.leaseGranted(dhcp.Reservation{MAC: mustMAC(t, vm.MAC)})
	for name, ch := range map[string]<-chan string{"first": first, "second": second} {
		if got := <-ch; got != "i1" {
			t.Errorf("%s subscriber got lease of %q, want i1 (the free port's ACK is no instance's)", name, got)
		}
	}
	stop()
	if id, open := <-first; open {
		t.Errorf("the ended subscription still delivers: %q", id)
	}
	s.leaseGranted(dhcp.Reservation{MAC: mustMAC(t, vm.MAC)}) // never blocks on the ended one
	if got := <-second; got != "i1" {
		t.Errorf("the remaining subscriber got %q, want i1", got)
	}
}

func mustMAC(t *testing.T, s string) net.HardwareAddr {
	t.Helper()
	mac, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return mac
}
