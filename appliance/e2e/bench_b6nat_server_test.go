package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// The outside end of B6's transfers: two TCP ports on outerIP in the outer namespace, one serving a
// download over HTTP/1.0, one taking an upload. Each transfer is timed here, not in the guest, so the
// guest's clock under TCG plays no part.

// b6ConnLimit bounds one transfer's connection; the guest's command channel gives up after 60 s anyway.
const b6ConnLimit = 90 * time.Second

// b6Transfer is one timed transfer as the server saw it, and the host CPU time it cost (b6Run).
type b6Transfer struct {
	Bytes   int64
	Elapsed time.Duration
	Err     error

	QEMUCPU, VCPU, SelfCPU, DaemonCPU time.Duration // VCPU: QEMU's busiest thread, the vCPU
}

// MBps is the transfer's throughput in megabytes (10^6 bytes) per second.
func (t b6Transfer) MBps() float64 { return float64(t.Bytes) / 1e6 / t.Elapsed.Seconds() }

// b6Server serves one connection at a time on each port and sends every transfer to done.
type b6Server struct {
	downAddr, upAddr string
	downBytes        int64 // the size of every download
	done             chan b6Transfer
}

// newB6Server listens in the outer namespace and serves until the benchmark ends.
func newB6Server(b *testing.B, o *outer, downBytes int64) *b6Server {
	b.Helper()
	s := &b6Server{downBytes: downBytes, done: make(chan b6Transfer, 4)}
	var wg sync.WaitGroup
	b.Cleanup(wg.Wait) // cleanups run last first: this one after the listeners are closed
	for _, port := range []struct {
		addr  *string
		serve func(net.Conn) b6Transfer
	}{{&s.downAddr, s.download}, {&s.upAddr, s.upload}} {
		var l net.Listener
		if err := o.run(func() (err error) { l, err = net.Listen("tcp4", outerIP+":0"); return err }); err != nil {
			b.Fatalf("listen on %s in the outer namespace: %v", outerIP, err)
		}
		*port.addr = l.Addr().String()
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.accept(l, port.serve)
		}()
		b.Cleanup(func() { l.Close() })
	}
	return s
}

func (s *b6Server) accept(l net.Listener, serve func(net.Conn) b6Transfer) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		conn.SetDeadline(time.Now().Add(b6ConnLimit))
		t := serve(conn)
		conn.Close()
		select {
		case s.done <- t:
		default: // nobody waits for it: a transfer the benchmark gave up on
		}
	}
}

// download reads an HTTP request and answers with s.downBytes of zeros. The time runs from the
// request's end to the client's close: busybox wget closes once it has the whole body, so the
// server's send buffer does not end the clock early.
func (s *b6Server) download(conn net.Conn) b6Transfer {
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return b6Transfer{Err: fmt.Errorf("read request: %w", err)}
		}
		if line == "\r\n" || line == "\n" {
			break
		}
	}
	start := time.Now()
	header := fmt.Sprintf("HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", s.downBytes)
	if _, err := io.WriteString(conn, header); err != nil {
		return b6Transfer{Err: fmt.Errorf("write response header: %w", err)}
	}
	n, err := io.CopyN(conn, zeros{}, s.downBytes)
	if err != nil {
		return b6Transfer{Bytes: n, Err: fmt.Errorf("write body: %w", err)}
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return b6Transfer{Bytes: n, Err: fmt.Errorf("wait for the client to close: %w", err)}
	}
	return b6Transfer{Bytes: n, Elapsed: time.Since(start)}
}

// upload counts what the client sends until it shuts its side down (busybox nc does at the end of
// its input); the time runs from the first byte to the last.
func (s *b6Server) upload(conn net.Conn) b6Transfer {
	buf := make([]byte, 256<<10)
	var t b6Transfer
	var first, last time.Time
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			last = time.Now()
			if t.Bytes == 0 {
				first = last
			}
			t.Bytes += int64(n)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Err = fmt.Errorf("read upload: %w", err)
			return t
		}
	}
	t.Elapsed = last.Sub(first)
	return t
}

// wait returns the next transfer the server finished, or an error after limit.
func (s *b6Server) wait(limit time.Duration) (b6Transfer, error) {
	select {
	case t := <-s.done:
		return t, t.Err
	case <-time.After(limit):
		return b6Transfer{}, fmt.Errorf("no transfer finished on the server within %v", limit)
	}
}

// drain drops transfers nobody collected (from a failed command).
func (s *b6Server) drain() {
	for {
		select {
		case <-s.done:
		default:
			return
		}
	}
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
