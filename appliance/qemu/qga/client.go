package qga

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"time"
)

// Errors of an exchange; each drops the connection.
var (
	ErrTooLarge  = errors.New("guest agent reply over the size cap")
	ErrMalformed = errors.New("malformed guest agent reply")
	ErrNoSync    = errors.New("guest agent did not answer guest-sync-delimited with our id")
)

// Error is an error reply of the agent, with its class (CommandNotFound, GenericError…).
type Error struct {
	Command, Class, Desc string
}

func (e *Error) Error() string {
	return fmt.Sprintf("guest agent %s: %s: %s", e.Command, e.Class, clean(e.Desc, 200))
}

// Client is one connection to a guest agent. It is not safe for concurrent use.
type Client struct {
	conn    net.Conn
	r       *bufio.Reader
	timeout time.Duration
	stop    func() bool // undoes the close on ctx's end
}

// Dial connects to the agent's socket at path and synchronises with guest-sync-delimited. timeout
// bounds the dial and every later exchange; ctx's end closes the connection at once.
func Dial(ctx context.Context, path string, timeout time.Duration) (*Client, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("dial guest agent: %w", err)
	}
	c := &Client{conn: conn, r: bufio.NewReaderSize(conn, 4096), timeout: timeout}
	c.stop = context.AfterFunc(ctx, func() { conn.Close() })
	if err := c.sync(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close ends the connection.
func (c *Client) Close() error {
	c.stop()
	return c.conn.Close()
}

// sync sends 0xFF and guest-sync-delimited with a random id, then skips everything up to a 0xFF
// sentinel followed by a reply carrying that id.
func (c *Client) sync() error {
	id := rand.Int64N(1 << 40)
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	req, _ := json.Marshal(request{Execute: "guest-sync-delimited", Arguments: map[string]int64{"id": id}})
	if _, err := c.conn.Write(append([]byte{0xFF}, append(req, '\n')...)); err != nil {
		return fmt.Errorf("guest-sync-delimited: %w", err)
	}
	budget := maxSkip
	for {
		if err := c.skipToSentinel(&budget); err != nil {
			return fmt.Errorf("guest-sync-delimited: %w", err)
		}
		line, err := c.readLine(&budget)
		if err != nil {
			return fmt.Errorf("guest-sync-delimited: %w", err)
		}
		var got int64
		if decode("guest-sync-delimited", line, &got) == nil && got == id {
			return nil
		}
		if budget <= 0 {
			return ErrNoSync
		}
	}
}

// Sync synchronises again after a protocol error (a deadline, a flood, garbage), so that the next
// command's reply is not a stale one; an error means the connection must be dropped.
func (c *Client) Sync() error { return c.sync() }

type request struct {
	Execute   string `json:"execute"`
	Arguments any    `json:"arguments,omitempty"`
}

// Execute runs one command and decodes its "return" into out (nil: ignored).
func (c *Client) Execute(cmd string, args, out any) error {
	if err := c.send(cmd, args); err != nil {
		return err
	}
	budget := MaxReply
	line, err := c.readLine(&budget)
	if err != nil {
		return fmt.Errorf("guest agent %s: %w", cmd, err)
	}
	return decode(cmd, line, out)
}

func (c *Client) send(cmd string, args any) error {
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	req, err := json.Marshal(request{Execute: cmd, Arguments: args})
	if err != nil {
		return fmt.Errorf("guest agent %s: %w", cmd, err)
	}
	if _, err := c.conn.Write(append(req, '\n')); err != nil {
		return fmt.Errorf("guest agent %s: %w", cmd, err)
	}
	return nil
}

// Shutdown asks the guest to power down ("powerdown") or reboot ("reboot"). The agent answers only
// a failure: a reply within the deadline is read, silence (or the guest closing) is success.
func (c *Client) Shutdown(mode string) error {
	if err := c.send("guest-shutdown", map[string]string{"mode": mode}); err != nil {
		return err
	}
	budget := MaxReply
	line, err := c.readLine(&budget)
	var ne net.Error
	if err != nil && (errors.As(err, &ne) && ne.Timeout() || errors.Is(err, io.EOF)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("guest agent guest-shutdown: %w", err)
	}
	return decode("guest-shutdown", line, nil)
}
