package openstack

import (
	"context"
	"flag"
	"os"
	"os/exec"
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
	os.Exit(e2e.RunSuite(m, "osapi", &cloudletBin))
}

// The people of a site: admin (password from the data dir, project admin), and in project demo a
// member and a reader with sitePassword.
const (
	siteProject  = "demo"
	sitePassword = "openstack-test-password-7e2a"
	guestImage   = "tg" // the test guest, public, direct kernel boot: it prints CLOUDLET-GUEST-READY
)

// guestBoot bounds the wait for a test guest to boot under TCG on a loaded machine (the e2e suite's
// bootWait) plus the CLI's own polling.
const guestBoot = 3 * time.Minute

// site is a real daemon in the test's network namespace with the test guest imported as a public
// image and the people above, for OpenStack clients to use.
type site struct {
	t             *testing.T
	d             *e2e.Daemon
	adminPassword string
}

// newSite starts a daemon (extra serve flags allowed) and prepares it.
func newSite(t *testing.T, extra ...string) *site {
	t.Helper()
	d := e2e.NewDaemon(t, cloudletBin)
	d.Start(t, extra...)
	d.WaitReady(t)
	pw, err := os.ReadFile(filepath.Join(d.DataDir, "admin-password"))
	if err != nil {
		t.Fatalf("admin password: %v", err)
	}
	s := &site{t: t, d: d, adminPassword: strings.TrimSpace(string(pw))}
	e2e.ImportTestGuest(t, d, guestImage)
	e2e.AddPeople(t, d, siteProject, sitePassword)
	return s
}

// authURL is Keystone's v3 address, as a clouds.yaml would name it.
func (s *site) authURL() string { return "http://" + s.d.Listen + "/identity/v3" }

// root calls the API as root over the unix socket (admin, admin project), for setup and checks.
func (s *site) root(method, path string, in, out any) {
	s.t.Helper()
	s.d.Root(s.t, method, path, in, out)
}

// as calls /api/v1 as user of project demo with a token of theirs: checks see what that user sees.
func (s *site) as(user string) *client.Client {
	s.t.Helper()
	return s.d.As(s.t, user, sitePassword, siteProject)
}

// password is user's password: the admin's from the data dir, everyone else's sitePassword.
func (s *site) password(user string) string {
	if user == "admin" {
		return s.adminPassword
	}
	return sitePassword
}

// project is user's project: admin's own, everyone else's demo.
func (s *site) project(user string) string {
	if user == "admin" {
		return "admin"
	}
	return siteProject
}

// cli runs Debian's openstack CLI (python3-openstackclient, installed by packaging/deps.sh test) as
// user against the site's Keystone, with a fresh HOME (no clouds.yaml of the host's), and returns its
// stdout; a failure ends the test with its stderr.
func (s *site) cli(user string, args ...string) string {
	s.t.Helper()
	out, stderr, err := s.tryCLI(user, args...)
	if err != nil {
		s.t.Fatalf("openstack %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// tryCLI runs the openstack CLI as cli does and returns its stdout, stderr and error (bad input's
// tests read the refusal).
func (s *site) tryCLI(user string, args ...string) (string, string, error) {
	s.t.Helper()
	path, err := exec.LookPath("openstack")
	if err != nil {
		s.t.Fatalf("the openstack CLI is not installed (packaging/deps.sh test installs python3-openstackclient): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), guestBoot+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append([]string{"--os-auth-url", s.authURL(),
		"--os-identity-api-version", "3", "--os-username", user, "--os-password", s.password(user),
		"--os-project-name", s.project(user), "--os-user-domain-name", "Default",
		"--os-project-domain-name", "Default", "--os-region-name", "RegionOne"}, args...)...)
	cmd.Env = []string{"HOME=" + s.t.TempDir(), "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	return string(out), stderr.String(), err
}
