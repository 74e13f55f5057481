package webhook

import (
	"fmt"

	"cloudlet/appliance/fault"
)

// The errors the service returns (test with errors.Is; web maps their kinds to HTTP statuses).
var (
	// ErrInvalid: a bad URL, event pattern, name or secret. Kind invalid (400).
	ErrInvalid error = &fault.Error{Kind: fault.Invalid, Msg: "invalid webhook"}
	// ErrTooMany: the project has the most webhooks allowed. Kind conflict (409).
	ErrTooMany error = &fault.Error{Kind: fault.Conflict, Msg: "too many webhooks"}
)

func faultf(sentinel error, format string, args ...any) error {
	return &fault.Error{Kind: fault.KindOf(sentinel), Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// quoteShort quotes s for a message, cutting hostile long input short.
func quoteShort(s string) string {
	const limit = 80
	if len(s) <= limit {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q…", s[:limit])
}
