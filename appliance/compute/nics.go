package compute

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"cloudlet/appliance/qemu"
)

// NIC is an instance's port on a network, as compute needs it.
type NIC struct {
	PortID, Network, MAC, IP string
}

// Networks is the network service as compute uses it (wired in appliance).
type Networks interface {
	// CreatePort gives the instance a port (MAC, fixed IP, tap) on the network; name is the port's
	// name, which is also the instance's DNS name there.
	// groups are security group names or ids; none means the project's default group.
	CreatePort(ctx context.Context, projectID, network, instanceID, name string, groups []string) (NIC, error)
	DeletePort(ctx context.Context, projectID, portID string) error
	InstancePorts(ctx context.Context, instanceID string) ([]NIC, error)
	OpenTap(portID string) (*os.File, error)
	// CheckNetwork answers not-found for a network the project cannot use.
	CheckNetwork(ctx context.Context, projectID, network string) error
	// CheckSecurityGroup answers not-found for a group the project does not have.
	CheckSecurityGroup(ctx context.Context, projectID, group string) error
}

// maxNICs bounds the networks of one instance.
const maxNICs = 8

// makePorts creates the instance's ports on the networks it asked for, in order; on failure the ones
// made are deleted again.
func (s *Service) makePorts(ctx context.Context, inst *Instance) error {
	if len(inst.Networks) > 0 && s.o.Networks == nil {
		return fmt.Errorf("instance %s asks for networks but networking is not configured", inst.Name)
	}
	var made []NIC
	for i, net := range inst.Networks {
		name := inst.Name
		if i > 0 {
			name += "-nic" + strconv.Itoa(i)
		}
		nic, err := s.o.Networks.CreatePort(ctx, inst.ProjectID, net, inst.ID, name, inst.SecurityGroups)
		if err != nil {
			for _, m := range made {
				s.o.Networks.DeletePort(context.WithoutCancel(ctx), inst.ProjectID, m.PortID)
			}
			return fmt.Errorf("port on network %s: %w", net, err)
		}
		made = append(made, nic)
	}
	_, err := s.update(inst.ID, func(i *Instance) error {
		i.Addresses = addresses(made)
		return nil
	})
	return err
}

func addresses(nics []NIC) []Address {
	var out []Address
	for _, n := range nics {
		out = append(out, Address{Network: n.Network, IP: n.IP, MAC: n.MAC})
	}
	return out
}

// openNICs opens the taps of the instance's ports for QEMU: their fds follow the ones already in
// extra (a saved state's comes first), and the caller closes them once QEMU has its copies.
func (s *Service) openNICs(ctx context.Context, inst *Instance, extra []*os.File) ([]qemu.NIC, []*os.File, error) {
	if s.o.Networks == nil || len(inst.Networks) == 0 {
		return nil, extra, nil
	}
	nics, err := s.o.Networks.InstancePorts(ctx, inst.ID)
	if err != nil {
		return nil, extra, err
	}
	var out []qemu.NIC
	for i, n := range nics {
		f, err := s.o.Networks.OpenTap(n.PortID)
		if err != nil {
			closeFiles(extra[len(extra)-i:])
			return nil, extra[:len(extra)-i], fmt.Errorf("tap of port %s: %w", n.PortID, err)
		}
		extra = append(extra, f)
		out = append(out, qemu.NIC{Name: "net" + strconv.Itoa(i), MAC: n.MAC, TapFD: 2 + len(extra)})
	}
	return out, extra, nil
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// deletePorts removes the instance's ports (and so their taps and addresses).
func (s *Service) deletePorts(ctx context.Context, inst *Instance) error {
	if s.o.Networks == nil {
		return nil
	}
	nics, err := s.o.Networks.InstancePorts(ctx, inst.ID)
	if err != nil {
		return err
	}
	for _, n := range nics {
		if err := s.o.Networks.DeletePort(ctx, inst.ProjectID, n.PortID); err != nil {
			return fmt.Errorf("delete port %s: %w", n.PortID, err)
		}
	}
	return nil
}
