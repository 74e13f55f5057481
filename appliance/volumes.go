package appliance

import (
	"context"
	"os"
	"slices"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/fault"
	"cloudlet/appliance/network"
	"cloudlet/appliance/network/link"
	"cloudlet/appliance/volume"
)

// computeVolumes adapts the volume service to what compute needs of it.
type computeVolumes struct{ v *volume.Service }

var _ compute.Volumes = computeVolumes{}

func (a computeVolumes) CreateBoot(ctx context.Context, r compute.BootVolumeRequest) (compute.Volume, error) {
	bootable := true
	v, err := a.v.Create(ctx, r.ProjectID, volume.CreateRequest{Name: r.Name, SizeGiB: r.SizeGiB, ImageID: r.Image,
		Bootable: &bootable, ReserveFor: r.InstanceID})
	return a.of(v, err)
}

func (a computeVolumes) Reserve(ctx context.Context, projectID, ref, instanceID string) (compute.Volume, error) {
	return a.of(a.v.Reserve(ctx, projectID, ref, instanceID))
}

func (a computeVolumes) Attached(ctx context.Context, id, port string, boot, dot bool) error {
	_, err := a.v.Attached(ctx, id, port, boot, dot)
	return err
}

func (a computeVolumes) Detached(ctx context.Context, id string) error {
	_, err := a.v.Detached(ctx, id)
	return err
}

// AttachedTo lists the volumes in use by an instance (reservations of attaches in flight are not disks yet).
func (a computeVolumes) AttachedTo(ctx context.Context, instanceID string) ([]compute.Volume, error) {
	vs, err := a.v.AttachedTo(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	var out []compute.Volume
	for _, v := range vs {
		if v.Status != volume.StatusReserved {
			cv, _ := a.of(v, nil)
			out = append(out, cv)
		}
	}
	return out, nil
}

// Reservations lists reserved volumes of an instance ("" = of every instance).
func (a computeVolumes) Reservations(ctx context.Context, instanceID string) ([]compute.Volume, error) {
	vs, err := a.v.Reservations(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	out := make([]compute.Volume, 0, len(vs))
	for _, v := range vs {
		cv, _ := a.of(v, nil)
		out = append(out, cv)
	}
	return out, nil
}

func (a computeVolumes) Get(ctx context.Context, projectID, ref string) (compute.Volume, error) {
	return a.of(a.v.Get(ctx, projectID, ref))
}

// Extend grows a volume no QEMU holds (compute grows a stopped instance's boot volume on a resize,
// on the instance's own goroutine): its file is resized by the volume service.
func (a computeVolumes) Extend(ctx context.Context, projectID, id string, sizeGiB int) error {
	v, err := a.v.BeginExtend(ctx, projectID, id, sizeGiB)
	if err != nil {
		return err
	}
	_, err = a.v.EndExtend(context.WithoutCancel(ctx), v.ID, sizeGiB, a.v.ResizeFile(ctx, v.ID, sizeGiB))
	return err
}

func (a computeVolumes) Delete(ctx context.Context, projectID, id string) error {
	return a.v.Delete(ctx, projectID, id)
}

func (a computeVolumes) of(v *volume.Volume, err error) (compute.Volume, error) {
	if err != nil {
		return compute.Volume{}, err
	}
	d := a.v.DiskFor(v)
	cv := compute.Volume{ID: v.ID, Name: v.Name, ProjectID: v.ProjectID, Path: d.Path, Format: d.Format,
		QoS: compute.DiskQoS{ReadIOPS: d.QoS.ReadIOPS, WriteIOPS: d.QoS.WriteIOPS,
			ReadBytesSec: d.QoS.ReadBytesSec, WriteBytesSec: d.QoS.WriteBytesSec}}
	if at := v.Attachment; at != nil {
		cv.InstanceID, cv.Boot, cv.DeleteOnTermination = at.InstanceID, at.Boot, at.DeleteOnTermination
		if !at.Boot {
			cv.Port = at.Device
		}
	}
	return cv, nil
}

// computeNetworks adapts the network service to what compute needs of it.
type computeNetworks struct{ n *network.Service }

var _ compute.Networks = computeNetworks{}

func (a computeNetworks) CreatePort(ctx context.Context, r compute.PortRequest) (compute.NIC, error) {
	p, err := a.n.CreatePort(ctx, r.ProjectID, network.CreatePortRequest{Name: r.Name, Network: r.Network,
		SecurityGroups: slices.Clone(r.SecurityGroups), Instance: r.InstanceID, InstanceName: r.InstanceName})
	if err != nil {
		return compute.NIC{}, err
	}
	return a.nic(ctx, p), nil
}

// DeletePort deletes a port compute made: unlike the API's DELETE, also while it is bound.
func (a computeNetworks) DeletePort(ctx context.Context, projectID, portID string) error {
	return a.n.DeleteInstancePort(ctx, projectID, portID)
}

func (a computeNetworks) CheckPort(ctx context.Context, projectID, ref string) (compute.NIC, error) {
	p, err := a.n.PortBindable(ctx, projectID, ref, network.OwnerInstance, "")
	if err != nil {
		return compute.NIC{}, err
	}
	return a.nic(ctx, p), nil
}

func (a computeNetworks) BindPort(ctx context.Context, projectID, portID, instanceID, instanceName string) (compute.NIC, error) {
	p, err := a.n.BindPort(ctx, projectID, portID, network.OwnerInstance, instanceID, instanceName)
	if err != nil {
		return compute.NIC{}, err
	}
	return a.nic(ctx, p), nil
}

func (a computeNetworks) UnbindPort(ctx context.Context, portID, instanceID string) error {
	return a.n.UnbindPort(ctx, portID, instanceID)
}

// InstancePorts lists the ports bound to the instance in name order (compute keeps the NIC order of
// instances it recorded one for; for older records the first port, eth0, is named like the instance).
func (a computeNetworks) InstancePorts(ctx context.Context, instanceID string) ([]compute.NIC, error) {
	all, err := a.n.Ports(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []compute.NIC
	for _, p := range all {
		if p.DeviceID == instanceID && p.DeviceOwner == network.OwnerInstance {
			out = append(out, a.nic(ctx, p))
		}
	}
	return out, nil
}

func (a computeNetworks) OpenTap(portID string) (*os.File, error) {
	return link.OpenTap(link.TapName(portID))
}

// CheckNetwork also refuses an external network: it holds floating IPs, not ports.
func (a computeNetworks) CheckNetwork(ctx context.Context, projectID, ref string) error {
	n, err := a.n.Network(ctx, projectID, ref)
	if err == nil && n.Kind == network.KindExternal {
		return fault.New(fault.Invalid, "network %s is external: it holds floating IPs, not ports (attach to a nat, isolated or bridged network and associate a floating IP)", n.Name)
	}
	return err
}

func (a computeNetworks) CheckSecurityGroup(ctx context.Context, projectID, ref string) error {
	_, err := a.n.SecurityGroup(ctx, projectID, ref)
	return err
}

func (a computeNetworks) nic(ctx context.Context, p *network.Port) compute.NIC {
	nic := compute.NIC{PortID: p.ID, Name: p.Name, Network: p.NetworkID, MAC: p.MAC}
	if len(p.FixedIPs) > 0 {
		nic.IP = p.FixedIPs[0].String()
	}
	if n, err := a.n.Network(ctx, "", p.NetworkID); err == nil {
		nic.Network = n.Name
	}
	return nic
}
