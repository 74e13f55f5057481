package dns

import (
	"errors"

	"cloudlet/appliance/fault"
)

var (
	// ErrInvalidConfig wraps every reason New or Update refuses a Config.
	ErrInvalidConfig = fault.New(fault.Invalid, "invalid dns config")
	// ErrStarted is returned by Start on a server that was already started or closed.
	ErrStarted = errors.New("dns server already started")
)
