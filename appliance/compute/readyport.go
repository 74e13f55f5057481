package compute

import (
	"bytes"
	"context"
	"net"
	"time"
)

// The ready port is a virtio-serial port named org.cloudlet.ready on every instance (qemu.ReadyPortName,
// the chardev socket qemu.Paths.Ready). Protocol: the guest writes a line READY (a trailing CR and blanks
// are ignored); the daemon records guest_ready via virtio-serial for the boot running now and answers OK
// on the same port, so a guest can wait for it, e.g.
//
//	exec 3<>/dev/virtio-ports/org.cloudlet.ready; echo READY >&3; read -t 10 reply <&3
//
// Every other line is ignored. The port is the instance's own: a guest can only mark itself. What the
// guest writes is untrusted: lines over readyLineMax bytes are dropped, and the daemon reads at most
// readyBytesPerSecond, so a guest that floods only blocks its own writes. One goroutine per running QEMU
// reads the port; it ends when QEMU closes the socket or the supervisor lets go (stopReadyPort).

// ReadyViaSerial: a line READY on the instance's org.cloudlet.ready virtio-serial port.
const ReadyViaSerial = "virtio-serial"

const (
	readyLine           = "READY"
	readyReply          = "OK\n"
	readyLineMax        = 64
	readyBytesPerSecond = 4096
	readyDialTimeout    = time.Second
	readyReplyTimeout   = time.Second
)

// readyPort is the daemon's connection to one QEMU's ready channel and the goroutine reading it.
type readyPort struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startReadyPort connects to the ready channel of the QEMU running now (after a launch, or a reattach)
// and reads it in the background. A QEMU without the channel (started by an older daemon) costs one
// failed dial: readiness then comes from the other sources.
func (sv *supervisor) startReadyPort() {
	sv.stopReadyPort()
	conn, err := net.DialTimeout("unix", sv.paths().Ready, readyDialTimeout)
	if err != nil {
		sv.s.log.Info("no ready port", "instance", sv.id, "err", err)
		return
	}
	ctx, cancel := context.WithCancel(sv.s.ctx)
	p := &readyPort{cancel: cancel, done: make(chan struct{})}
	sv.ready = p
	id := sv.id
	sv.s.goBackground(func() {
		defer close(p.done)
		defer conn.Close()
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		defer stop()
		readReadyLines(ctx, conn, readyBytesPerSecond, func(line []byte) {
			if string(line) != readyLine {
				return
			}
			if err := sv.s.MarkGuestReady(ctx, id, ReadyViaSerial); err != nil {
				sv.s.log.Warn("record the guest ready", "instance", id, "err", err)
				return
			}
			conn.SetWriteDeadline(time.Now().Add(readyReplyTimeout))
			conn.Write([]byte(readyReply)) // a guest that does not read its answer loses it
		})
	})
}

// stopReadyPort closes the ready channel and waits for its reader.
func (sv *supervisor) stopReadyPort() {
	if sv.ready != nil {
		sv.ready.cancel()
		<-sv.ready.done
		sv.ready = nil
	}
}

// readReadyLines calls onLine with each line conn sends (without its CR, LF and surrounding blanks) until
// conn ends or ctx is done. A line longer than readyLineMax is dropped whole; at most rate bytes are read
// per second, so a flood waits in the guest.
func readReadyLines(ctx context.Context, conn net.Conn, rate int, onLine func([]byte)) {
	buf := make([]byte, min(rate, 512))
	var line []byte
	overlong := false
	window, spent := time.Now(), 0
	for {
		if spent >= rate {
			if !sleepCtxUntil(ctx, window.Add(time.Second)) {
				return
			}
			window, spent = time.Now(), 0
		}
		n, err := conn.Read(buf[:min(len(buf), rate-spent)])
		spent += n
		for _, b := range buf[:n] {
			switch {
			case b == '\n':
				if !overlong {
					onLine(bytes.TrimSpace(line))
				}
				line, overlong = line[:0], false
			case overlong:
			case len(line) >= readyLineMax:
				line, overlong = line[:0], true
			default:
				line = append(line, b)
			}
		}
		if err != nil {
			return
		}
	}
}

// sleepCtxUntil waits until t; false when ctx ends first.
func sleepCtxUntil(ctx context.Context, t time.Time) bool {
	return sleepCtx(ctx, time.Until(t)) == nil
}
