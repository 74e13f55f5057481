package compute

import "context"

// releaseStaleReservations runs at service start, before any supervisor and before the API serves, so
// no attach can be in flight: a volume still reserved was reserved by a daemon killed before its attach
// finished. It becomes available again, unless it is the boot volume of an instance that still exists
// (a spawn the crash interrupted): that one stays the instance's, and its delete or rebuild settles it.
func (s *Service) releaseStaleReservations(ctx context.Context, all []*Instance) {
	reserved, err := s.o.Volumes.Reservations(ctx, "")
	if err != nil {
		s.log.Warn("list volume reservations", "err", err)
		return
	}
	byID := make(map[string]*Instance, len(all))
	for _, inst := range all {
		byID[inst.ID] = inst
	}
	for _, v := range reserved {
		if inst := byID[v.InstanceID]; inst != nil && (v.Boot || v.ID == inst.BootVolumeID) {
			continue
		}
		s.log.Info("releasing a volume reservation no attach is waiting for", "volume", v.ID, "instance", v.InstanceID)
		if err := s.o.Volumes.Detached(ctx, v.ID); err != nil {
			s.log.Warn("release volume reservation", "volume", v.ID, "instance", v.InstanceID, "err", err)
		}
	}
}
