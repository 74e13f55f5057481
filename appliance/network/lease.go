package network

import (
	"context"

	"cloudlet/appliance/network/dhcp"
	"cloudlet/store"
)

// leaseBuffer is how many lease events a subscriber may fall behind before the newest are dropped:
// the DHCP servers never wait for a subscriber.
const leaseBuffer = 256

// Leases subscribes to the DHCP ACKs given to instances' ports (renewals included): the channel
// receives the id of the instance that owns the port (compute records the first of a boot on its
// timeline). It is closed when ctx ends. Subscribing may happen before or after StartDatapath.
func (s *Service) Leases(ctx context.Context) <-chan string {
	ch := make(chan string, leaseBuffer)
	s.leaseMu.Lock()
	if s.leaseSubs == nil {
		s.leaseSubs = map[chan string]struct{}{}
	}
	s.leaseSubs[ch] = struct{}{}
	s.leaseMu.Unlock()
	context.AfterFunc(ctx, func() {
		s.leaseMu.Lock()
		delete(s.leaseSubs, ch)
		close(ch)
		s.leaseMu.Unlock()
	})
	return ch
}

// leaseGranted is every DHCP server's ACK hook: it finds the port by MAC and tells the subscribers
// about the instance that owns it, without ever waiting for one.
func (s *Service) leaseGranted(r dhcp.Reservation) {
	s.leaseMu.Lock()
	subscribed := len(s.leaseSubs) > 0
	s.leaseMu.Unlock()
	if !subscribed {
		return
	}
	var owner string
	s.db.View(func(tx *store.Tx) error {
		return ports.ForEach(tx, func(p *Port) error {
			if p.MAC == r.MAC.String() && p.DeviceOwner == OwnerInstance {
				owner = p.DeviceID
			}
			return nil
		})
	})
	if owner == "" {
		return
	}
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	for ch := range s.leaseSubs {
		select {
		case ch <- owner:
		default: // a subscriber this far behind loses the event rather than stall DHCP
		}
	}
}
