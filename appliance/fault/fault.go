// Package fault names the kinds of failure that cloudlet's services report, so the web layer can map
// them to HTTP statuses in one place without importing the services' internals.
//
// Any error whose chain contains a value with a `FaultKind() string` method has that kind; store's
// sentinels carry the method without importing this package (store imports nothing from the project).
// This package imports nothing from the project.
package fault

import (
	"errors"
	"fmt"
)

// Kind is a class of failure. The string values are a contract shared with store's errors.
type Kind string

// The kinds, with the HTTP status web gives each.
const (
	Internal     Kind = ""             // 500: a bug or an unexpected host failure
	Invalid      Kind = "invalid"      // 400: malformed or unacceptable input
	Unauthorized Kind = "unauthorized" // 401: no or bad credentials
	Forbidden    Kind = "forbidden"    // 403: authenticated but not allowed
	NotFound     Kind = "not_found"    // 404: absent, or not visible to the caller
	Conflict     Kind = "conflict"     // 409: name taken, revision changed, wrong state
	TooLarge     Kind = "too_large"    // 413: request body over its cap
	Quota        Kind = "quota"        // 409: a quota would be exceeded
	NoCapacity   Kind = "no_capacity"  // 507: the host lacks the resources
	Unavailable  Kind = "unavailable"  // 503: a dependency (catalog, QEMU) is not usable now

	TooManyRequests Kind = "too_many_requests" // 429: a rate limit (logins) was hit; retry later
)

// Error is a failure with a kind and a message meant for the API caller.
type Error struct {
	Kind Kind
	Msg  string
	Err  error // optional cause, kept for errors.Is/As
}

func (e *Error) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	return e.Msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// FaultKind reports the kind.
func (e *Error) FaultKind() string { return string(e.Kind) }

// New returns an error of kind k with a formatted message.
func New(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Wrap gives err the kind k, keeping it as the cause and its text as the message.
func Wrap(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Msg: err.Error(), Err: err}
}

// KindOf returns the kind of the first error in err's chain that declares one, or Internal.
func KindOf(err error) Kind {
	var k interface{ FaultKind() string }
	if errors.As(err, &k) {
		return Kind(k.FaultKind())
	}
	return Internal
}
