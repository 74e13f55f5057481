package compute

import (
	"context"
	"slices"
	"testing"
	"time"
)

// feed is a LeaseFeed whose ACKs the test sends; sends block until compute takes them.
type feed chan string

func (f feed) Leases(ctx context.Context) <-chan string { return f }

// Compute subscribes to DHCP leases (no callback set on the network service): the first ACK of a boot
// becomes the timeline's dhcp_lease stage, later ones (renewals, other NICs) change nothing.
func TestLeasesFromTheSubscriptionMarkTheBootTimelineOnce(t *testing.T) {
	acks := make(feed)
	e := newEnv(t, func(o *Options) { o.Leases = acks })
	inst := e.running("web")
	acks.send(t, inst.ID)
	acks.send(t, inst.ID)
	acks.send(t, "no-such-instance") // taken only once the renewal before it is dealt with
	got, err := e.svc.Get(context.Background(), testProject, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	leases := slices.DeleteFunc(slices.Clone(got.Timeline), func(s Stage) bool { return s.Name != StageDHCPLease })
	if len(leases) != 1 {
		t.Fatalf("timeline %+v: want exactly one %s stage", got.Timeline, StageDHCPLease)
	}
	if exec := got.Timeline[slices.IndexFunc(got.Timeline, func(s Stage) bool { return s.Name == StageExec })]; leases[0].At.Before(exec.At) {
		t.Errorf("lease at %v, before the QEMU exec at %v", leases[0].At, exec.At)
	}
}

// send hands compute one ACK, failing the test when compute does not take it.
func (f feed) send(t *testing.T, id string) {
	t.Helper()
	select {
	case f <- id:
	case <-time.After(10 * time.Second):
		t.Fatalf("compute did not take the lease of %s from its subscription", id)
	}
}

// A renewal (every ACK after the first of a boot) is only read: a guest renewing its lease every few
// seconds costs no catalog write, so the record's revision stays where the first lease left it.
func TestALeaseRenewalWritesNothing(t *testing.T) {
	acks := make(feed)
	e := newEnv(t, func(o *Options) { o.Leases = acks })
	inst := e.running("web")
	acks.send(t, inst.ID)
	acks.send(t, "no-such-instance") // taken only once the lease before it is dealt with
	first, err := e.svc.Get(context.Background(), testProject, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		acks.send(t, inst.ID)
	}
	acks.send(t, "no-such-instance")
	if got, _ := e.svc.Get(context.Background(), testProject, inst.ID); got.Revision != first.Revision {
		t.Errorf("revision %d after five renewals, want %d (unchanged)", got.Revision, first.Revision)
	}
}
