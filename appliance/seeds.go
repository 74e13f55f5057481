package appliance

import (
	"context"
	"fmt"
	"maps"
	"net/netip"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/guest"
	"cloudlet/appliance/network"
)

// guestSeeds writes compute's seeds with the guest service's renderers, filling in the addressing of
// the instance's ports from the network service.
type guestSeeds struct{ n *network.Service }

var _ compute.Seeds = guestSeeds{}

func (g guestSeeds) WriteSeed(ctx context.Context, r compute.SeedRequest) error {
	inst, err := guestInstance(ctx, g.n, &r.Instance, r.Guest)
	if err != nil {
		return err
	}
	return guest.WriteSeed(r.Path, r.Kind, inst, r.UID, r.GID)
}

// guestInstance is what the guest of inst learns about itself: compute's record and secrets, with its
// ports (in NIC order) and their networks' addressing. The metadata service answers from it too.
func guestInstance(ctx context.Context, n *network.Service, inst *compute.Instance, data compute.GuestData) (guest.Instance, error) {
	out := guest.Instance{
		ID: inst.ID, Name: inst.Name, Hostname: inst.Hostname, ProjectID: inst.ProjectID,
		InstanceType: inst.Flavor.Name, ImageID: inst.ImageID, UserData: data.UserData,
		Metadata: maps.Clone(inst.Metadata), PasswordHash: data.PasswordHash,
	}
	if out.Hostname == "" { // a record from before hostnames
		out.Hostname = inst.Name
	}
	if inst.KeyData != "" {
		out.PublicKeys = []guest.PublicKey{{Name: inst.KeyName, Data: inst.KeyData}}
	}
	for _, id := range inst.PortIDs {
		nic, err := guestNIC(ctx, n, id)
		if err != nil {
			return guest.Instance{}, fmt.Errorf("guest data of instance %s: %w", inst.ID, err)
		}
		out.NICs = append(out.NICs, nic)
	}
	return out, nil
}

// guestNIC is one port with its network's addressing; DNS as the network's DHCP server gives it (the
// subnet's servers, else the gateway, where cloudlet's DNS answers).
func guestNIC(ctx context.Context, n *network.Service, portID string) (guest.NIC, error) {
	p, err := n.Port(ctx, "", portID)
	if err != nil {
		return guest.NIC{}, err
	}
	net, err := n.Network(ctx, "", p.NetworkID)
	if err != nil {
		return guest.NIC{}, err
	}
	nic := guest.NIC{PortID: p.ID, MAC: p.MAC, NetworkID: p.NetworkID, MTU: net.MTU, Gateway: net.Subnet.Gateway,
		DNS: net.Subnet.DNS}
	if len(nic.DNS) == 0 && nic.Gateway.IsValid() {
		nic.DNS = []netip.Addr{nic.Gateway}
	}
	if len(p.FixedIPs) > 0 {
		nic.Address = netip.PrefixFrom(p.FixedIPs[0], net.Subnet.CIDR.Bits())
	}
	return nic, nil
}
