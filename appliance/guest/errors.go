package guest

import "cloudlet/appliance/fault"

// ErrNotFound answers a document or path the guest has not got (no user-data, an unknown version).
var ErrNotFound = fault.New(fault.NotFound, "no such metadata document")
