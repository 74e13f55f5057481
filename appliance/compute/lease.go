package compute

import (
	"context"
	"slices"
)

// LeaseFeed is the network service as the boot timeline needs it: a subscription to DHCP ACKs, each
// naming the instance whose port got its address. The channel closes when ctx ends.
type LeaseFeed interface {
	Leases(ctx context.Context) <-chan string
}

// followLeases records DHCP leases on the timeline until the service closes (Options.Leases nil:
// no dhcp_lease stage).
func (s *Service) followLeases() {
	if s.o.Leases == nil {
		return
	}
	leases := s.o.Leases.Leases(s.ctx)
	s.goBackground(func() {
		for {
			select {
			case id, ok := <-leases:
				if !ok {
					return
				}
				s.leaseGranted(id)
			case <-s.ctx.Done(): // also when a feed does not close its channel
				return
			}
		}
	})
}

// leaseGranted records the first DHCP lease of the instance's current boot on its timeline (every
// ACK arrives here; renewals and later NICs change nothing, and are only read: a guest renewing its
// lease costs no catalog write).
func (s *Service) leaseGranted(instanceID string) {
	now := s.now()
	if cur, err := s.Get(context.Background(), "", instanceID); err != nil || !awaitsLease(cur) {
		return
	}
	_, err := s.update(instanceID, func(i *Instance) error {
		if awaitsLease(i) {
			i.Timeline = append(i.Timeline, Stage{StageDHCPLease, now})
		}
		return nil
	})
	if err != nil {
		s.log.Debug("record the DHCP lease", "instance", instanceID, "err", err)
	}
}

// awaitsLease reports whether the instance's current boot has started and has no lease on its timeline.
func awaitsLease(i *Instance) bool {
	booted := slices.ContainsFunc(i.Timeline, func(st Stage) bool { return st.Name == StageExec })
	leased := slices.ContainsFunc(i.Timeline, func(st Stage) bool { return st.Name == StageDHCPLease })
	return booted && !leased
}
