package compute

import (
	"context"
	"slices"
	"time"

	"cloudlet/store"
)

// reconcileLoop periodically reaps QEMU processes that belong to no instance. Supervisors keep their own
// instances in step with QEMU (events, exit, health checks); this catches what no supervisor owns.
func (s *Service) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(s.o.ReconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.reapOrphans()
		}
	}
}

// reapOrphans kills QEMUs running from cloudlet's run dir whose instance is not in the catalog
// (deleted while the daemon was down, or a crash between kill and record removal).
func (s *Service) reapOrphans() {
	found, err := s.hv.scan(s.o.RunDir)
	if err != nil {
		s.log.Warn("scan for orphan QEMU processes", "err", err)
		return
	}
	for _, f := range found {
		if s.known(f.UUID) {
			continue
		}
		s.log.Warn("killing orphan QEMU", "uuid", f.UUID, "pid", f.PID)
		if err := s.hv.killFound(f); err != nil {
			s.log.Warn("kill orphan QEMU", "uuid", f.UUID, "pid", f.PID, "err", err)
		}
		if err := s.hv.cleanup(s.paths(f.UUID)); err != nil {
			s.log.Warn("remove orphan runtime files", "uuid", f.UUID, "err", err)
		}
	}
}

func (s *Service) known(id string) bool {
	err := s.db.View(func(tx *store.Tx) error { _, err := instances.Get(tx, id); return err })
	return err == nil
}

// autostart starts, in autostart_order, every autostart instance that is not running, waiting for each
// to run before the next and retrying failures with a growing pause.
func (s *Service) autostart(ctx context.Context) {
	all, err := s.List(ctx, "")
	if err != nil {
		s.log.Error("autostart: list instances", "err", err)
		return
	}
	all = slices.DeleteFunc(all, func(i *Instance) bool { return !i.Autostart })
	slices.SortStableFunc(all, func(a, b *Instance) int { return a.AutostartOrder - b.AutostartOrder })
	for _, inst := range all {
		s.autostartOne(ctx, inst.ID)
	}
}

func (s *Service) autostartOne(ctx context.Context, id string) {
	for attempt := 1; attempt <= s.o.AutostartRetries; attempt++ {
		inst, err := s.Get(ctx, "", id)
		if err != nil || inst.VMState == VMActive || inst.VMState == VMPaused {
			return
		}
		act := ActStart
		if inst.VMState == VMSuspended {
			act = ActResume
		}
		if _, err := s.Act(ctx, "", id, act, ActionArgs{}); err != nil {
			s.log.Warn("autostart", "instance", id, "attempt", attempt, "err", err)
		} else if s.waitSettled(ctx, id, 5*time.Minute) == VMActive {
			s.log.Info("autostarted instance", "instance", id, "attempt", attempt)
			return
		}
		if sleepCtx(ctx, time.Duration(attempt)*2*time.Second) != nil {
			return
		}
	}
}

// waitSettled polls the catalog until the instance has no task, returning its vm_state.
func (s *Service) waitSettled(ctx context.Context, id string, limit time.Duration) VMState {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		inst, err := s.Get(ctx, "", id)
		if err != nil {
			return ""
		}
		if inst.TaskState == TaskNone {
			return inst.VMState
		}
		if sleepCtx(ctx, 100*time.Millisecond) != nil {
			return ""
		}
	}
	return ""
}
