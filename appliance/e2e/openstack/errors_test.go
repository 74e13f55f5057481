package openstack

import "errors"

// errorAs is errors.As, for checks that read an API error's status.
func errorAs(err error, target any) bool { return err != nil && errors.As(err, target) }
