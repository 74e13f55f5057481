package compute

import (
	"context"
	"net"
)

// hasQEMU refuses an instance whose QEMU is not running (vm_state other than active or paused),
// whose sockets therefore do not answer.
func hasQEMU(inst *Instance) error {
	if inst.VMState != VMActive && inst.VMState != VMPaused {
		return errConflict("instance %s is not running (vm_state %s)", inst.Name, inst.VMState)
	}
	return nil
}

// DialVNC connects to the VNC server of a running instance of the project: QEMU's unix socket in
// the instance's 0700 run dir, RFB without a password, so only the caller's authorization guards
// it. It returns the connection, which the caller closes, and the instance's ID.
func (s *Service) DialVNC(ctx context.Context, projectID, idOrName string) (net.Conn, string, error) {
	inst, err := s.Get(ctx, projectID, idOrName)
	if err != nil {
		return nil, "", err
	}
	if err := hasQEMU(inst); err != nil {
		return nil, "", err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", s.paths(inst.ID).VNC)
	if err != nil {
		return nil, "", errConflict("connect to the screen of instance %s: %v", inst.Name, err)
	}
	return conn, inst.ID, nil
}

// InstanceID resolves an instance of the project, by ID or name, to its ID.
func (s *Service) InstanceID(ctx context.Context, projectID, idOrName string) (string, error) {
	inst, err := s.Get(ctx, projectID, idOrName)
	if err != nil {
		return "", err
	}
	return inst.ID, nil
}
