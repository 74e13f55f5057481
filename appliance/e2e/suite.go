package e2e

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"cloudlet/images/cloudguest"
	"cloudlet/images/testguest"
	"cloudlet/internal/testkit"
	"cloudlet/web/client"
)

// RunSuite is the TestMain of each end-to-end package (this one, the browser, cloud-init and OpenStack
// suites; go test runs them side by side): under -short it runs nothing (the fast local loop; `make test`
// never passes -short); otherwise it runs the package's tests inside a network namespace of their own
// named name, with the daemon built once into *bin.
func RunSuite(m *testing.M, name string, bin *string) int {
	if testing.Short() {
		fmt.Printf("%s: this end-to-end suite does not run in -short mode\n", name)
		return 0
	}
	return testkit.RunInNetns(m, testkit.Netns{Name: name, Setup: func() (func(), error) {
		dir, err := os.MkdirTemp("", "cloudlet-"+name+"-bin-")
		if err != nil {
			return nil, err
		}
		if *bin, err = BuildBinary(dir); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		return func() { os.RemoveAll(dir) }, nil
	}})
}

// Built is a guest build (or cache lookup) done at most once per test binary, its result shared by
// every test that asks for it.
type Built[T any] struct {
	once sync.Once
	val  T
	err  error
}

// Get runs build once, bounded by limit, and fails t naming what when it failed.
func (b *Built[T]) Get(t testing.TB, what string, limit time.Duration, build func(context.Context) (T, error)) T {
	t.Helper()
	b.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		b.val, b.err = build(ctx)
	})
	if b.err != nil {
		t.Fatalf("%s: %v", what, b.err)
	}
	return b.val
}

var (
	testGuest  Built[testguest.Paths]
	cloudGuest Built[cloudguest.Paths]
)

// GuestPaths returns the test guest's files, built or found cached once per test binary.
func GuestPaths(t testing.TB) testguest.Paths {
	t.Helper()
	return testGuest.Get(t, "test guest", 10*time.Minute, func(ctx context.Context) (testguest.Paths, error) {
		dir, err := testguest.DefaultDir()
		if err != nil {
			return testguest.Paths{}, err
		}
		return testguest.Ensure(ctx, dir)
	})
}

// CloudGuestPaths returns the real cloud-init guest's files (Debian 12 with cloud-init), built or found
// cached once per test binary.
func CloudGuestPaths(t testing.TB) cloudguest.Paths {
	t.Helper()
	return cloudGuest.Get(t, "cloud-init guest (packaging/deps.sh test, make cloudguest)", 25*time.Minute,
		func(ctx context.Context) (cloudguest.Paths, error) {
			dir, err := cloudguest.DefaultDir()
			if err != nil {
				return cloudguest.Paths{}, err
			}
			return cloudguest.Ensure(ctx, dir)
		})
}

// testGuestCmdline boots the test guest on its serial console, printing its uptime every second.
const testGuestCmdline = "console=ttyS0 panic=-1 no_timer_check cloudlet.heartbeat=1"

// ImportTestGuest imports the test guest into d as the public image name (direct kernel boot: it
// prints CLOUDLET-GUEST-READY on its serial console).
func ImportTestGuest(t testing.TB, d *Daemon, name string) {
	t.Helper()
	g := GuestPaths(t)
	ctx, cancel := context.WithTimeout(context.Background(), ImportTimeout)
	defer cancel()
	err := d.ImportClient().Do(ctx, "POST", "/api/v1/images/import-file", map[string]any{"name": name,
		"disk_format": "qcow2", "visibility": "public", "path": d.Importable(t, g.Disk),
		"kernel_path": d.Importable(t, g.Kernel), "initrd_path": d.Importable(t, g.Initrd),
		"cmdline": testGuestCmdline}, nil)
	if err != nil {
		t.Fatalf("import the test guest: %v", err)
	}
}

// Root calls /api/v1 as root over d's socket (admin, admin project), for a test's setup and checks;
// an error ends the test.
func (d *Daemon) Root(t testing.TB, method, path string, in, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.Client().Do(ctx, method, path, in, out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
}

// As is a client of /api/v1 over d's socket acting as user of project with a token of theirs: what
// a test makes through it belongs to them, what it reads is what they see.
func (d *Daemon) As(t testing.TB, user, password, project string) *client.Client {
	t.Helper()
	var tok struct{ Token string }
	d.Root(t, "POST", "/api/v1/auth/tokens", map[string]string{"username": user, "password": password,
		"project": project}, &tok)
	return client.New(client.Options{Socket: d.Socket, Token: tok.Token, Timeout: time.Minute})
}

// AddPeople makes project with a member and a reader (users named for their role) whose password is
// password, as root over d's socket.
func AddPeople(t testing.TB, d *Daemon, project, password string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	do := func(method, path string, in any) {
		if err := d.Client().Do(ctx, method, path, in, nil); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	do("POST", "/api/v1/projects", map[string]string{"name": project})
	for _, role := range []string{"member", "reader"} {
		do("POST", "/api/v1/users", map[string]any{"name": role, "password": password, "default_project": project})
		do("PUT", "/api/v1/projects/"+project+"/users/"+role+"/roles/"+role, nil)
	}
}
