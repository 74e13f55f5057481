package appliance

import (
	"fmt"

	"cloudlet/appliance/network"
)

// checkNetworkPolicy checks what members may do with networks: the extra ranges they may use (IPv4
// prefixes, none reserved) and their port forward range (empty keeps the default).
func (c *Config) checkNetworkPolicy() error {
	if err := network.CheckMemberCIDRs(c.NetworkCIDRsAllowed); err != nil {
		return fmt.Errorf("config: network_cidrs_allowed: %w", err)
	}
	if c.PortForwardRange == "" {
		c.PortForwardRange = network.DefaultForwardRange.String()
	}
	if _, err := network.ParsePortRange(c.PortForwardRange); err != nil {
		return fmt.Errorf("config: port_forward_range: %w", err)
	}
	return nil
}

// forwardRange is the members' port forward range; Normalize has checked it.
func (c *Config) forwardRange() network.PortRange {
	r, err := network.ParsePortRange(c.PortForwardRange)
	if err != nil {
		return network.DefaultForwardRange
	}
	return r
}
