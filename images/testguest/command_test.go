package testguest_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"cloudlet/images/testguest"
)

func TestParseRan(t *testing.T) {
	tests := []struct {
		line    string
		wantID  string
		wantRC  int
		wantErr bool
	}{
		{line: "CLOUDLET-GUEST-RAN a rc=0", wantID: "a", wantRC: 0},
		{line: "CLOUDLET-GUEST-RAN x_Y-9 rc=137\r\n", wantID: "x_Y-9", wantRC: 137},
		{line: "CLOUDLET-GUEST-RAN " + strings.Repeat("i", 32) + " rc=3", wantID: strings.Repeat("i", 32), wantRC: 3},
		{line: "CLOUDLET-GUEST-RAN " + strings.Repeat("i", 33) + " rc=3", wantErr: true},
		{line: "CLOUDLET-GUEST-RAN bad! rc=0", wantErr: true},
		{line: "CLOUDLET-GUEST-RAN a rc=-1", wantErr: true},
		{line: "CLOUDLET-GUEST-RAN a rc=", wantErr: true},
		{line: "CLOUDLET-GUEST-RAN a rc=x", wantErr: true},
		{line: "CLOUDLET-GUEST-RAN a rc=0 extra", wantErr: true},
		{line: "CLOUDLET-GUEST-RAN a  rc=0", wantErr: true},
		{line: "CLOUDLET-GUEST-RAN a", wantErr: true},
		{line: "CLOUDLET-GUEST-RANX a rc=0", wantErr: true},
		{line: "noise CLOUDLET-GUEST-RAN a rc=0", wantErr: true},
		{line: "CLOUDLET-GUEST-OUT a rc=0", wantErr: true},
		{line: "", wantErr: true},
	}
	for _, tt := range tests {
		id, rc, err := testguest.ParseRan(tt.line)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseRan(%q) error = %v, want error %v", tt.line, err, tt.wantErr)
			continue
		}
		if id != tt.wantID || rc != tt.wantRC {
			t.Errorf("ParseRan(%q) = %q, %d, want %q, %d", tt.line, id, rc, tt.wantID, tt.wantRC)
		}
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		command string
		answer  []string // the guest's console lines after the command line
		want    testguest.Result
	}{
		{
			name: "one line of output", id: "a", command: "echo hello",
			answer: []string{"CLOUDLET-GUEST-OUT a hello", "CLOUDLET-GUEST-RAN a rc=0"},
			want:   testguest.Result{Output: []string{"hello"}},
		},
		{
			name: "non-zero exit code without output", id: "b", command: "exit 3",
			answer: []string{"CLOUDLET-GUEST-RAN b rc=3"},
			want:   testguest.Result{RC: 3},
		},
		{
			name: "lines in order, blanks and spaces kept", id: "multi-1", command: `printf ' x\n\ny \n'`,
			answer: []string{"CLOUDLET-GUEST-OUT multi-1  x", "CLOUDLET-GUEST-OUT multi-1 ", "CLOUDLET-GUEST-OUT multi-1 y ", "CLOUDLET-GUEST-RAN multi-1 rc=0"},
			want:   testguest.Result{Output: []string{" x", "", "y "}},
		},
		{
			name: "foreign lines skipped", id: "f", command: "echo CLOUDLET-GUEST-RAN f rc=9",
			answer: []string{
				"CLOUDLET-RUN f echo CLOUDLET-GUEST-RAN f rc=9", // an echo of the command line
				"[    3.2] virtio_net virtio0 eth0: link up",
				"CLOUDLET-GUEST-UPTIME 4.20",
				"CLOUDLET-GUEST-OUT old stale output",
				"CLOUDLET-GUEST-RAN old rc=1",
				"CLOUDLET-GUEST-OUT ff another id with the same start",
				"CLOUDLET-GUEST-DISK added dev=vdb size=67108864",
				"CLOUDLET-GUEST-OUT f CLOUDLET-GUEST-RAN f rc=9",
				"noise CLOUDLET-GUEST-RAN f rc=8",
				"CLOUDLET-GUEST-RAN f rc=0",
			},
			want: testguest.Result{Output: []string{"CLOUDLET-GUEST-RAN f rc=9"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			guest := startFakeGuest(t, func(string) string { return strings.Join(tt.answer, "\r\n") + "\r\n" })
			got, err := testguest.Run(context.Background(), guest.conn, tt.id, tt.command)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Run() mismatch (-want +got):\n%s", diff)
			}
			if want := []string{"CLOUDLET-RUN " + tt.id + " " + tt.command}; !cmp.Equal(want, guest.received()) {
				t.Errorf("guest received %q, want %q", guest.received(), want)
			}
		})
	}
}

func TestRunLeavesLaterOutputUnread(t *testing.T) {
	guest := startFakeGuest(t, func(string) string {
		return "CLOUDLET-GUEST-RAN a rc=0\nCLOUDLET-GUEST-UPTIME 7.00\n"
	})
	if _, err := testguest.Run(context.Background(), guest.conn, "a", "true"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(guest.conn).ReadString('\n')
	if err != nil || line != "CLOUDLET-GUEST-UPTIME 7.00\n" {
		t.Errorf("console after Run: %q, %v, want the heartbeat marker that followed the ran marker", line, err)
	}
}

func TestRunBufferedConsole(t *testing.T) {
	var written bytes.Buffer
	console := bufio.NewReadWriter(
		bufio.NewReader(strings.NewReader("CLOUDLET-GUEST-OUT a hi\r\nCLOUDLET-GUEST-RAN a rc=0\r\nCLOUDLET-GUEST-UPTIME 1\r\n")),
		bufio.NewWriter(&written))
	got, err := testguest.Run(context.Background(), console, "a", "echo hi")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(testguest.Result{Output: []string{"hi"}}, got); diff != "" {
		t.Errorf("Run() mismatch (-want +got):\n%s", diff)
	}
	if want := "CLOUDLET-RUN a echo hi\n"; written.String() != want {
		t.Errorf("written %q, want %q (flushed)", written.String(), want)
	}
	if rest, _ := console.ReadString('\n'); rest != "CLOUDLET-GUEST-UPTIME 1\r\n" {
		t.Errorf("buffered console after Run: %q, want the line after the ran marker", rest)
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	tests := []struct {
		name, id, command string
	}{
		{name: "empty id", id: "", command: "true"},
		{name: "id with a space", id: "a b", command: "true"},
		{name: "id with a newline", id: "a\n", command: "true"},
		{name: "id with a dot", id: "a.b", command: "true"},
		{name: "id longer than 32", id: strings.Repeat("i", 33), command: "true"},
		{name: "empty command", id: "a", command: ""},
		{name: "command with a newline", id: "a", command: "true\nreboot"},
		{name: "command with a carriage return", id: "a", command: "true\r"},
		{name: "command with ^C", id: "a", command: "sleep 1\x03"},
		{name: "command with DEL", id: "a", command: "ab\x7f"},
		{name: "command line too long", id: "a", command: "echo " + strings.Repeat("x", testguest.MaxCommandLine)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var written bytes.Buffer
			console := struct {
				io.Reader
				io.Writer
			}{strings.NewReader("CLOUDLET-GUEST-RAN a rc=0\n"), &written}
			if _, err := testguest.Run(context.Background(), console, tt.id, tt.command); err == nil {
				t.Errorf("Run(%q, %q) succeeded, want an error", tt.id, tt.command)
			}
			if written.Len() != 0 {
				t.Errorf("Run(%q, %q) wrote %q, want nothing written", tt.id, tt.command, written.String())
			}
		})
	}
}

func TestRunAcceptsLongestLine(t *testing.T) {
	command := "echo " + strings.Repeat("x", testguest.MaxCommandLine-len("CLOUDLET-RUN a echo \n"))
	guest := startFakeGuest(t, func(string) string { return "CLOUDLET-GUEST-RAN a rc=0\n" })
	if _, err := testguest.Run(context.Background(), guest.conn, "a", command); err != nil {
		t.Fatalf("Run with a %d-byte line: %v", testguest.MaxCommandLine, err)
	}
}

func TestRunGuestGoneMidCommand(t *testing.T) {
	console := struct {
		io.Reader
		io.Writer
	}{strings.NewReader("CLOUDLET-GUEST-OUT a partial\r\n"), io.Discard}
	_, err := testguest.Run(context.Background(), console, "a", "echo partial; sleep 10")
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Run on a console that ends before the ran marker: error = %v, want %v", err, io.ErrUnexpectedEOF)
	}
}

// TestRunDeadline: a command that outlives ctx fails with ctx's error; the connection stays usable, and the
// late answer to it is skipped by the next Run.
func TestRunDeadline(t *testing.T) {
	guest := startFakeGuest(t, func(line string) string {
		if strings.HasPrefix(line, "CLOUDLET-RUN slow ") {
			return "CLOUDLET-GUEST-OUT slow started\r\n"
		}
		return "CLOUDLET-GUEST-OUT slow done\r\nCLOUDLET-GUEST-RAN slow rc=0\r\nCLOUDLET-GUEST-OUT next hi\r\nCLOUDLET-GUEST-RAN next rc=0\r\n"
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := testguest.Run(ctx, guest.conn, "slow", "echo started; sleep 30"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run past its deadline: error = %v, want %v", err, context.DeadlineExceeded)
	}
	got, err := testguest.Run(context.Background(), guest.conn, "next", "echo hi")
	if err != nil {
		t.Fatalf("Run after a timed-out Run: %v", err)
	}
	if diff := cmp.Diff(testguest.Result{Output: []string{"hi"}}, got); diff != "" {
		t.Errorf("Run() mismatch (-want +got):\n%s", diff)
	}
}

func TestRunContextAlreadyDone(t *testing.T) {
	var written bytes.Buffer
	console := struct {
		io.Reader
		io.Writer
	}{strings.NewReader("CLOUDLET-GUEST-RAN a rc=0\n"), &written}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := testguest.Run(ctx, console, "a", "true"); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled ctx: error = %v, want %v", err, context.Canceled)
	}
	if written.Len() != 0 {
		t.Errorf("Run with a cancelled ctx wrote %q, want nothing", written.String())
	}
}

// TestRunCancelLeavesNoGoroutine: on a net.Conn, a Run cancelled while it waits leaves no goroutine behind.
func TestRunCancelLeavesNoGoroutine(t *testing.T) {
	guest := startFakeGuest(t, func(string) string { return "" }) // never answers
	before := runtime.NumGoroutine()
	for range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		timer := time.AfterFunc(20*time.Millisecond, cancel)
		_, err := testguest.Run(ctx, guest.conn, "hang", "sleep 100")
		timer.Stop()
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Run: error = %v, want %v", err, context.Canceled)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the timers' and AfterFunc's goroutines are ending
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines after 5 cancelled Runs, %d before", after, before)
	}
}

// TestRunDeadlineWithoutSetDeadline: a console without SetDeadline is given up on when ctx ends.
func TestRunDeadlineWithoutSetDeadline(t *testing.T) {
	guest := startFakeGuest(t, func(string) string { return "" }) // never answers
	console := struct {
		io.Reader
		io.Writer
	}{guest.conn, guest.conn}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := testguest.Run(ctx, console, "hang", "sleep 100"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run past its deadline: error = %v, want %v", err, context.DeadlineExceeded)
	}
}

// fakeGuest is the guest end of a net.Pipe: it answers each command line with what answer returns for it.
type fakeGuest struct {
	conn  net.Conn // the test's end
	mu    sync.Mutex
	lines []string // command lines received, without newlines
}

func startFakeGuest(t *testing.T, answer func(line string) string) *fakeGuest {
	t.Helper()
	host, guest := net.Pipe()
	g := &fakeGuest{conn: host}
	done := make(chan struct{})
	go func() {
		defer close(done)
		br := bufio.NewReader(guest)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			g.mu.Lock()
			g.lines = append(g.lines, line)
			g.mu.Unlock()
			if a := answer(line); a != "" {
				if _, err := io.WriteString(guest, a); err != nil {
					return
				}
			}
		}
	}()
	t.Cleanup(func() {
		host.Close()
		guest.Close()
		<-done
	})
	return g
}

func (g *fakeGuest) received() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.lines...)
}
