package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/identity"
)

// Console kinds a ticket opens.
const (
	ConsoleVNC    = "vnc"
	ConsoleSerial = "serial"
)

// Console ticket defaults.
const (
	DefaultConsoleTicketTTL   = 30 * time.Second
	maxTicketsPerUser         = 16
	maxTicketsPerInstance     = 16
	maxTickets                = 1024
	ticketBytes               = 32 // 256 random bits
	DefaultMaxVNCPerInstance  = 4
	DefaultScreenshotBurst    = 3
	DefaultScreenshotInterval = time.Second
)

// consoleTicket is what a ticket grants: who holds it, in which project, for which instance and kind.
type consoleTicket struct {
	principal identity.Principal
	project   string
	instance  string // ID
	kind      string
	expires   time.Time
}

// ticketStore keeps console tickets in memory, by the SHA-256 of their secret only: single use,
// short-lived, bounded per user, per instance and in total; expired ones are swept on every use.
type ticketStore struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	tickets map[[sha256.Size]byte]consoleTicket
}

func newTicketStore(ttl time.Duration, now func() time.Time) *ticketStore {
	if ttl <= 0 {
		ttl = DefaultConsoleTicketTTL
	}
	return &ticketStore{ttl: ttl, now: now, tickets: map[[sha256.Size]byte]consoleTicket{}}
}

// userKey names the holder of a principal's tickets: its user ID, or for a transport-trusted
// admin (no user ID) how it came in.
func userKey(p identity.Principal) string {
	if p.UserID != "" {
		return p.UserID
	}
	return "via:" + p.Via
}

// issue makes a ticket for t and returns its secret (base64url, never stored) and expiry.
func (ts *ticketStore) issue(t consoleTicket) (string, time.Time, error) {
	raw := make([]byte, ticketBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", time.Time{}, err
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	now := ts.now()
	ts.sweep(now)
	if err := ts.admit(t); err != nil {
		return "", time.Time{}, err
	}
	t.expires = now.Add(ts.ttl)
	ts.tickets[sha256.Sum256([]byte(secret))] = t
	return secret, t.expires, nil
}

// admit refuses a ticket past a cap: the caller's, the instance's or the store's.
func (ts *ticketStore) admit(t consoleTicket) error {
	if len(ts.tickets) >= maxTickets {
		return ticketsExhausted("too many console tickets outstanding on this server")
	}
	user, inst := 0, 0
	for _, o := range ts.tickets {
		if userKey(o.principal) == userKey(t.principal) {
			user++
		}
		if o.instance == t.instance {
			inst++
		}
	}
	switch {
	case user >= maxTicketsPerUser:
		return ticketsExhausted("too many console tickets outstanding for this user (%d)", maxTicketsPerUser)
	case inst >= maxTicketsPerInstance:
		return ticketsExhausted("too many console tickets outstanding for this instance (%d)", maxTicketsPerInstance)
	}
	return nil
}

// ticketsExhausted is a 429 whose Retry-After is a ticket's lifetime at most.
func ticketsExhausted(format string, args ...any) error {
	return &retryError{Err: fault.New(fault.TooManyRequests, format, args...), After: DefaultConsoleTicketTTL}
}

// sweep drops expired tickets; the caller holds mu.
func (ts *ticketStore) sweep(now time.Time) {
	for h, t := range ts.tickets {
		if !now.Before(t.expires) {
			delete(ts.tickets, h)
		}
	}
}

// take consumes the ticket whose secret is given: whatever happens next, it cannot be used again.
// An unknown, used or expired secret is 401.
func (ts *ticketStore) take(secret string) (consoleTicket, error) {
	h := sha256.Sum256([]byte(secret))
	ts.mu.Lock()
	defer ts.mu.Unlock()
	now := ts.now()
	t, ok := ts.tickets[h]
	delete(ts.tickets, h)
	ts.sweep(now)
	if !ok || !now.Before(t.expires) {
		return consoleTicket{}, fault.New(fault.Unauthorized, "console ticket unknown, used or expired: ask for a new one")
	}
	return t, nil
}

// len is how many tickets are kept, for tests.
func (ts *ticketStore) len() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.tickets)
}

// retryError is a refusal that says when to try again (Retry-After).
type retryError struct {
	Err   error
	After time.Duration
}

func (e *retryError) Error() string             { return e.Err.Error() }
func (e *retryError) Unwrap() error             { return e.Err }
func (e *retryError) RetryAfter() time.Duration { return e.After }
