package compute

import (
	"context"
	"slices"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// defaultNetwork is what an instance asking for no NIC at all is attached to. Omitting both networks
// and ports means the project's network "default" when it has one, else no NIC; an explicit empty list
// means no NIC. Precedent: Incus's default profile gives every instance eth0 on the default bridge, and
// Nova attaches the project's only network when none is asked for (microversion 2.37 spells the choice
// "auto" or "none").
const defaultNetwork = "default"

// checkNICs validates what the request asks of networking and resolves it for the record: the default
// network when it asks for none, and the given ports' ids. It refuses too many NICs, unknown networks,
// groups or ports, ports in use or on an external network, and any NIC when networking is not configured.
func (s *Service) checkNICs(ctx context.Context, r *CreateRequest) error {
	if r.Networks == nil && r.Ports == nil {
		nets, err := s.defaultNetworks(ctx, r.ProjectID)
		if err != nil {
			return err
		}
		r.Networks = nets
	}
	if n := len(r.Networks) + len(r.Ports); n > maxNICs {
		return errInvalid("at most %d NICs (networks and ports) per instance, not %d", maxNICs, n)
	}
	if len(r.Networks)+len(r.Ports) > 0 && s.o.Networks == nil {
		return errInvalid("networks are not available on this host")
	}
	for _, n := range r.Networks {
		if err := s.o.Networks.CheckNetwork(ctx, r.ProjectID, n); fault.KindOf(err) == fault.NotFound {
			return errInvalid("unknown network %q", n)
		} else if err != nil {
			return err
		}
	}
	if err := s.checkGroups(ctx, r); err != nil {
		return err
	}
	ids, err := s.checkPorts(ctx, r.ProjectID, r.Ports)
	r.Ports = ids
	return err
}

// defaultNetworks is the NIC list of a request that names none: network "default" if the project has it.
func (s *Service) defaultNetworks(ctx context.Context, projectID string) ([]string, error) {
	if s.o.Networks == nil {
		return nil, nil
	}
	err := s.o.Networks.CheckNetwork(ctx, projectID, defaultNetwork)
	switch fault.KindOf(err) {
	case fault.NotFound, fault.Invalid: // none, or one it cannot attach to (external): no default
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []string{defaultNetwork}, nil
}

// checkGroups: security groups go on the ports made for the instance; a given port keeps its own.
func (s *Service) checkGroups(ctx context.Context, r *CreateRequest) error {
	if len(r.SecurityGroups) > 0 && len(r.Networks) == 0 {
		return errInvalid("security groups apply to the ports made for an instance's networks (a given port keeps its own): give it a network")
	}
	for _, g := range r.SecurityGroups {
		if err := s.o.Networks.CheckSecurityGroup(ctx, r.ProjectID, g); err != nil {
			return errInvalid("unknown security group %q", g)
		}
	}
	return nil
}

// checkPorts resolves the ports given to a new instance to their ids: each must be the project's,
// free, and not on an external network; none may be given twice.
func (s *Service) checkPorts(ctx context.Context, projectID string, refs []string) ([]string, error) {
	var ids []string
	for _, ref := range refs {
		nic, err := s.o.Networks.CheckPort(ctx, projectID, ref)
		if fault.KindOf(err) == fault.NotFound {
			return nil, errInvalid("unknown port %q", ref)
		} else if err != nil {
			return nil, err
		}
		if slices.Contains(ids, nic.PortID) {
			return nil, errInvalid("port %q is given twice", ref)
		}
		ids = append(ids, nic.PortID)
	}
	return ids, nil
}

// portsClaimed refuses, in the transaction that records inst, ports that an instance still being built
// was given: it binds them only when it spawns.
func portsClaimed(tx *store.Tx, inst *Instance) error {
	if len(inst.Ports) == 0 {
		return nil
	}
	return instances.ForEach(tx, func(o *Instance) error {
		if o.VMState != VMBuilding || o.ID == inst.ID {
			return nil
		}
		for _, id := range inst.Ports {
			if slices.Contains(o.Ports, id) {
				return errConflict("port %s is in use by instance %s (being built)", id, o.Name)
			}
		}
		return nil
	})
}
