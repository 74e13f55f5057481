package compute

import (
	"context"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"cloudlet/appliance/qemu/qga"
)

// How a graceful stop or soft reboot was asked of the guest (the instance.shutdown_requested event).
const (
	ShutdownViaAgent = "guest-agent" // guest-shutdown through the QEMU guest agent
	ShutdownViaACPI  = "acpi"        // the ACPI power button (system_powerdown)
)

// guestAgent is an instance's one way to its QEMU guest agent. QEMU's chardev socket takes one client
// at a time, so every user — the poller, stop and reboot, a snapshot's freeze — holds sem while it
// talks; the poller's last good answer is kept here, in memory only.
type guestAgent struct {
	path    string
	timeout time.Duration
	sem     chan struct{} // one connection at a time

	mu       sync.Mutex // guards the fields below
	info     *GuestInfo // the last good answer of this boot
	answered bool       // the agent answered guest-sync in this boot
	settled  bool       // the agent's word on readiness is settled in this boot (agentready.go)
	lastErr  string     // the last failure logged, so a guest failing alike every poll logs once
	readyErr string     // the same for the readiness question (agentready.go)
}

func newGuestAgent(path string, timeout time.Duration) *guestAgent {
	return &guestAgent{path: path, timeout: timeout, sem: make(chan struct{}, 1)}
}

// open waits for the agent's connection to be free, then connects and synchronises; release must be
// called. Every exchange of the client is bounded by the agent timeout.
func (a *guestAgent) open(ctx context.Context) (*qga.Client, func(), error) {
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	c, err := qga.Dial(ctx, a.path, a.timeout)
	if err != nil {
		<-a.sem
		return nil, nil, err
	}
	return c, func() { c.Close(); <-a.sem }, nil
}

// known reports whether the agent answered in this boot.
func (a *guestAgent) known() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.answered
}

// forget drops what the agent said: the boot it spoke for is over.
func (a *guestAgent) forget() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.info, a.answered, a.settled, a.lastErr, a.readyErr = nil, false, false, "", ""
}

// newReadyErr records err as the readiness question's last failure; it reports whether it differs
// from the one before.
func (a *guestAgent) newReadyErr(err error) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err.Error() == a.readyErr {
		return false
	}
	a.readyErr = err.Error()
	return true
}

// settle records that the agent need not be asked about readiness again in this boot.
func (a *guestAgent) settle() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.settled = true
}

// busy reports whether the poller still has something to learn soon: the agent has not answered
// in this boot, or has not settled whether the guest is up.
func (a *guestAgent) busy() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.answered || !a.settled
}

// noAgent reports whether err is only the absence of an agent (nothing listens, nothing answers):
// that is every guest without one, not worth a warning.
func noAgent(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.Canceled) ||
		errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)
}

// requestPowerOff asks the guest to power off: through its agent when the agent answered in this
// boot and answers now, else with the ACPI power button. How is recorded on the instance's events.
func (sv *supervisor) requestPowerOff(ctx context.Context) {
	via := ShutdownViaAgent
	if sv.agentShutdown(ctx, "powerdown") != nil {
		via = ShutdownViaACPI
		sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.SystemPowerdown(c) })
	}
	sv.recordShutdownRequest(via, "powerdown")
}

// recordShutdownRequest puts instance.shutdown_requested {via, mode} on the instance's events.
func (sv *supervisor) recordShutdownRequest(via, mode string) {
	sv.s.recordEvent(sv.id, "instance.shutdown_requested", map[string]string{"via": via, "mode": mode})
}

// agentShutdown sends guest-shutdown; an error means the agent was not asked or refused.
func (sv *supervisor) agentShutdown(ctx context.Context, mode string) error {
	if !sv.agent.known() {
		return errors.New("no guest agent answered in this boot")
	}
	c, release, err := sv.agent.open(ctx)
	if err == nil {
		defer release()
		err = c.Shutdown(mode)
	}
	if err != nil {
		sv.s.log.Warn("guest agent: shutdown not asked, the ACPI button instead", "instance", sv.id, "mode", mode, "err", err)
	}
	return err
}

// freezeGuest asks the guest agent, when the guest has one, to freeze its filesystems so a live
// snapshot is consistent. The returned thaw must be called; without an agent it does nothing and the
// snapshot is crash-consistent, as with a power cut. The agent's connection is held until the thaw.
func (sv *supervisor) freezeGuest() (thaw func(), frozen bool) {
	c, release, err := sv.agent.open(context.Background())
	if err != nil {
		return func() {}, false
	}
	if err := c.Execute("guest-fsfreeze-freeze", nil, nil); err != nil {
		sv.s.log.Warn("guest agent: freeze", "instance", sv.id, "err", err)
		release()
		return func() {}, false
	}
	return func() {
		if err := c.Execute("guest-fsfreeze-thaw", nil, nil); err != nil {
			sv.s.log.Warn("guest agent: thaw", "instance", sv.id, "err", err)
		}
		release()
	}, true
}
