package volume

import (
	"errors"
	"fmt"
)

// The service no longer reaches QEMU: its caller (the API layer, through compute) drives each disk
// operation step by step and does the live step itself. These helpers drive the steps as that
// caller does, with fakeLive standing in for compute, so the tests below cover both the live path
// and the offline one (fakeLive answering errNotRunning).

// errNotRunning is what fakeLive answers, like compute, for an instance without a running QEMU.
var errNotRunning = errors.New("instance is not running")

// onQEMU runs fn for an attached volume; done is false when no QEMU holds it.
func (e *env) onQEMU(v *Volume, fn func(instanceID string) error) (bool, error) {
	if v.Attachment == nil {
		return false, nil
	}
	err := fn(v.Attachment.InstanceID)
	if errors.Is(err, errNotRunning) {
		return false, nil
	}
	return true, err
}

func (e *env) extend(projectID, ref string, sizeGiB int) (*Volume, error) {
	v, err := e.svc.BeginExtend(ctx, projectID, ref, sizeGiB)
	if err != nil {
		return nil, err
	}
	done, cause := e.onQEMU(v, func(inst string) error { return e.live.Resize(ctx, inst, v.ID, int64(sizeGiB)*GiB) })
	if !done {
		cause = e.svc.ResizeFile(ctx, v.ID, sizeGiB)
	}
	return e.svc.EndExtend(ctx, v.ID, sizeGiB, cause)
}

func (e *env) setQoS(projectID, ref string, q QoS) (*Volume, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	v, err := e.svc.Get(ctx, projectID, ref)
	if err != nil {
		return nil, err
	}
	if v.Status != StatusReserved {
		if _, err := e.onQEMU(v, func(inst string) error { return e.live.Throttle(ctx, inst, v.ID, q) }); err != nil {
			return nil, err
		}
	}
	return e.svc.SetQoS(ctx, projectID, v.ID, q)
}

func (e *env) createSnapshot(projectID, ref, name string) (*Snapshot, error) {
	p, err := e.svc.BeginSnapshot(ctx, projectID, ref, name)
	if err != nil {
		return nil, err
	}
	v, sn := p.Volume, p.Snapshot
	flattenFile, cause := p.Flatten, error(nil)
	if p.Flatten {
		var streamed bool
		streamed, cause = e.onQEMU(v, func(inst string) error { return e.live.Stream(ctx, inst, v.ID) })
		if cause != nil {
			cause = fmt.Errorf("live flatten: %w", cause)
		}
		flattenFile = !streamed
	}
	if cause == nil {
		var overlay string
		if overlay, cause = e.svc.MakeOverlay(ctx, sn.ID, flattenFile); cause == nil {
			if _, cause = e.onQEMU(v, func(inst string) error { return e.live.Snapshot(ctx, inst, v.ID, overlay) }); cause != nil {
				cause = fmt.Errorf("live snapshot: %w", cause)
			}
		}
	}
	return e.svc.EndSnapshot(ctx, sn.ID, cause)
}
