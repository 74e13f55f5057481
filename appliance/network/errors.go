package network

import "cloudlet/appliance/fault"

func errInvalid(format string, args ...any) error  { return fault.New(fault.Invalid, format, args...) }
func errConflict(format string, args ...any) error { return fault.New(fault.Conflict, format, args...) }

func errNotFound(format string, args ...any) error { return fault.New(fault.NotFound, format, args...) }
