package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/coder/websocket"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"cloudlet/web/client"
)

// detachKey is Ctrl-]: it ends `cloudlet instance console`, as in virsh and telnet. The guest keeps running.
const detachKey = 0x1d

// modeHeader says what the daemon gave the viewer: keyboard or view (web.SerialModeHeader).
const modeHeader = "X-Cloudlet-Console-Mode"

func newConsoleCmd(g *globals) *cobra.Command {
	var view bool
	cmd := &cobra.Command{Use: "console INSTANCE", Short: "attach to the serial console (Ctrl-] detaches)",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			mode := ""
			if view {
				mode = "view"
			}
			return attachConsole(context.Background(), g.client(), a[0], mode, os.Stdin, g.stdout, g.stderr)
		}}
	cmd.Flags().BoolVar(&view, "view", false, "watch only, never take the keyboard")
	return cmd
}

func newConsoleLogCmd(g *globals) *cobra.Command {
	var limit int64
	var follow bool
	cmd := &cobra.Command{Use: "console-log INSTANCE", Short: "print the serial console log (--follow: then its new output)",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			if err := printConsoleLog(g.client(), a[0], limit, g.stdout); err != nil || !follow {
				return err
			}
			return followConsole(context.Background(), g.client(), a[0], g.stdout, g.stderr)
		}}
	cmd.Flags().Int64Var(&limit, "bytes", 64<<10, "at most this many bytes from the end")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "then print new output as the guest writes it, until the console ends or Ctrl-C")
	return cmd
}

func printConsoleLog(cl *client.Client, name string, limit int64, out io.Writer) error {
	path := fmt.Sprintf("/api/v1/instances/%s/console-log?bytes=%d", url.PathEscape(name), limit)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	body, err := cl.Stream(ctx, "GET", path)
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(out, body)
	return err
}

// consolePath is the serial console websocket of instance name in mode ("" lets the daemon choose).
func consolePath(name, mode string) string {
	p := "/api/v1/instances/" + url.PathEscape(name) + "/console"
	if mode != "" {
		p += "?mode=" + mode
	}
	return p
}

// followConsole prints the console's output as a view-only viewer until it ends. Its first bytes
// may repeat the end of the log printed before it.
func followConsole(ctx context.Context, cl *client.Client, name string, out, notes io.Writer) error {
	ws, _, err := cl.Websocket(ctx, consolePath(name, "view"))
	if err != nil {
		return err
	}
	defer ws.CloseNow()
	return consoleEnd(copyConsoleOutput(ctx, ws, out), notes)
}

// attachConsole connects in to the instance's serial console: the guest's output to out, in's bytes
// to the guest, the terminal in raw mode (restored on return) when in is one, until Ctrl-] or the end
// of in (detach: the guest runs on) or the end of the console.
func attachConsole(ctx context.Context, cl *client.Client, name, mode string, in *os.File, out, notes io.Writer) error {
	ws, resp, err := cl.Websocket(ctx, consolePath(name, mode))
	if err != nil {
		return err
	}
	defer ws.CloseNow()
	got := resp.Header.Get(modeHeader)
	fmt.Fprintf(notes, "Connected to the serial console of %s (%s). Ctrl-] detaches.\r\n", name, got)
	if fd := int(in.Fd()); term.IsTerminal(fd) {
		saved, err := term.MakeRaw(fd)
		if err != nil {
			return fmt.Errorf("console %s: raw terminal: %w", name, err)
		}
		defer term.Restore(fd, saved)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	outDone := make(chan error, 1)
	go func() { outDone <- copyConsoleOutput(ctx, ws, out) }()
	inDone := make(chan error, 1)
	go func() { inDone <- copyConsoleInput(ctx, ws, in, got == "keyboard") }() // left reading in when the console ends first
	select {
	case err := <-inDone:
		fmt.Fprintf(notes, "\r\nDetached from %s; it keeps running.\r\n", name)
		ws.Close(websocket.StatusNormalClosure, "detached")
		return err
	case err := <-outDone:
		fmt.Fprint(notes, "\r\n")
		return consoleEnd(err, notes)
	}
}

// copyConsoleOutput writes every message of ws to out until ws ends.
func copyConsoleOutput(ctx context.Context, ws *websocket.Conn, out io.Writer) error {
	for {
		_, p, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		if _, err := out.Write(p); err != nil {
			return err
		}
	}
}

// copyConsoleInput sends what in reads (when typing is allowed) until Ctrl-] or in's end: both nil.
func copyConsoleInput(ctx context.Context, ws *websocket.Conn, in io.Reader, typing bool) error {
	buf := make([]byte, 1024)
	for {
		n, err := in.Read(buf)
		p, detach := buf[:n], false
		if i := bytes.IndexByte(p, detachKey); i >= 0 {
			p, detach = p[:i], true
		}
		if len(p) > 0 && typing {
			if werr := ws.Write(ctx, websocket.MessageBinary, p); werr != nil {
				return werr
			}
		}
		if detach || errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// consoleEnd turns the end of the console's stream into the command's result. The console's own
// end (the instance stopped) is no failure: its reason is a note. Any other close reason (this
// viewer fell too far behind) is the error.
func consoleEnd(err error, notes io.Writer) error {
	var ce websocket.CloseError
	switch {
	case errors.As(err, &ce) && (ce.Code == websocket.StatusNormalClosure || ce.Code == websocket.StatusGoingAway):
		if ce.Reason != "" {
			fmt.Fprintf(notes, "%s\r\n", ce.Reason)
		}
		return nil
	case errors.As(err, &ce):
		return fmt.Errorf("console closed: %s", ce.Reason)
	}
	return err
}
