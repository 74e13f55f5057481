package compute

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/qemu"
)

// NIC is an instance's port on a network, as compute needs it.
type NIC struct {
	PortID, Name, Network, MAC, IP string
}

// Networks is the network service as compute uses it (wired in appliance), in four parts. It never
// calls compute back: DHCP leases reach compute through LeaseFeed, a subscription.
type Networks interface {
	PortMaker
	PortBinder
	NICSource
	NetworkChecker
}

// PortMaker makes and deletes the ports compute creates for an instance's networks.
type PortMaker interface {
	// CreatePort gives the instance a port (MAC, fixed IP, tap) on the network.
	CreatePort(ctx context.Context, r PortRequest) (NIC, error)
	// DeletePort deletes a port CreatePort made.
	DeletePort(ctx context.Context, projectID, portID string) error
}

// PortBinder gives existing ports to instances.
type PortBinder interface {
	// CheckPort answers the project's port ref when it can be given to an instance: not-found, a conflict
	// naming the device it is bound to, or invalid (a port of an external network).
	CheckPort(ctx context.Context, projectID, ref string) (NIC, error)
	// BindPort binds an existing port to the instance (recording its name for messages that name
	// it); binding it again to the same one is a no-op.
	BindPort(ctx context.Context, projectID, portID, instanceID, instanceName string) (NIC, error)
	// UnbindPort frees a port BindPort bound to the instance; its address and tap stay. A port no longer
	// bound to the instance is left alone.
	UnbindPort(ctx context.Context, portID, instanceID string) error
}

// NICSource finds an instance's ports and opens their taps for QEMU.
type NICSource interface {
	InstancePorts(ctx context.Context, instanceID string) ([]NIC, error)
	OpenTap(portID string) (*os.File, error)
}

// NetworkChecker validates what a create request names.
type NetworkChecker interface {
	// CheckNetwork answers not-found for a network the project cannot use.
	CheckNetwork(ctx context.Context, projectID, network string) error
	// CheckSecurityGroup answers not-found for a group the project does not have.
	CheckSecurityGroup(ctx context.Context, projectID, group string) error
}

// PortRequest asks for a new port bound to an instance.
type PortRequest struct {
	ProjectID, Network       string
	InstanceID, InstanceName string   // the owner, its name recorded for messages that name it
	Name                     string   // the port's name, also the instance's DNS name on the network
	SecurityGroups           []string // names or ids; none means the project's default group
}

// maxNICs bounds the NICs (given ports and networks) of one instance.
const maxNICs = 8

// wantsNICs reports whether the instance asked for any port.
func wantsNICs(inst *Instance) bool { return len(inst.Ports)+len(inst.Networks) > 0 }

// makePorts gives the instance its NICs in order: the ports it was given, bound to it now, then a new
// port on each network it asked for. It records their order and addresses; on failure it undoes its work.
func (s *Service) makePorts(ctx context.Context, inst *Instance) error {
	if !wantsNICs(inst) {
		return nil
	}
	if s.o.Networks == nil {
		return fmt.Errorf("instance %s asks for networks but networking is not configured", inst.Name)
	}
	nics, err := s.bindAndMake(ctx, inst)
	if err != nil {
		return err
	}
	_, err = s.update(inst.ID, func(i *Instance) error {
		i.PortIDs, i.Addresses = portIDs(nics), addresses(nics)
		return nil
	})
	if err != nil {
		s.dropNICs(context.WithoutCancel(ctx), inst, portIDs(nics))
	}
	return err
}

// bindAndMake binds the given ports and makes the others; on failure what it did is undone.
func (s *Service) bindAndMake(ctx context.Context, inst *Instance) ([]NIC, error) {
	var nics []NIC
	undo := func(err error) ([]NIC, error) {
		s.dropNICs(context.WithoutCancel(ctx), inst, portIDs(nics))
		return nil, err
	}
	for _, id := range inst.Ports {
		nic, err := s.o.Networks.BindPort(ctx, inst.ProjectID, id, inst.ID, inst.Name)
		if err != nil {
			return undo(fmt.Errorf("port %s: %w", id, err))
		}
		nics = append(nics, nic)
	}
	for _, net := range inst.Networks {
		nic, err := s.o.Networks.CreatePort(ctx, PortRequest{ProjectID: inst.ProjectID, Network: net,
			InstanceID: inst.ID, InstanceName: inst.Name, Name: madePortName(inst, nics), SecurityGroups: inst.SecurityGroups})
		if err != nil {
			return undo(fmt.Errorf("port on network %s: %w", net, err))
		}
		nics = append(nics, nic)
	}
	return nics, nil
}

// madePortName names the next port made for the instance: the first one is named like the instance
// (its DNS name on that network) unless a given port already is, the others <instance>-nic<index>.
func madePortName(inst *Instance, nics []NIC) string {
	taken := slices.ContainsFunc(nics, func(n NIC) bool { return n.Name == inst.Name })
	if len(nics) == len(inst.Ports) && !taken {
		return inst.Name
	}
	return inst.Name + "-nic" + strconv.Itoa(len(nics))
}

// dropNICs undoes ports of the instance: given ones are unbound (they outlive it, as in Nova), made ones
// deleted. Ports already gone are skipped, so a retried delete finishes.
func (s *Service) dropNICs(ctx context.Context, inst *Instance, ids []string) error {
	var errs []error
	for _, id := range ids {
		var err error
		if slices.Contains(inst.Ports, id) {
			err = s.o.Networks.UnbindPort(ctx, id, inst.ID)
		} else {
			err = s.o.Networks.DeletePort(ctx, inst.ProjectID, id)
		}
		if err != nil && fault.KindOf(err) != fault.NotFound {
			errs = append(errs, fmt.Errorf("release port %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// releaseNICs frees all of the instance's ports: those recorded (or, for records without that, bound
// to it) and those it was given.
func (s *Service) releaseNICs(ctx context.Context, inst *Instance) error {
	if s.o.Networks == nil {
		return nil
	}
	ids := slices.Clone(inst.PortIDs)
	if ids == nil {
		bound, err := s.o.Networks.InstancePorts(ctx, inst.ID)
		if err != nil {
			return err
		}
		ids = portIDs(bound)
	}
	for _, id := range inst.Ports {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return s.dropNICs(ctx, inst, ids)
}

// forgetNICs releases the instance's ports after a failed or interrupted spawn and clears their record,
// so its ports are free for others at once (Nova deallocates a failed build's network the same way);
// a later start makes them again.
func (s *Service) forgetNICs(ctx context.Context, inst *Instance) error {
	if err := s.releaseNICs(context.WithoutCancel(ctx), inst); err != nil {
		return err
	}
	_, err := s.update(inst.ID, func(i *Instance) error {
		i.PortIDs, i.Addresses = nil, nil
		return nil
	})
	return err
}

func portIDs(nics []NIC) []string {
	var out []string
	for _, n := range nics {
		out = append(out, n.PortID)
	}
	return out
}

func addresses(nics []NIC) []Address {
	var out []Address
	for _, n := range nics {
		out = append(out, Address{Network: n.Network, IP: n.IP, MAC: n.MAC})
	}
	return out
}

// instanceNICs lists the instance's ports in NIC order: as makePorts recorded it, or for records from
// before that, as InstancePorts lists them.
func (s *Service) instanceNICs(ctx context.Context, inst *Instance) ([]NIC, error) {
	bound, err := s.o.Networks.InstancePorts(ctx, inst.ID)
	if err != nil || inst.PortIDs == nil {
		return bound, err
	}
	out := make([]NIC, 0, len(inst.PortIDs))
	for _, id := range inst.PortIDs {
		i := slices.IndexFunc(bound, func(n NIC) bool { return n.PortID == id })
		if i < 0 {
			return nil, fmt.Errorf("port %s of instance %s is gone or no longer bound to it", id, inst.Name)
		}
		out = append(out, bound[i])
	}
	return out, nil
}

// openNICs opens the taps (and vhost-net devices) of the instance's ports for QEMU: their fds follow the ones already in
// extra (a saved state's comes first), and the caller closes them once QEMU has its copies.
func (s *Service) openNICs(ctx context.Context, inst *Instance, extra []*os.File) ([]qemu.NIC, []*os.File, error) {
	if s.o.Networks == nil || !wantsNICs(inst) {
		return nil, extra, nil
	}
	nics, err := s.instanceNICs(ctx, inst)
	if err != nil {
		return nil, extra, err
	}
	var out []qemu.NIC
	var opened []*os.File
	for i, n := range nics {
		nic := qemu.NIC{Name: "net" + strconv.Itoa(i), MAC: n.MAC}
		f, err := s.o.Networks.OpenTap(n.PortID)
		if err != nil {
			closeFiles(opened)
			return nil, extra[:len(extra)-len(opened)], fmt.Errorf("tap of port %s: %w", n.PortID, err)
		}
		extra, opened = append(extra, f), append(opened, f)
		nic.TapFD = 2 + len(extra)
		if v := s.openVhost(); v != nil {
			extra, opened = append(extra, v), append(opened, v)
			nic.VhostFD = 2 + len(extra)
		}
		out = append(out, nic)
	}
	return out, extra, nil
}

// openVhost opens /dev/vhost-net for one NIC when the host offers it (Options.Vhost), so packets
// skip QEMU's userspace; nil means QEMU moves them itself, which always works.
func (s *Service) openVhost() *os.File {
	if s.o.Vhost == nil {
		return nil
	}
	f, err := s.o.Vhost()
	if err != nil {
		s.log.Debug("no vhost-net: QEMU moves the packets", "err", err)
		return nil
	}
	return f
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}
