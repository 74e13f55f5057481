package compute

import (
	"bytes"
	"context"
	"io"
	"os"
	"time"
)

// GuestReadyMarker is the line a cloudlet-aware guest prints on its serial console once it is up.
const GuestReadyMarker = "CLOUDLET-GUEST-READY"

// consoleWatch follows the console log of one boot to time the first byte and the ready marker.
type consoleWatch struct {
	stop chan struct{}
	done chan struct{}
}

const (
	consolePoll     = 20 * time.Millisecond
	consoleWatchFor = 10 * time.Minute
)

// startConsoleWatch watches path from offset for this boot.
func (sv *supervisor) startConsoleWatch(path string, offset int64) {
	sv.stopConsoleWatch()
	w := &consoleWatch{stop: make(chan struct{}), done: make(chan struct{})}
	sv.console = w
	cur := &logCursor{offset: offset, cut: sv.s.serials.rotation(sv.id).cut} // now: startSerial may rotate next
	sv.s.goBackground(func() {
		defer close(w.done)
		sv.s.watchConsole(sv.id, path, cur, w.stop)
	})
}

func (sv *supervisor) stopConsoleWatch() {
	if sv.console != nil {
		close(sv.console.stop)
		<-sv.console.done
		sv.console = nil
	}
}

// watchConsole records first_console_byte and guest_ready on the instance's timeline.
func (s *Service) watchConsole(id, path string, cur *logCursor, stop <-chan struct{}) {
	tick := time.NewTicker(consolePoll)
	defer tick.Stop()
	deadline := time.After(consoleWatchFor)
	var seen bool
	var tail []byte
	for {
		select {
		case <-stop:
			return
		case <-s.ctx.Done():
			return
		case <-deadline:
			return
		case <-tick.C:
		}
		chunk := s.next(id, path, cur, 1<<20)
		if len(chunk) == 0 {
			continue
		}
		if !seen {
			seen = true
			s.addStage(id, StageFirstByte)
		}
		tail = append(tail, chunk...)
		if bytes.Contains(tail, []byte(GuestReadyMarker)) {
			if err := s.MarkGuestReady(s.ctx, id, ReadyViaConsole); err != nil {
				s.log.Warn("record the guest ready", "instance", id, "err", err)
			}
			return
		}
		if len(tail) > len(GuestReadyMarker) {
			tail = tail[len(tail)-len(GuestReadyMarker):]
		}
	}
}

// readFrom returns what path holds after offset (at most limit bytes) and the new offset.
func readFrom(path string, offset, limit int64) ([]byte, int64) {
	f, err := os.Open(path)
	if err != nil {
		return nil, offset
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(io.NewSectionReader(f, offset, 1<<62), limit))
	if err != nil {
		return nil, offset
	}
	return buf, offset + int64(len(buf))
}

// addStage appends a timeline stage.
func (s *Service) addStage(id, name string) {
	now := s.now()
	_, err := s.update(id, func(i *Instance) error {
		i.Timeline = append(i.Timeline, Stage{name, now})
		return nil
	})
	if err != nil {
		s.log.Warn("record boot stage", "instance", id, "stage", name, "err", err)
	}
}

// ConsoleLog returns the last maxBytes of an instance's console log, across its rotation (consolelog.go).
func (s *Service) ConsoleLog(ctx context.Context, projectID, idOrName string, maxBytes int64) ([]byte, error) {
	inst, err := s.Get(ctx, projectID, idOrName)
	if err != nil {
		return nil, err
	}
	if maxBytes <= 0 || maxBytes > 16<<20 {
		maxBytes = 16 << 20
	}
	data := s.readConsoleLog(s.paths(inst.ID).ConsoleLog, maxBytes)
	if data == nil {
		data = []byte{}
	}
	return data, nil
}
