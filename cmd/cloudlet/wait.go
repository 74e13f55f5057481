package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/web/client"
)

// waitLimit bounds --wait.
const waitLimit = 10 * time.Minute

// finish prints the instance, after waiting for its task to end when wait is set.
func (g *globals) finish(inst *compute.Instance, wait bool) error {
	if wait {
		settled, err := g.waitSettled(inst.ID)
		if err != nil {
			return err
		}
		inst = settled
	}
	if err := g.print(inst, instanceHeader, [][]string{instanceRow(inst)}); err != nil {
		return err
	}
	if wait && inst.Fault != "" && (inst.VMState == compute.VMError || inst.PowerState == compute.PowerCrashed) {
		return fmt.Errorf("instance %s: %s", inst.Name, inst.Fault)
	}
	return nil
}

// waitSettled polls until the instance has no task.
func (g *globals) waitSettled(id string) (*compute.Instance, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for {
		var inst compute.Instance
		if err := g.client().Do(ctx, "GET", "/api/v1/instances/"+id, nil, &inst); err != nil {
			return nil, err
		}
		if inst.TaskState == compute.TaskNone && inst.VMState != compute.VMBuilding {
			return &inst, nil
		}
		if err := pause(ctx); err != nil {
			return nil, fmt.Errorf("wait for instance %s: %w", inst.Name, err)
		}
	}
}

// waitGone polls until the instance no longer exists.
func (g *globals) waitGone(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for {
		err := g.client().Do(ctx, "GET", "/api/v1/instances/"+id, nil, nil)
		var apiErr *client.Error
		if errors.As(err, &apiErr) && apiErr.Code == http.StatusNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if err := pause(ctx); err != nil {
			return fmt.Errorf("wait for instance %s to be deleted: %w", id, err)
		}
	}
}

func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(200 * time.Millisecond):
		return nil
	}
}
