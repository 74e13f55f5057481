package qga

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ReadChunk is how much one guest-file-read asks for: its base64 reply stays well under MaxReply.
const ReadChunk = 4 << 10

// maxChunks bounds the reads of one file, whatever the agent answers (a zero-byte read that never
// says eof).
const maxChunks = 64

// ErrFileTooLarge is a guest file longer than the caller's cap. The connection stays in step.
var ErrFileTooLarge = errors.New("guest file over the size cap")

// fileReply is guest-file-read's answer.
type fileReply struct {
	Count int    `json:"count"`
	Buf   string `json:"buf-b64"`
	EOF   bool   `json:"eof"`
}

// ReadFile reads a file of the guest (guest-file-open mode "r", guest-file-read in ReadChunk
// pieces, guest-file-close) of at most max bytes. path is a path in the guest; callers pass
// constants. The handle is closed whatever happens after the open: after a protocol error the
// connection is synchronised again first, so the close is not mistaken for a stale reply. An error
// reply of the agent (no such file, a command blocked) is an *Error.
func (c *Client) ReadFile(path string, max int) ([]byte, error) {
	var handle int64
	if err := c.Execute("guest-file-open", map[string]string{"path": path, "mode": "r"}, &handle); err != nil {
		return nil, err
	}
	data, err := c.readHandle(handle, max)
	if cerr := c.closeHandle(handle, err); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("read guest file %s: %w", path, err)
	}
	return data, nil
}

func (c *Client) readHandle(handle int64, max int) ([]byte, error) {
	var data []byte
	for range maxChunks {
		var r fileReply
		if err := c.Execute("guest-file-read", map[string]int64{"handle": handle, "count": ReadChunk}, &r); err != nil {
			return nil, err
		}
		buf, err := base64.StdEncoding.DecodeString(r.Buf)
		if err != nil || len(buf) != r.Count || len(buf) > ReadChunk {
			return nil, fmt.Errorf("guest agent guest-file-read: %w: %d bytes for count %d", ErrMalformed, len(buf), r.Count)
		}
		if len(data)+len(buf) > max {
			return nil, ErrFileTooLarge
		}
		data = append(data, buf...)
		if r.EOF {
			return data, nil
		}
	}
	return nil, ErrFileTooLarge
}

// closeHandle closes the guest's file handle; readErr is how reading it ended. A protocol error
// left the stream out of step: synchronise again before the close.
func (c *Client) closeHandle(handle int64, readErr error) error {
	var refused *Error
	if readErr != nil && !errors.As(readErr, &refused) && !errors.Is(readErr, ErrFileTooLarge) {
		if err := c.Sync(); err != nil {
			return err
		}
	}
	return c.Execute("guest-file-close", map[string]int64{"handle": handle}, nil)
}

// NoSuchFile reports whether err is the agent's answer that a file does not exist: the open failed
// with ENOENT (qemu-ga's desc ends with strerror's text). A command the agent refuses (blocked,
// unknown) or any other failure is not that.
func NoSuchFile(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Command == "guest-file-open" && e.Class == "GenericError" &&
		strings.HasSuffix(e.Desc, "No such file or directory")
}
