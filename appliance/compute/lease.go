package compute

import "slices"

// LeaseGranted records the first DHCP lease of the instance's current boot on its timeline (the
// network service calls it on every ACK; renewals and later NICs change nothing).
func (s *Service) LeaseGranted(instanceID string) {
	now := s.now()
	_, err := s.update(instanceID, func(i *Instance) error {
		booted := slices.ContainsFunc(i.Timeline, func(st Stage) bool { return st.Name == StageExec })
		leased := slices.ContainsFunc(i.Timeline, func(st Stage) bool { return st.Name == StageDHCPLease })
		if booted && !leased {
			i.Timeline = append(i.Timeline, Stage{StageDHCPLease, now})
		}
		return nil
	})
	if err != nil {
		s.log.Debug("record the DHCP lease", "instance", instanceID, "err", err)
	}
}
