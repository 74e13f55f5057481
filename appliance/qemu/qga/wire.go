package qga

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxReply caps one reply of the agent, in bytes; a bigger one is an error and the connection is
// dropped. Replies cloudlet asks for (interfaces, OS info, host name) are a few KiB.
const MaxReply = 64 << 10

// maxSkip caps what one guest-sync-delimited may read (stale output before the sentinel included).
const maxSkip = 4 * MaxReply

// skipToSentinel discards bytes up to and including the next 0xFF.
func (c *Client) skipToSentinel(budget *int) error {
	for *budget > 0 {
		b, err := c.r.ReadByte()
		if err != nil {
			return err
		}
		*budget--
		if b == 0xFF {
			return nil
		}
	}
	return ErrTooLarge
}

// readLine reads one newline-ended reply of at most MaxReply bytes (and at most *budget), leading
// 0xFF sentinels removed.
func (c *Client) readLine(budget *int) ([]byte, error) {
	var line []byte
	for {
		frag, err := c.r.ReadSlice('\n')
		*budget -= len(frag)
		if len(line)+len(frag) > MaxReply || *budget < 0 {
			return nil, ErrTooLarge
		}
		line = append(line, frag...)
		switch {
		case err == nil:
			return bytes.TrimLeft(line, "\xff"), nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return nil, err
		}
	}
}

// decode parses one reply: {"return": …} into out, or {"error": {class, desc}} as *Error.
func decode(cmd string, line []byte, out any) error {
	var reply struct {
		Return json.RawMessage `json:"return"`
		Error  *struct {
			Class string `json:"class"`
			Desc  string `json:"desc"`
		} `json:"error"`
	}
	if err := json.Unmarshal(line, &reply); err != nil {
		return fmt.Errorf("guest agent %s: %w: %v", cmd, ErrMalformed, err)
	}
	switch {
	case reply.Error != nil:
		return &Error{Command: cmd, Class: clean(reply.Error.Class, 64), Desc: reply.Error.Desc}
	case reply.Return == nil:
		return fmt.Errorf("guest agent %s: %w: neither return nor error", cmd, ErrMalformed)
	case out == nil:
		return nil
	}
	if err := json.Unmarshal(reply.Return, out); err != nil {
		return fmt.Errorf("guest agent %s: %w: %v", cmd, ErrMalformed, err)
	}
	return nil
}
