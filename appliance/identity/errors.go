package identity

import (
	"fmt"
	"time"

	"cloudlet/appliance/fault"
)

// The errors the service returns. Test for them with errors.Is; each carries a fault kind
// (fault.KindOf) that web maps to an HTTP status. Messages are complete on their own; the sentinel
// only classifies. Catalog errors (a name taken, a record not found) pass through from store with
// their own kinds. No message ever contains a password, a token or credential secret, or a
// private key.
var (
	// ErrInvalid: a request field is malformed or unacceptable (a name, an email, a short
	// password, an unknown role or action, a malformed public key). Kind invalid (400).
	ErrInvalid error = &fault.Error{Kind: fault.Invalid, Msg: "invalid identity request"}

	// ErrNotFound: no user, project, assignment, token, credential or keypair with that ID or name
	// is visible to the caller. Kind not_found (404).
	ErrNotFound error = &fault.Error{Kind: fault.NotFound, Msg: "not found"}

	// ErrConflict: a name is taken, or the project still owns resources. Kind conflict (409).
	ErrConflict error = &fault.Error{Kind: fault.Conflict, Msg: "identity conflict"}

	// ErrForbidden: the policy refuses the action (Authorize), or the target is protected (project
	// admin, user admin and the admin role binding them cannot be deleted or disabled). Kind
	// forbidden (403).
	ErrForbidden error = &fault.Error{Kind: fault.Forbidden, Msg: "forbidden"}

	// ErrUnauthenticated: a bearer secret is unknown, malformed, expired or revoked, or its user or
	// project is disabled, or its user lost the roles it carries. Kind unauthorized (401).
	ErrUnauthenticated error = &fault.Error{Kind: fault.Unauthorized, Msg: "authentication required"}

	// ErrLoginFailed is the one error of a failed password login, whatever the reason (unknown
	// user, wrong password, disabled user, unknown or disabled project, no role on it), so a
	// caller cannot tell which users exist. It matches ErrUnauthenticated. Kind unauthorized (401).
	ErrLoginFailed error = &fault.Error{Kind: fault.Unauthorized, Msg: "invalid username, password or project",
		Err: ErrUnauthenticated}

	// ErrTooManyRequests: too many failed logins for a user from one source address, from one
	// address, or for a user from addresses that already failed (throttle.go); the error is a
	// *RetryError that says when to retry. Kind too_many_requests (429).
	ErrTooManyRequests error = &fault.Error{Kind: fault.TooManyRequests, Msg: "too many login attempts"}
)

// RetryError is ErrTooManyRequests with the time to wait before the next attempt, which the web
// layer sends as Retry-After.
type RetryError struct {
	Msg   string
	After time.Duration
}

func (e *RetryError) Error() string { return e.Msg }

// Unwrap makes a RetryError match ErrTooManyRequests.
func (e *RetryError) Unwrap() error { return ErrTooManyRequests }

// FaultKind is too_many_requests.
func (e *RetryError) FaultKind() string { return string(fault.TooManyRequests) }

// RetryAfter is how long to wait.
func (e *RetryError) RetryAfter() time.Duration { return e.After }

// retryAfter returns a RetryError saying why, and to wait d (rounded up to whole seconds).
func retryAfter(d time.Duration, why string) error {
	d = (d + time.Second - 1).Truncate(time.Second)
	return &RetryError{Msg: fmt.Sprintf("%s: try again in %s", why, d), After: d}
}

// faultf formats a message that matches sentinel under errors.Is and has its fault kind.
func faultf(sentinel error, format string, args ...any) error {
	return &fault.Error{Kind: fault.KindOf(sentinel), Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// quoteShort quotes s for a message, cutting hostile megabyte-long input short.
func quoteShort(s string) string {
	const limit = 80
	if len(s) <= limit {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q...", s[:limit])
}
