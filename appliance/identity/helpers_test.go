package identity

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"cloudlet/appliance/fault"
	"cloudlet/internal/testkit"
	"cloudlet/store"
)

var testCtx = context.Background()

// cheapArgon2 keeps tests fast (and -race bearable); the format and the code path are the real ones.
var cheapArgon2 = Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}

// testClock is the injected clock of the catalog and the service.
type testClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a bootstrapped identity service over a real catalog in a temp dir.
type fixture struct {
	t             *testing.T
	s             *Service
	db            *store.DB
	clock         *testClock
	log           *testkit.SyncBuffer
	adminPassword string
}

// newFixture bootstraps admin; tweak adjusts the options first.
func newFixture(t *testing.T, tweak ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: &testClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}, log: &testkit.SyncBuffer{}}
	db := testkit.Catalog(t, "", store.Options{Now: f.clock.Now})
	o := Options{Now: f.clock.Now, Argon2: cheapArgon2, Log: slog.New(slog.NewTextHandler(f.log, nil))}
	for _, fn := range tweak {
		fn(&o)
	}
	var err error
	if f.s, err = NewWithOptions(db, o); err != nil {
		t.Fatal(err)
	}
	f.db = db
	if f.adminPassword, err = f.s.Bootstrap(filepath.Join(t.TempDir(), "admin-password")); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) project(name string) Project {
	f.t.Helper()
	p, err := f.s.CreateProject(testCtx, name, "")
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// user creates an enabled user with password, default project project (if any) and roles on it.
func (f *fixture) user(name, password, project string, roles ...string) User {
	f.t.Helper()
	u, err := f.s.CreateUser(testCtx, UserSpec{Name: name, Password: password, Enabled: true, DefaultProject: project})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, r := range roles {
		if _, err := f.s.Assign(testCtx, name, project, r); err != nil {
			f.t.Fatal(err)
		}
	}
	return u
}

func (f *fixture) login(user, password, project string) Token {
	f.t.Helper()
	tok, err := f.s.Authenticate(testCtx, user, password, project, "192.0.2.1:4242")
	if err != nil {
		f.t.Fatalf("Authenticate(%s, project %q): %v", user, project, err)
	}
	return tok
}

func (f *fixture) resolve(bearer string) Principal {
	f.t.Helper()
	p, err := f.s.Resolve(testCtx, bearer)
	if err != nil {
		f.t.Fatalf("Resolve: %v", err)
	}
	return p
}

// wantKind fails unless err has fault kind k (and, if sentinel is set, matches it).
func wantKind(t *testing.T, what string, err error, k fault.Kind, sentinel error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s succeeded, want a %q error", what, k)
		return
	}
	if got := fault.KindOf(err); got != k {
		t.Errorf("%s = %v (kind %q), want kind %q", what, err, got, k)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Errorf("%s = %v, want it to match %v", what, err, sentinel)
	}
}
