package network

import (
	"errors"
	"fmt"
	"strings"

	"cloudlet/appliance/network/link"
)

// An uplink (an external network's LAN, a NAT network's way out) must be a real host interface.
// Floating IPs become /32s on it and DNAT leads from it, so the loopback would take host-local
// addresses, and one of cloudlet's bridges or taps another network's or a guest's traffic. A host
// bridge that is the LAN (vmbr0, also a bridged network's bridge) is a real uplink: on such a host
// the LAN's addresses live on the bridge, not on the NIC enslaved to it.

// uplinkName refuses, by name alone, what can never be an uplink: the loopback and cloudlet's own
// bridges and taps. The datapath checks the link itself (checkUplinkLink).
func uplinkName(name string) bool {
	return name != "lo" && !strings.HasPrefix(name, link.BridgePrefix) && !strings.HasPrefix(name, link.TapPrefix)
}

// checkUplinkLink checks the uplink on the host: it exists and is neither a loopback nor a tap.
func checkUplinkLink(n *Network) error {
	err := link.CheckUplink(n.Uplink)
	switch {
	case errors.Is(err, link.ErrNotFound):
		return errInvalid("network %s: uplink %s: the host has no such interface", n.Name, n.Uplink)
	case errors.Is(err, link.ErrInvalid):
		return errInvalid("network %s: uplink %v: an uplink is a host interface to the outside", n.Name, strings.TrimPrefix(err.Error(), link.ErrInvalid.Error()+": "))
	case err != nil:
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	return nil
}
