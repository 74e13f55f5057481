package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"cloudlet/appliance/qemu/qga"
	"cloudlet/store"
)

// Files of cloud-init in the guest, read through its agent. cloud-init's systemd generator creates
// enabled when it enables cloud-init for this boot; modules-final writes result.json at its end.
const (
	cloudInitEnabled = "/run/cloud-init/enabled"
	cloudInitResult  = "/run/cloud-init/result.json"
	// maxCloudInitResult caps result.json: {"v1": {"datasource": …, "errors": […]}}.
	maxCloudInitResult = 64 << 10
	// maxResultErrors and maxResultError cap what is logged of result.json's errors.
	maxResultErrors, maxResultError = 3, 200
)

// errNotCloudInitResult is a result.json that is not cloud-init's.
var errNotCloudInitResult = errors.New("not cloud-init's result (JSON with a v1 object)")

// agentReadiness is what the agent tells of the guest's readiness in this boot.
type agentReadiness int

const (
	guestNotReady   agentReadiness = iota // cloud-init runs, or the agent cannot tell: ask again
	guestReady                            // no cloud-init, or cloud-init has finished
	readyUnknowable                       // the agent refuses to read files: it never can tell
)

// guestUp tells, through the agent, whether the guest is really up: a guest without cloud-init is
// up when its agent answers; one with cloud-init only once cloud-init has finished (result.json).
// A guest whose agent refuses to read files is never up by the agent: cloud-init may be running. The
// errors result.json lists are logged, capped.
func (s *Service) guestUp(c *qga.Client, id string) (agentReadiness, error) {
	if _, err := c.ReadFile(cloudInitEnabled, 0); qga.NoSuchFile(err) {
		return guestReady, nil
	} else if err != nil && !errors.Is(err, qga.ErrFileTooLarge) {
		return refusedOrNot(err)
	}
	data, err := c.ReadFile(cloudInitResult, maxCloudInitResult)
	switch {
	case qga.NoSuchFile(err):
		return guestNotReady, nil // cloud-init has not finished
	case err != nil:
		return refusedOrNot(err)
	}
	var r struct {
		V1 *struct {
			Errors []string `json:"errors"`
		} `json:"v1"`
	}
	if err := json.Unmarshal(data, &r); err != nil || r.V1 == nil {
		return guestNotReady, fmt.Errorf("%s: %w", cloudInitResult, errNotCloudInitResult)
	}
	if len(r.V1.Errors) > 0 {
		s.log.Warn("guest agent: cloud-init finished with errors", "instance", id,
			"count", len(r.V1.Errors), "errors", resultErrors(r.V1.Errors))
	}
	return guestReady, nil
}

// refusedOrNot classes a failure to read a file: a command the agent refuses (blocked or unknown)
// means it can never tell; anything else may pass.
func refusedOrNot(err error) (agentReadiness, error) {
	var e *qga.Error
	if errors.As(err, &e) && e.Class == "CommandNotFound" {
		return readyUnknowable, err
	}
	return guestNotReady, err
}

// resultErrors is the first few of result.json's errors, each cut and cleaned: guest text for a log.
func resultErrors(errs []string) []string {
	var out []string
	for _, e := range errs[:min(len(errs), maxResultErrors)] {
		out = append(out, strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f {
				return -1
			}
			return r
		}, e[:min(len(e), maxResultError)]))
	}
	return out
}

// settleReadiness asks the agent, until its answer is settled in this boot, whether the guest is up,
// and marks it ready when it is. It is settled once marked, when the agent is no readiness source,
// when another source was first, or when the agent refuses to read files. A failure is logged once
// until it changes; after one that left the connection out of step (a hang, a flood, garbage) it is
// synchronised again, and the error returned means it could not be: this poll ends.
func (s *Service) settleReadiness(ctx context.Context, c *qga.Client, id string, a *guestAgent) error {
	if s.o.IgnoreAgentReady || s.guestReadyRecorded(id) {
		a.settle()
		return nil
	}
	up, err := s.guestUp(c, id)
	switch {
	case up == guestReady:
		if err := s.MarkGuestReady(ctx, id, ReadyViaAgent); err != nil {
			s.log.Warn("record the guest ready", "instance", id, "err", err)
			return nil
		}
		if s.guestReadyRecorded(id) { // not before the boot's cont is recorded: ask again then
			a.settle()
		}
	case up == readyUnknowable:
		s.log.Info("guest agent: it cannot read cloud-init's state; the guest's readiness comes from elsewhere", "instance", id, "err", err)
		a.settle()
	case err != nil && a.newReadyErr(err):
		s.log.Warn("guest agent: cannot tell whether cloud-init has finished; the guest is not marked ready", "instance", id, "err", err)
	}
	if err != nil && !inStep(err) {
		return c.Sync()
	}
	return nil
}

// inStep reports whether the connection is still in step after err: an error reply of the agent, a
// file over its cap, or a file that is not what it should be.
func inStep(err error) bool {
	var e *qga.Error
	return errors.As(err, &e) || errors.Is(err, qga.ErrFileTooLarge) || errors.Is(err, errNotCloudInitResult)
}

// guestReadyRecorded reports whether the instance's boot is already ready (another source was
// first), as the catalog says.
func (s *Service) guestReadyRecorded(id string) bool {
	var ready bool
	_ = s.db.View(func(tx *store.Tx) error {
		inst, err := instances.Get(tx, id)
		ready = err == nil && inst.ReadyAt != nil
		return nil
	})
	return ready
}
