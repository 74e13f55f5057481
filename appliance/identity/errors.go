package identity

import (
	"fmt"

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

	// ErrTooManyRequests: too many login attempts for one user name or from one source address;
	// the message says when to retry. Kind too_many_requests (429).
	ErrTooManyRequests error = &fault.Error{Kind: fault.TooManyRequests, Msg: "too many login attempts"}
)

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
