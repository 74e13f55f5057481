package browser

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/e2e"
	"cloudlet/web/client"
)

var cloudletBin string // built once by TestMain, inside the test's network namespace

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(e2e.RunSuite(m, "browser", &cloudletBin))
}

// The people of a site: admin (password from the data dir), and in project demo a member and a
// reader with sitePassword.
const (
	siteProject  = "demo"
	sitePassword = "browser-test-password-5d1c"
	guestImage   = "tg" // the test guest, public, direct kernel boot: it prints CLOUDLET-GUEST-READY
)

// guestBoot bounds the wait for a test guest to boot and be ready as a page shows it: the e2e
// suite's bootWait (1m30s under TCG on a loaded machine) plus a browser, its chromium and the
// page's own round trips on the same two cores.
const guestBoot = 3 * time.Minute

// site is a real daemon in the test's network namespace with the test guest imported as a public
// image and the people above, for a browser to use.
type site struct {
	t             *testing.T
	d             *e2e.Daemon
	scheme        string // http, or https when the daemon serves TLS
	adminPassword string
}

// newSite starts a daemon (extra serve flags allowed) and prepares it.
func newSite(t *testing.T, extra ...string) *site {
	t.Helper()
	return startSite(t, e2e.NewDaemon(t, cloudletBin), "http", extra...)
}

// startSite starts daemon d, which serves scheme (https when it listens off loopback), and
// prepares it.
func startSite(t *testing.T, d *e2e.Daemon, scheme string, extra ...string) *site {
	t.Helper()
	d.Start(t, extra...)
	d.WaitReady(t)
	pw, err := os.ReadFile(filepath.Join(d.DataDir, "admin-password"))
	if err != nil {
		t.Fatalf("admin password: %v", err)
	}
	s := &site{t: t, d: d, scheme: scheme, adminPassword: strings.TrimSpace(string(pw))}
	e2e.ImportTestGuest(t, d, guestImage)
	e2e.AddPeople(t, d, siteProject, sitePassword)
	return s
}

// url is the site's address of path.
func (s *site) url(path string) string { return s.scheme + "://" + s.d.Listen + path }

// root calls the API as root over the unix socket (admin, admin project), for setup and checks.
func (s *site) root(method, path string, in, out any) {
	s.t.Helper()
	s.d.Root(s.t, method, path, in, out)
}

// as calls the API as user of project demo over the socket with a token of theirs: setup done as
// the user, so what it makes belongs to them.
func (s *site) as(user string) *client.Client {
	s.t.Helper()
	return s.d.As(s.t, user, sitePassword, siteProject)
}
