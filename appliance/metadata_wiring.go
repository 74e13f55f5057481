package appliance

import (
	"context"
	"fmt"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/fault"
	"cloudlet/appliance/guest"
	"cloudlet/appliance/network"
)

// This file wires the metadata service: the listener plumbing is network's, the router guest's; here
// the caller (network + address) becomes its instance, and the instance its documents.

// checkMetadata checks metadata_port: 0 turns the metadata service off.
func (c *Config) checkMetadata() error {
	if c.MetadataPort < 0 || c.MetadataPort > 65535 {
		return fmt.Errorf("config: metadata_port %d: want 1-65535, or 0 for no metadata service", c.MetadataPort)
	}
	return nil
}

// metadataGuests finds the instance behind a metadata caller: the port holding the caller's
// address on the caller's network, bound to an instance. Anything else is not found.
type metadataGuests struct {
	network *network.Service
	compute *compute.Service
}

func (m metadataGuests) instanceAt(ctx context.Context, c guest.Caller) (*compute.Instance, error) {
	p, err := m.network.PortAt(ctx, c.NetworkID, c.Addr)
	if err != nil {
		return nil, err
	}
	if p.DeviceOwner != network.OwnerInstance || p.DeviceID == "" {
		return nil, fault.New(fault.NotFound, "port %s at %s is no instance's", p.ID, c.Addr)
	}
	inst, err := m.compute.Get(ctx, "", p.DeviceID)
	if err != nil {
		return nil, fault.Wrap(fault.NotFound, err)
	}
	guest.NoteInstance(ctx, inst.ID)
	return inst, nil
}

// MarkReady marks the caller's own instance ready (its phone-home).
func (m metadataGuests) MarkReady(ctx context.Context, c guest.Caller) error {
	inst, err := m.instanceAt(ctx, c)
	if err != nil {
		return err
	}
	return m.compute.MarkGuestReady(ctx, inst.ID, compute.ReadyViaPhoneHome)
}

// metadataDocs answers the OpenStack and EC2 documents of the caller's instance, rendered by the guest
// service from the same data as its seed (guestInstance): the record, its secrets and its ports.
type metadataDocs struct{ metadataGuests }

// Serve answers path for the caller's instance.
func (m metadataDocs) Serve(ctx context.Context, c guest.Caller, path string) ([]byte, string, error) {
	inst, err := m.instanceAt(ctx, c)
	if err != nil {
		return nil, "", err
	}
	data, err := m.compute.GuestData(ctx, inst.ID)
	if err != nil {
		return nil, "", fmt.Errorf("metadata of instance %s: %w", inst.ID, err)
	}
	gi, err := guestInstance(ctx, m.network, inst, data)
	if err != nil {
		return nil, "", fmt.Errorf("metadata of instance %s: %w", inst.ID, err)
	}
	return guest.Serve(gi, path)
}

// startMetadata lets the metadata service answer, now that compute is up: until here its
// listeners (opened with the networks) only queued connections.
func (a *Appliance) startMetadata() error {
	g := metadataGuests{network: a.network, compute: a.compute}
	return a.metadata.Start(metadataDocs{g}, g)
}
