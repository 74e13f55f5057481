package compute

import (
	"context"
	"errors"
	"slices"
)

// Where a guest's readiness came from (Instance.ReadyVia): the first of them in a boot wins.
const (
	ReadyViaPhoneHome = "phone-home" // a POST to the metadata service's /cloudlet/ready
	ReadyViaConsole   = "console"    // the GuestReadyMarker on the serial console
	ReadyViaAgent     = "agent"      // the QEMU guest agent's first answer
)

// EventGuestReady is the event a guest's readiness writes (data: {"via": …}), in the transaction that
// records it: event-stream readers (the CLI's --wait ready) need no polling.
const EventGuestReady = "instance.guest_ready"

// errNotNow ends an update that has nothing to write.
var errNotNow = errors.New("not now")

// MarkGuestReady records guest_ready on the instance's boot timeline, with ready_at and ready_via,
// the first time in a boot that any source says so; later calls, and calls for an instance that is
// not running a boot (stopped, still starting), change nothing and are no error. The caller vouches
// that via speaks for this instance: the metadata service calls it for the instance at the source
// address of the phone-home, never for one the guest names.
func (s *Service) MarkGuestReady(_ context.Context, instanceID, via string) error {
	now := s.now()
	_, err := s.write(instanceID, false, func(i *Instance) error {
		if !readyPending(i) {
			return errNotNow
		}
		i.Timeline = append(i.Timeline, Stage{StageGuestReady, now})
		i.ReadyAt, i.ReadyVia = &now, via
		return nil
	}, &eventNote{EventGuestReady, map[string]string{"via": via}})
	if errors.Is(err, errNotNow) {
		return nil
	}
	return err
}

// readyPending reports whether i runs a boot (its timeline reached cont) that has not been ready yet.
func readyPending(i *Instance) bool {
	has := func(name string) bool {
		return slices.ContainsFunc(i.Timeline, func(st Stage) bool { return st.Name == name })
	}
	return i.VMState == VMActive && has(StageCont) && !has(StageGuestReady)
}
