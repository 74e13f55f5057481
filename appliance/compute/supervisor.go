package compute

import (
	"context"
	"sync"
	"time"

	"cloudlet/appliance/qemu/qmp"
)

// actSpawn is the internal first boot after create.
const actSpawn Action = "spawn"

// command is one queued operation for a supervisor.
type command struct {
	action   Action
	accepted time.Time                                // when the API took the request, for the boot timeline
	flavor   *Flavor                                  // resize
	image    *BootImage                               // rebuild onto another image
	call     func(context.Context, *supervisor) error // actCall
	reply    chan error                               // actCall's result
}

// supervisor owns one instance's QEMU process and QMP connection. Only its goroutine touches proc, mon
// and the fields below them; handlers talk to it through cmds.
type supervisor struct {
	s    *Service
	id   string
	cmds chan command
	done chan struct{}

	mu          sync.Mutex         // guards cancel and interrupted
	cancel      context.CancelFunc // of the command running now, for pre-emption by hard-stop and delete
	interrupted bool               // the command running now was pre-empted by a hard-stop or delete

	proc        process
	mon         *qmp.Monitor
	shutdown    *qmp.ShutdownData // the last SHUTDOWN event of this QEMU
	panicked    bool
	lastDeleted string         // device id of the last DEVICE_DELETED event
	expectExit  bool           // an action asked QEMU to exit; its exit is not a crash
	console     *consoleWatch  // boot timeline watcher of the current boot
	ready       *readyPort     // reader of the running QEMU's org.cloudlet.ready channel (readyport.go)
	deleting    bool           // the delete runs: its failure may end task deleting
	pending     []pendingWrite // changes the catalog refused, written again before the next (persist.go)
	deleted     bool
	agent       *guestAgent // the QEMU guest agent's one connection and what it last said (agent.go)
	agentPoll   *agentPoll  // the poller of the running boot, or nil
	restoring   time.Time   // an interrupted resume's QEMU did not answer at reattach: retried until then (resumerecover.go)
	running     TaskState   // the task of the command running now; "" between commands (see overtaken)
}

const queueDepth = 8

// supervise starts the supervisor of instance id. A supervisor made at service start first reattaches to
// the instance's QEMU (attached is marked done after that); one made for a new instance (fresh) does not.
func (s *Service) supervise(id string, fresh bool, attached *sync.WaitGroup) *supervisor {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sv := s.sups[id]; sv != nil {
		return sv
	}
	sv := &supervisor{s: s, id: id, cmds: make(chan command, queueDepth), done: make(chan struct{}),
		agent: newGuestAgent(s.paths(id).Agent, s.o.AgentTimeout)}
	s.sups[id] = sv
	s.goBackground(func() { sv.run(s.ctx, fresh, attached) })
	return sv
}

// submit queues cmd for the instance's supervisor, starting one if the instance is new.
func (s *Service) submit(id string, cmd command) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	sv := s.supervise(id, true, nil)
	select {
	case sv.cmds <- cmd:
		return nil
	default:
		return errConflict("instance %s: %v", id, ErrBusy)
	}
}

// interrupt cancels the command the supervisor is running, if any.
func (s *Service) interrupt(id string) {
	s.mu.Lock()
	sv := s.sups[id]
	s.mu.Unlock()
	if sv == nil {
		return
	}
	sv.mu.Lock()
	if sv.cancel != nil {
		sv.interrupted = true
		sv.cancel()
	}
	sv.mu.Unlock()
}

// preempted reports whether the command running now was pre-empted by a hard-stop or delete: the
// record already holds that command's task, and it (queued next) owns the instance's states, so the
// pre-empted command writes none — writing, say, active after a pause whose stop QEMU had done would
// drop the hard-stop's task, and a daemon killed before the hard-stop ran would forget it.
func (sv *supervisor) preempted() bool {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return sv.interrupted
}

// stale reports whether cmd, queued before a hard-stop or delete was accepted, has been overtaken by
// it: the record holds the pre-empting task, not cmd's. Such a command is dropped.
func (sv *supervisor) stale(cmd command) bool {
	r := rules[cmd.action]
	if r.anyTask || r.task == "" {
		return false
	}
	inst, ok := sv.current()
	return ok && inst.TaskState != r.task && (inst.TaskState == TaskPoweringOff || inst.TaskState == TaskDeleting)
}

// run is the supervisor's loop: commands, QEMU events, process exit and health checks, one at a time.
func (sv *supervisor) run(ctx context.Context, fresh bool, attached *sync.WaitGroup) {
	defer close(sv.done)
	defer sv.release()
	if !fresh {
		sv.reattach(ctx)
	}
	if attached != nil {
		attached.Done()
	}
	health := time.NewTicker(sv.s.o.HealthInterval)
	defer health.Stop()
	for !sv.deleted {
		select {
		case <-ctx.Done():
			return
		case cmd := <-sv.cmds:
			sv.do(ctx, cmd)
		case ev, ok := <-sv.events():
			sv.onEvent(ctx, ev, ok)
		case <-sv.exited():
			sv.drainEvents()
			sv.onExit()
		case <-health.C:
			sv.flushPending()
			sv.checkHealth(ctx)
		}
	}
}

// do runs one command under a context that hard-stop and delete can cancel.
func (sv *supervisor) do(ctx context.Context, cmd command) {
	if sv.stale(cmd) {
		sv.s.log.Info("instance command dropped: a hard-stop or delete overtook it", "instance", sv.id, "action", cmd.action)
		return
	}
	cctx, cancel := context.WithCancel(ctx)
	sv.mu.Lock()
	sv.cancel, sv.interrupted = cancel, false
	sv.mu.Unlock()
	defer func() {
		sv.mu.Lock()
		sv.cancel, sv.interrupted = nil, false
		sv.mu.Unlock()
		cancel()
	}()
	sv.running = rules[cmd.action].task
	defer func() { sv.running = "" }()
	if pre := rules[cmd.action]; pre.anyTask {
		cctx = ctx // pre-empting commands must not be cancelled by the next one
	}
	cctx = context.WithValue(cctx, supervisorKey{}, sv)
	sv.dispatch(cctx, cmd)
}

func (sv *supervisor) dispatch(ctx context.Context, cmd command) {
	switch cmd.action {
	case actSpawn:
		sv.spawn(ctx, cmd.accepted)
	case ActStart:
		sv.start(ctx, cmd.accepted)
	case ActStop:
		sv.stop(ctx, false)
	case ActHardStop:
		sv.stop(ctx, true)
	case ActReboot:
		sv.reboot(ctx, false)
	case ActHardReset:
		sv.reboot(ctx, true)
	case ActPause:
		sv.pause(ctx)
	case ActUnpause:
		sv.unpause(ctx)
	case ActSuspend:
		sv.suspend(ctx)
	case ActResume:
		sv.resume(ctx, cmd.accepted)
	case ActRebuild:
		sv.rebuild(ctx, cmd.image)
	case ActResize:
		sv.resize(ctx, cmd.flavor)
	case ActDelete:
		sv.delete(ctx)
	case actCall:
		cmd.reply <- cmd.call(ctx, sv)
	}
}

// events is the QMP event channel, or nil (blocks forever in select) without a monitor.
func (sv *supervisor) events() <-chan qmp.Event {
	if sv.mon == nil {
		return nil
	}
	return sv.mon.Events()
}

// exitDrainTimeout bounds how long an exit waits for the events QEMU sent before it: its monitor
// ends with EventDisconnected as soon as the socket closes, which a real exit does at once.
const exitDrainTimeout = 2 * time.Second

// drainEvents notes every event QEMU sent before it exited, up to the monitor's end. select picks
// among ready channels at random, so without it a GUEST_PANICKED queued before the exit could be
// read after it, and a panic would be recorded as an unexplained crash.
func (sv *supervisor) drainEvents() {
	events := sv.events()
	if events == nil {
		return
	}
	deadline := time.NewTimer(exitDrainTimeout)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok || ev.Name == qmp.EventDisconnected {
				return
			}
			sv.note(ev)
			sv.record(ev)
		case <-deadline.C:
			return
		}
	}
}

// exited is the process's exit channel, or nil without a process.
func (sv *supervisor) exited() <-chan struct{} {
	if sv.proc == nil {
		return nil
	}
	return sv.proc.Exited()
}

// release closes what the supervisor holds when it stops; QEMU itself keeps running.
func (sv *supervisor) release() {
	sv.closeMonitor()
	sv.stopConsoleWatch()
	sv.stopAgentPoll()
	sv.releaseSerial()
	sv.stopReadyPort()
	sv.s.mu.Lock()
	if sv.s.sups[sv.id] == sv {
		delete(sv.s.sups, sv.id)
	}
	sv.s.mu.Unlock()
}

func (sv *supervisor) closeMonitor() {
	if sv.mon != nil {
		sv.mon.Close()
		sv.mon = nil
	}
}
