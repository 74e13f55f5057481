package network

import (
	"slices"

	"cloudlet/appliance/network/link"
)

// A port forward on every host address answers on the host's loopback too; its network's bridge
// then needs route_localnet (firewall.LoopbackBridges says which, and why it is guarded). The
// sysctl is lowered before the firewall changes and raised after, so it is never on while the
// guard is off: whatever a crash interrupts, the next sync (at the latest the daemon's start) puts
// both back from the catalog.

// lowerLocalnet turns route_localnet off on every cloudlet bridge not in want.
func (s *Service) lowerLocalnet(want []string) error {
	if s.dp == nil {
		return nil
	}
	bridges, err := link.List(link.BridgePrefix)
	if err != nil {
		return err
	}
	for _, br := range bridges {
		if !slices.Contains(want, br) {
			if err := link.SetRouteLocalnet(br, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// raiseLocalnet turns route_localnet on on the bridges in want, once the guard is live.
func (s *Service) raiseLocalnet(want []string) error {
	if s.dp == nil {
		return nil
	}
	for _, br := range want {
		if err := link.SetRouteLocalnet(br, true); err != nil {
			return err
		}
	}
	return nil
}
