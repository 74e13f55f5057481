package network

import (
	"context"
	"errors"
	"fmt"

	"cloudlet/store"
)

// BindPort binds a port of the project to a device: owner and deviceID are recorded on it in one
// transaction (Neutron's device_owner and device_id), with deviceName (an instance's name) for the
// messages that name the device later. Binding it again to the device it is bound to
// changes nothing; a port bound to another device is a conflict naming that device, and a port of an
// external network cannot be bound.
func (s *Service) BindPort(ctx context.Context, projectID, idOrName, owner, deviceID, deviceName string) (*Port, error) {
	if owner == "" || deviceID == "" {
		return nil, errInvalid("bind port %s: device owner and device id are required", idOrName)
	}
	var p *Port
	err := s.db.Update(func(tx *store.Tx) (err error) {
		if p, err = bindable(tx, projectID, idOrName, owner, deviceID); err != nil || p.DeviceID == deviceID {
			return err
		}
		p.DeviceOwner, p.DeviceID, p.DeviceName = owner, deviceID, deviceName
		if err := ports.Update(tx, p); err != nil {
			return err
		}
		return appendEvent(tx, "port.updated", "port", p.ID, p.ProjectID)
	})
	if err != nil {
		return nil, fmt.Errorf("bind port %s to %s: %w", idOrName, deviceID, s.named(ctx, err, ""))
	}
	return p, nil
}

// PortBindable returns the port when BindPort would bind it to the device; deviceID "" asks whether the
// port is free.
func (s *Service) PortBindable(ctx context.Context, projectID, idOrName, owner, deviceID string) (*Port, error) {
	var p *Port
	err := s.db.View(func(tx *store.Tx) (err error) {
		p, err = bindable(tx, projectID, idOrName, owner, deviceID)
		return err
	})
	return p, s.named(ctx, err, "")
}

// UnbindPort clears a port's device_owner and device_id; the port, its address, tap and rules stay.
// With deviceID set, a port no longer bound to that device is left as it is: an undo or a retried
// delete never unbinds a port from its next user.
func (s *Service) UnbindPort(_ context.Context, portID, deviceID string) error {
	err := s.db.Update(func(tx *store.Tx) error {
		p, err := ports.Get(tx, portID)
		if err != nil {
			return err
		}
		if p.DeviceID == "" || (deviceID != "" && p.DeviceID != deviceID) {
			return nil
		}
		p.DeviceOwner, p.DeviceID, p.DeviceName = "", "", ""
		if err := ports.Update(tx, p); err != nil {
			return err
		}
		return appendEvent(tx, "port.updated", "port", p.ID, p.ProjectID)
	})
	if err != nil {
		return fmt.Errorf("unbind port %s: %w", portID, err)
	}
	return nil
}

// bindable looks the port up and checks that it can be bound to the device.
func bindable(tx *store.Tx, projectID, idOrName, owner, deviceID string) (*Port, error) {
	p, err := ports.Lookup(tx, projectID, idOrName)
	if err != nil {
		return nil, err
	}
	n, err := networks.Get(tx, p.NetworkID)
	if err != nil {
		return nil, fmt.Errorf("network of port %s: %w", p.Name, err)
	}
	if n.Kind == KindExternal {
		return nil, errInvalid("port %s is on external network %s, which holds floating IPs: use a port of a nat, isolated or bridged network", p.Name, n.Name)
	}
	if p.DeviceID != "" && (p.DeviceID != deviceID || p.DeviceOwner != owner) {
		return nil, inUse(p)
	}
	return p, nil
}

// inUseError is a port bound to a device; named turns it into a conflict that names the device.
type inUseError struct{ port, owner, device, name string }

// inUse is the error for p, bound to its device.
func inUse(p *Port) *inUseError {
	return &inUseError{port: p.Name, owner: p.DeviceOwner, device: p.DeviceID, name: p.DeviceName}
}

func (e *inUseError) Error() string {
	return fmt.Sprintf("port %s is in use by %s %s", e.port, e.owner, e.device)
}

// named turns an inUseError into a conflict naming the device (an instance by the name recorded when
// it was bound), with hint appended.
func (s *Service) named(_ context.Context, err error, hint string) error {
	var e *inUseError
	if !errors.As(err, &e) {
		return err
	}
	what := "device " + e.device
	if e.owner == OwnerInstance {
		what = "instance " + e.device
		if e.name != "" {
			what = "instance " + e.name
		}
	} else if e.owner != "" {
		what = e.owner + " " + e.device
	}
	return errConflict("port %s is in use by %s%s", e.port, what, hint)
}
