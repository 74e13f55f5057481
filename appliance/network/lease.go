package network

import (
	"cloudlet/appliance/network/dhcp"
	"cloudlet/store"
)

// OnLease sets a function told when an instance's port is granted its address by DHCP (every ACK,
// renewals included): compute records it on the boot timeline. It may be set after StartDatapath.
func (s *Service) OnLease(f func(instanceID string)) {
	s.onLease.Store(&f)
}

// leaseGranted is every DHCP server's ACK hook: it finds the port by MAC and tells OnLease's function
// about the instance that owns it.
func (s *Service) leaseGranted(r dhcp.Reservation) {
	f := s.onLease.Load()
	if f == nil || *f == nil {
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
	if owner != "" {
		(*f)(owner)
	}
}
