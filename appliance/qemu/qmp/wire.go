package qmp

import (
	"encoding/json"
	"fmt"
	"time"
)

// request is a command as sent to QEMU.
type request struct {
	Execute   string          `json:"execute"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	ID        string          `json:"id"`
}

// encodeRequest builds the line for command. Arguments that encode as null (nil, or a nil map
// or pointer) are left out: QEMU wants an object or nothing.
func encodeRequest(command string, args any, id string) ([]byte, error) {
	req := request{Execute: command, ID: id}
	if args != nil {
		raw, err := json.Marshal(args)
		if err != nil {
			return nil, fmt.Errorf("encode arguments: %w", err)
		}
		if string(raw) != "null" {
			req.Arguments = raw
		}
	}
	return json.Marshal(req)
}

// message is anything QEMU sends: the greeting, a reply (return or error) or an event.
type message struct {
	QMP       *greeting       `json:"QMP"`
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	Timestamp *timestamp      `json:"timestamp"`
	Return    json.RawMessage `json:"return"`
	Error     *wireError      `json:"error"`
	ID        json.RawMessage `json:"id"`
}

type greeting struct {
	Version struct {
		QEMU struct {
			Major int `json:"major"`
			Minor int `json:"minor"`
			Micro int `json:"micro"`
		} `json:"qemu"`
		Package string `json:"package"`
	} `json:"version"`
	Capabilities []string `json:"capabilities"`
}

// String is the QEMU version, e.g. "7.2.22".
func (g *greeting) String() string {
	v := g.Version.QEMU
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Micro)
}

type timestamp struct {
	Seconds      int64 `json:"seconds"`
	Microseconds int64 `json:"microseconds"`
}

func (ts *timestamp) time() time.Time {
	if ts == nil {
		return time.Time{}
	}
	return time.Unix(ts.Seconds, ts.Microseconds*int64(time.Microsecond))
}

type wireError struct {
	Class string `json:"class"`
	Desc  string `json:"desc"`
}

// reply is a command's answer, handed from the reader to the waiting Execute.
type reply struct {
	id     string // the raw JSON of "id"; "" when QEMU sent none (it could not parse the request)
	result json.RawMessage
	err    *wireError
}

// isReply: a message with "return" or "error" answers a command.
func (msg *message) isReply() bool { return msg.Return != nil || msg.Error != nil }

func (msg *message) reply() reply {
	return reply{id: string(msg.ID), result: msg.Return, err: msg.Error}
}
