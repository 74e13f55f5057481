package identity

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"cloudlet/appliance/ratelimit"
	"cloudlet/store"
)

// Defaults of Options.
const (
	DefaultTokenTTL            = 12 * time.Hour
	DefaultMaxConcurrentHashes = 4 // each argon2id run holds Argon2Params.MemoryKiB of memory
)

// The default login limits (throttle.go): per user, 100 attempts from addresses that already failed
// for it, then one every 30 s; per source address a burst of 30 attempts, then one every 10 s (a
// shared NAT address logs in more often).
const (
	DefaultUserLoginBurst   = 100
	DefaultUserLoginEvery   = 30 * time.Second
	DefaultSourceLoginBurst = 30
	DefaultSourceLoginEvery = 10 * time.Second
)

// Options configure the service. The zero value is what the daemon uses, except ProjectInUse,
// which the composition root wires.
type Options struct {
	// Log receives login successes and failures (never secrets); nil discards them.
	Log *slog.Logger
	// Now is the clock of token and credential expiry and of login rate limits; nil means
	// time.Now. Records are stamped by the catalog's own clock.
	Now func() time.Time
	// TokenTTL is how long a token from Authenticate lives; 0 means DefaultTokenTTL.
	TokenTTL time.Duration
	// SessionIdle is how long a session token (AuthenticateSession, the dashboard's) lives without
	// use; 0 means DefaultSessionIdle. Its absolute expiry stays TokenTTL.
	SessionIdle time.Duration
	// UserLogins limits the login attempts for one user from addresses that already failed for
	// it; SourceLogins limits every attempt from one source address (IPv6 per /64); LoginBackoff
	// locks one user out at one address after failures (throttle.go). Zero fields take the
	// defaults (DefaultUserLoginBurst, DefaultLoginFreeFailures, ...).
	UserLogins, SourceLogins LoginLimit
	LoginBackoff             LoginBackoff
	// Argon2 is the cost of new password hashes; zero fields take the defaults (see
	// Argon2Params). Existing hashes are verified with the cost they were made with.
	Argon2 Argon2Params
	// MaxConcurrentHashes bounds simultaneous password hash computations, and so their memory;
	// 0 means DefaultMaxConcurrentHashes.
	MaxConcurrentHashes int
	// ProjectInUse reports whether resources of other services (instances, volumes, networks,
	// images, ...) still belong to a project: nil when none do, else an error of kind conflict
	// naming them (any other error is a failure of the check). DeleteProject refuses a project in
	// use. nil means no other service owns anything.
	ProjectInUse func(ctx context.Context, projectID string) error
}

// LoginLimit is a token bucket: Burst attempts at once, then one more every Every.
type LoginLimit struct {
	Burst int
	Every time.Duration
}

// Service manages identity records in the catalog: projects, users, role assignments, tokens,
// application credentials and keypairs. It is safe for concurrent use.
type Service struct {
	db           *store.DB
	log          *slog.Logger
	now          func() time.Time
	tokenTTL     time.Duration
	sessionIdle  time.Duration
	argon        Argon2Params
	projectInUse func(ctx context.Context, projectID string) error

	userLimit, sourceLimit LoginLimit
	userLogins             *ratelimit.Limiter[string]
	sourceLogins           *ratelimit.Limiter[string]
	throttle               *loginThrottle

	hashSlots chan struct{} // one token per password hash computation under way
	dummyHash string        // verified for unknown users, so that their logins cost the same
	hashRuns  atomic.Int64  // password hash computations so far (a test proves every login costs one)
}

// loginKeys bounds how many user names and addresses the login limiters remember (a few MiB at
// most). When full, the limiters forget everything: flooding them takes this many attempts within
// one refill interval, far more than the per-address limit lets a few addresses make.
const loginKeys = 1 << 16

// New returns the service over db with the default Options.
func New(db *store.DB) *Service {
	s, err := NewWithOptions(db, Options{})
	if err != nil {
		panic(err) // the default options are valid
	}
	return s
}

// NewWithOptions returns the service over db.
func NewWithOptions(db *store.DB, o Options) (*Service, error) {
	if db == nil {
		return nil, errors.New("identity.New: a catalog is required")
	}
	if o.TokenTTL < 0 || o.SessionIdle < 0 || o.MaxConcurrentHashes < 0 || o.UserLogins.Burst < 0 || o.UserLogins.Every < 0 ||
		o.SourceLogins.Burst < 0 || o.SourceLogins.Every < 0 || o.LoginBackoff.FreeFailures < 0 ||
		o.LoginBackoff.Base < 0 || o.LoginBackoff.Max < 0 {
		return nil, errors.New("identity.New: durations, bursts, failure counts and MaxConcurrentHashes must not be negative")
	}
	s := &Service{
		db: db, log: o.Log, now: o.Now, tokenTTL: o.TokenTTL, sessionIdle: o.SessionIdle, argon: o.Argon2.withDefaults(),
		projectInUse: o.ProjectInUse, userLimit: o.UserLogins, sourceLimit: o.SourceLogins,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.tokenTTL == 0 {
		s.tokenTTL = DefaultTokenTTL
	}
	if s.sessionIdle == 0 {
		s.sessionIdle = DefaultSessionIdle
	}
	s.userLimit = s.userLimit.withDefaults(DefaultUserLoginBurst, DefaultUserLoginEvery)
	s.sourceLimit = s.sourceLimit.withDefaults(DefaultSourceLoginBurst, DefaultSourceLoginEvery)
	s.userLogins = s.userLimit.limiter(s.now)
	s.sourceLogins = s.sourceLimit.limiter(s.now)
	s.throttle = newLoginThrottle(s.now, o.LoginBackoff.withDefaults(), loginKeys)
	slots := o.MaxConcurrentHashes
	if slots == 0 {
		slots = DefaultMaxConcurrentHashes
	}
	s.hashSlots = make(chan struct{}, slots)
	s.dummyHash = dummyHash(s.argon)
	return s, nil
}

func (l LoginLimit) withDefaults(burst int, every time.Duration) LoginLimit {
	if l.Burst == 0 {
		l.Burst = burst
	}
	if l.Every == 0 {
		l.Every = every
	}
	return l
}

func (l LoginLimit) limiter(now func() time.Time) *ratelimit.Limiter[string] {
	return ratelimit.New[string](now, float64(l.Burst), 1/l.Every.Seconds(), loginKeys)
}

// appendEvent records a change on the event log in the caller's transaction.
func appendEvent(tx *store.Tx, typ, kind, id, projectID string, data any) error {
	e := &store.Event{Type: typ, Kind: kind, ID: id, ProjectID: projectID}
	if data != nil {
		raw, err := json.Marshal(data)
		if err != nil {
			return err
		}
		e.Data = raw
	}
	return store.AppendEvent(tx, e)
}
