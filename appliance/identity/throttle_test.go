package identity

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloudlet/appliance/fault"
)

const (
	attacker  = "203.0.113.66:40000"
	elsewhere = "198.51.100.7:50000"
)

// Finding 8: after 10 failures a user name was limited to one try per 30 s from every address, the
// right password included, so anyone could keep the admin out. Now an attacker looping from one
// address locks out only itself; the admin logs in from another address at once.
func TestProbe08AttackerFromOneAddressCannotLockTheAdminOut(t *testing.T) {
	f := newFixture(t)
	var refused int
	for range 15 {
		_, err := f.s.Authenticate(testCtx, AdminName, "wrong guess", "", attacker)
		var re *RetryError
		if errors.As(err, &re) {
			refused++
			continue
		}
		wantKind(t, "a wrong guess", err, fault.Unauthorized, ErrLoginFailed)
	}
	if refused == 0 {
		t.Fatal("15 wrong guesses in a row from one address were never throttled")
	}
	_, err := f.s.Authenticate(testCtx, AdminName, f.adminPassword, "", attacker)
	wantKind(t, "the right password from the locked-out address", err, fault.TooManyRequests, ErrTooManyRequests)
	if _, err := f.s.Authenticate(testCtx, AdminName, f.adminPassword, "", elsewhere); err != nil {
		t.Errorf("the admin from another address, at once: %v", err)
	}
}

// Each lockout says how long it lasts; it doubles with each further failure, up to a cap.
func TestProbe08RetryAfterGrowsAndIsCapped(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.LoginBackoff = LoginBackoff{FreeFailures: 3, Base: time.Second, Max: 10 * time.Second}
	})
	var waits []time.Duration
	for len(waits) < 6 {
		_, err := f.s.Authenticate(testCtx, AdminName, "wrong guess", "", attacker)
		var re *RetryError
		if !errors.As(err, &re) {
			wantKind(t, "a wrong guess", err, fault.Unauthorized, ErrLoginFailed)
			continue
		}
		if !strings.Contains(re.Error(), "try again in "+re.After.String()) {
			t.Errorf("message %q does not say when to try again", re)
		}
		waits = append(waits, re.After)
		f.clock.Advance(re.After)
	}
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	if !slices.Equal(waits, want) {
		t.Errorf("lockouts = %v, want %v", waits, want)
	}
	f.clock.Advance(10 * time.Second)
	if _, err := f.s.Authenticate(testCtx, AdminName, f.adminPassword, "", attacker); err != nil {
		t.Errorf("the right password once the lockout ended: %v", err)
	}
	for range 3 { // a success starts the count afresh
		if _, err := f.s.Authenticate(testCtx, AdminName, "wrong guess", "", attacker); !isKind(err, fault.Unauthorized) {
			t.Errorf("a failure after a success: %v, want a plain login failure", err)
		}
	}
}

func TestProbe08AdminClearsALockout(t *testing.T) {
	f := newFixture(t)
	f.project("dev")
	f.user("ada", "correct horse", "dev", RoleMember)
	lockOut(t, f, "ada", attacker)
	if err := f.s.Unlock(testCtx, "ada"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Authenticate(testCtx, "ada", "correct horse", "", attacker); err != nil {
		t.Errorf("after the admin cleared the lockout: %v", err)
	}
	wantKind(t, "Unlock of an unknown user", f.s.Unlock(testCtx, "nobody"), fault.NotFound, nil)
}

// A user is one user however it is named: its ID and its name share one lockout.
func TestProbe08NameAndIDShareALockout(t *testing.T) {
	f := newFixture(t)
	f.project("dev")
	ada := f.user("ada", "correct horse", "dev", RoleMember)
	lockOut(t, f, "ada", attacker)
	_, err := f.s.Authenticate(testCtx, ada.ID, "correct horse", "", attacker)
	wantKind(t, "by ID from the locked-out address", err, fault.TooManyRequests, ErrTooManyRequests)
}

// Many addresses guessing one user's password hit a per-user ceiling; an address that has not
// failed for that user is never refused by it, so the real user still gets in.
func TestProbe08DistributedGuessingHitsTheUserCeilingNotTheRealUser(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.UserLogins = LoginLimit{Burst: 5, Every: time.Hour} })
	var ceiling int
	for i := range 10 {
		addr := "203.0.113." + string(rune('0'+i))
		for range 2 { // the first guess of a fresh address is not counted against the ceiling
			_, err := f.s.Authenticate(testCtx, AdminName, "wrong guess", "", addr)
			var re *RetryError
			if errors.As(err, &re) && strings.Contains(re.Error(), "many addresses") {
				ceiling++
			}
		}
	}
	if ceiling != 5 {
		t.Errorf("%d second guesses refused by the ceiling, want 5 (10 addresses, a ceiling of 5)", ceiling)
	}
	if _, err := f.s.Authenticate(testCtx, AdminName, f.adminPassword, "", elsewhere); err != nil {
		t.Errorf("the admin from a fresh address while the ceiling is reached: %v", err)
	}
}

// Guesses sent in parallel count from the moment they start: they cannot outrun the lockout.
func TestProbe08ParallelGuessesCannotOutrunTheLockout(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.s.Authenticate(testCtx, AdminName, "wrong guess", "", attacker)
			if isKind(err, fault.Unauthorized) {
				mu.Lock()
				failed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if failed > DefaultLoginFreeFailures {
		t.Errorf("%d parallel guesses were checked, want at most %d", failed, DefaultLoginFreeFailures)
	}
}

// lockOut fails user's logins from addr until they are throttled.
func lockOut(t *testing.T, f *fixture, user, addr string) {
	t.Helper()
	for range 20 {
		if _, err := f.s.Authenticate(testCtx, user, "wrong guess", "", addr); isKind(err, fault.TooManyRequests) {
			return
		}
	}
	t.Fatalf("20 wrong guesses for %s from %s were never throttled", user, addr)
}
