package qmp

import (
	"errors"
	"fmt"
)

// ErrClosed is returned (wrapped, test with errors.Is) by every call on a monitor whose
// connection is gone: closed by Close, ended by QEMU (EOF, read error), or broken because a
// command's context expired while QEMU had not answered.
var ErrClosed = errors.New("qmp monitor closed")

// Error is QEMU's answer {"error": {"class": ..., "desc": ...}} to a command. Find it with
// errors.As; Class is one of QEMU's error classes, e.g. "GenericError", "CommandNotFound",
// "DeviceNotActive", "DeviceNotFound", "KVMMissingCap".
type Error struct {
	Command string // the command that failed
	Class   string
	Desc    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("qmp %s: %s: %s", e.Command, e.Class, e.Desc)
}
