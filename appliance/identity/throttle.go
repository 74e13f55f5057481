package identity

import (
	"sync"
	"time"
)

// Login throttling, so that nobody can keep a user out by failing on purpose:
//
//   - per (user, source address): LoginBackoff.FreeFailures failed attempts, then each further
//     failure locks that pair out for a time that doubles, up to LoginBackoff.Max. Another address
//     is not affected: the real user on it gets in with the right password. A success clears the
//     pair.
//   - per source address (Options.SourceLogins): a token bucket over every attempt, so that one
//     address spraying many user names is slowed down too.
//   - per user (Options.UserLogins): a much larger token bucket over the attempts of addresses that
//     have already failed for this user, so that many addresses sharing a guess list stay slow. An
//     address that has not failed for the user is never refused by it: a distributed guesser gets
//     one guess per fresh address (each still under its source limit), and the real user still
//     gets in.
//
// An admin clears a user's lockouts with Service.Unlock. Every refusal is a *RetryError, which
// says when to try again. Attempts count as failures from the moment they start (and are cleared by
// their success), so parallel guesses from one address cannot outrun the lockout.

// LoginBackoff is the per (user, source) lockout: FreeFailures failures, then Base, doubling with
// each further failure, at most Max.
type LoginBackoff struct {
	FreeFailures int
	Base, Max    time.Duration
}

// Defaults of LoginBackoff, and how long an idle pair is remembered.
const (
	DefaultLoginFreeFailures = 5
	DefaultLoginBackoffBase  = time.Second
	DefaultLoginBackoffMax   = 15 * time.Minute
	loginForgetAfter         = 24 * time.Hour
)

func (b LoginBackoff) withDefaults() LoginBackoff {
	if b.FreeFailures == 0 {
		b.FreeFailures = DefaultLoginFreeFailures
	}
	if b.Base == 0 {
		b.Base = DefaultLoginBackoffBase
	}
	if b.Max == 0 {
		b.Max = DefaultLoginBackoffMax
	}
	return b
}

// lockout is how long the pair waits after its failures-th failure.
func (b LoginBackoff) lockout(failures int) time.Duration {
	if failures < b.FreeFailures {
		return 0
	}
	d := b.Base
	for i := b.FreeFailures; i < failures && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// pairKey is a user (its ID, or the name given when there is no such user) at a source address
// (ratelimit.SourceKey).
type pairKey struct{ user, source string }

type pairState struct {
	failures int
	until    time.Time // no attempt before then
	last     time.Time // the last attempt
}

// loginThrottle keeps the per-pair failure counts, at most maxPairs of them.
type loginThrottle struct {
	now      func() time.Time
	backoff  LoginBackoff
	maxPairs int

	mu    sync.Mutex // guards pairs
	pairs map[pairKey]*pairState
}

func newLoginThrottle(now func() time.Time, b LoginBackoff, maxPairs int) *loginThrottle {
	return &loginThrottle{now: now, backoff: b, maxPairs: maxPairs, pairs: make(map[pairKey]*pairState)}
}

// begin refuses an attempt of k that is locked out, or that gate refuses (given whether k has
// failed before); otherwise it counts the attempt as a failure until succeeded says otherwise.
func (t *loginThrottle) begin(k pairKey, gate func(failedBefore bool) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	st := t.pairs[k]
	if st != nil && now.Before(st.until) {
		return retryAfter(st.until.Sub(now), "too many failed logins for this user from this address")
	}
	if st != nil && now.Sub(st.last) > loginForgetAfter {
		st.failures = 0
	}
	if err := gate(st != nil && st.failures > 0); err != nil {
		return err
	}
	if st == nil {
		t.makeRoom(now)
		st = &pairState{}
		t.pairs[k] = st
	}
	st.failures++
	st.last = now
	st.until = now.Add(t.backoff.lockout(st.failures))
	return nil
}

// succeeded clears k: the right password was given.
func (t *loginThrottle) succeeded(k pairKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pairs, k)
}

// clearUser forgets every pair of user and returns how many there were.
func (t *loginThrottle) clearUser(user string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k := range t.pairs {
		if k.user == user {
			delete(t.pairs, k)
			n++
		}
	}
	return n
}

// makeRoom bounds the pairs: idle ones go first, then those not locked out now, then those whose
// lockout ends soonest.
func (t *loginThrottle) makeRoom(now time.Time) {
	if len(t.pairs) < t.maxPairs {
		return
	}
	for k, st := range t.pairs {
		if !now.Before(st.until) && now.Sub(st.last) > loginForgetAfter {
			delete(t.pairs, k)
		}
	}
	for k, st := range t.pairs {
		if len(t.pairs) < t.maxPairs {
			return
		}
		if !now.Before(st.until) {
			delete(t.pairs, k)
		}
	}
	for len(t.pairs) >= t.maxPairs {
		var first pairKey
		var soonest time.Time
		for k, st := range t.pairs {
			if soonest.IsZero() || st.until.Before(soonest) {
				first, soonest = k, st.until
			}
		}
		delete(t.pairs, first)
	}
}
