package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/web/client"
)

// waitLimit bounds --wait.
const waitLimit = 10 * time.Minute

// fallbackPoll is how often a wait reads the instance again when the event stream cannot be
// followed (a daemon without one, or a stream that ended): the slow path, kept only for that.
const fallbackPoll = time.Second

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

// waitSettled waits until the instance has no task.
func (g *globals) waitSettled(id string) (*compute.Instance, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var inst compute.Instance
	err := g.watchInstance(ctx, id, func() (bool, error) {
		inst = compute.Instance{}
		if err := g.client().Do(ctx, "GET", "/api/v1/instances/"+url.PathEscape(id), nil, &inst); err != nil {
			return false, err
		}
		return inst.TaskState == compute.TaskNone && inst.VMState != compute.VMBuilding, nil
	})
	if err != nil {
		return nil, fmt.Errorf("wait for instance %s: %w", id, err)
	}
	return &inst, nil
}

// waitGone waits until the instance no longer exists.
func (g *globals) waitGone(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	err := g.watchInstance(ctx, id, func() (bool, error) {
		err := g.client().Do(ctx, "GET", "/api/v1/instances/"+url.PathEscape(id), nil, nil)
		var apiErr *client.Error
		if errors.As(err, &apiErr) && apiErr.Code == http.StatusNotFound {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return fmt.Errorf("wait for instance %s to be deleted: %w", id, err)
	}
	return nil
}

// watchInstance calls done until it reports true or fails: first right after subscribing to the
// event stream of the instance, then after each event about it, so no change between the two is
// lost (every change a wait looks for — state, task, readiness — writes an event about the instance).
// Without a stream (a daemon that has none, or one that ended) it falls back to calling done every
// fallbackPoll.
func (g *globals) watchInstance(ctx context.Context, id string, done func() (bool, error)) error {
	wake, streaming := g.instanceEvents(ctx, id)
	var tick <-chan time.Time
	var poll *time.Ticker
	defer func() {
		if poll != nil {
			poll.Stop()
		}
	}()
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		if poll == nil && !streaming {
			poll = time.NewTicker(fallbackPoll)
			tick = poll.C
		}
		select {
		case _, ok := <-wake:
			if !ok {
				wake, streaming = nil, false
			}
		case <-tick:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// instanceEvents follows the event stream of instance id until ctx ends: wake receives a value after
// each event, and is closed when the stream ends. streaming is false when it could not be opened.
func (g *globals) instanceEvents(ctx context.Context, id string) (wake <-chan struct{}, streaming bool) {
	st, err := g.client().Events(ctx, url.Values{"resource": {id}}, "")
	if err != nil {
		return nil, false
	}
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		defer st.Close()
		for {
			if _, err := st.Next(); err != nil {
				return
			}
			select {
			case ch <- struct{}{}:
			default: // a wake-up is pending already
			}
		}
	}()
	return ch, true
}

func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(200 * time.Millisecond):
		return nil
	}
}
