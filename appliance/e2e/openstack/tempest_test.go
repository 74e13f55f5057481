package openstack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloudlet/web/client"
)

// tempestBudget bounds one tempest run of the subset: a hang is a failure, not a stalled CI.
const tempestBudget = 20 * time.Minute

// tempestInclude is the subset run: one regex per line as stestr reads them (# starts a comment);
// the tests of services not served yet are listed commented, "# after <area> lands".
const tempestInclude = "testdata/tempest-include.txt"

// TestTempestSubsetPasses: Debian's tempest (33.x) runs the subset of its API tests listed in
// testdata/tempest-include.txt against the daemon, as the demo project's member (pre-provisioned
// credentials: tempest creates no projects), with the test guest as its image and a network of the
// member's as its fixed network. Every listed entry must have run and passed; a failure names each
// failed test with its reason, and a skip is a failure too (the subset holds only tests that the
// features we turn off in tempest.conf do not skip).
func TestTempestSubsetPasses(t *testing.T) {
	bin, err := exec.LookPath("tempest")
	if err != nil {
		t.Fatalf("tempest is not installed (packaging/deps.sh test installs Debian's tempest): %v", err)
	}
	include := readIncludeList(t)
	// tempest logs in afresh for every test class and credential: more than the 30 logins at once
	// that one address gets by default.
	cfg := filepath.Join(t.TempDir(), "cloudlet.json")
	if err := os.WriteFile(cfg, []byte(`{"login_burst_per_address": 1000}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newSite(t, "--config", cfg)
	ws := s.tempestWorkspace(bin)
	start := time.Now()
	results, out := runTempest(t, bin, ws)
	t.Logf("tempest ran %d tests in %s", len(results), time.Since(start).Round(time.Second))
	checkTempestResults(t, include, results, out)
}

// readIncludeList reads the subset's regexes (comments and blank lines dropped).
func readIncludeList(t *testing.T) []*regexp.Regexp {
	t.Helper()
	data, err := os.ReadFile(tempestInclude)
	if err != nil {
		t.Fatalf("read the tempest subset: %v", err)
	}
	var out []*regexp.Regexp
	for _, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		re, err := regexp.Compile(line)
		if err != nil {
			t.Fatalf("%s: %q is not a regex: %v", tempestInclude, line, err)
		}
		out = append(out, re)
	}
	if len(out) == 0 {
		t.Fatalf("%s lists no test", tempestInclude)
	}
	return out
}

// tempestResult is one test's outcome, as testdata/subunit2json.py writes it.
type tempestResult struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// name is the test's id without tempest's [id-…,smoke] attributes.
func (r tempestResult) name() string {
	name, _, _ := strings.Cut(r.ID, "[")
	return name
}

// runTempest runs the subset serially in workspace ws and returns each test's result (read from
// stestr's last run) and tempest's own output, for the failure message.
func runTempest(t *testing.T, bin, ws string) ([]tempestResult, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), tempestBudget)
	defer cancel()
	include, err := filepath.Abs(tempestInclude)
	if err != nil {
		t.Fatal(err)
	}
	run := tempestCmd(ctx, ws, bin, "run", "--serial", "--include-list", include)
	out, runErr := run.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("tempest run did not end within %s:\n%s", tempestBudget, tail(out, 4000))
	}
	stream, err := tempestCmd(ctx, ws, "stestr", "last", "--subunit").Output()
	if err != nil {
		t.Fatalf("stestr last --subunit (tempest run: %v): %v\n%s", runErr, err, tail(out, 4000))
	}
	conv := tempestCmd(ctx, ws, "/usr/bin/python3", mustAbs(t, "testdata/subunit2json.py"))
	conv.Stdin = bytes.NewReader(stream)
	lines, err := conv.Output()
	if err != nil {
		t.Fatalf("read tempest's results: %v", err)
	}
	var results []tempestResult
	sc := bufio.NewScanner(bytes.NewReader(lines))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r tempestResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("tempest result %q: %v", sc.Text(), err)
		}
		results = append(results, r)
	}
	return results, string(out)
}

// tempestCmd is a command run in workspace ws with its configuration, a HOME and TMPDIR in it
// (tempest records workspaces in HOME), no bytecode written beside Debian's modules, and Debian's
// python (stestr starts the workers with it). It runs in a process group of its own, all of which
// the context's end kills: stestr's workers too.
func tempestCmd(ctx context.Context, ws, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Dir = ws
	cmd.Env = []string{"HOME=" + ws, "TMPDIR=" + ws, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
		"PYTHONDONTWRITEBYTECODE=1", "PYTHON=/usr/bin/python3", "TEMPEST_CONFIG_DIR=" + filepath.Join(ws, "etc"),
		"TEMPEST_CONFIG=tempest.conf", "OS_LOG_CAPTURE=1", "OS_STDOUT_CAPTURE=1", "OS_STDERR_CAPTURE=1"}
	return cmd
}

// checkTempestResults fails the test for every listed entry that no passing test matched, and for
// every test that did not pass (a skip included), naming it with its reason.
func checkTempestResults(t *testing.T, include []*regexp.Regexp, results []tempestResult, out string) {
	t.Helper()
	passed := 0
	for _, r := range results {
		if r.Status == "success" {
			passed++
			continue
		}
		t.Errorf("tempest %s: %s\n%s", r.Status, r.name(), tail([]byte(r.Reason), 3000))
	}
	for _, re := range include {
		if !anyPassed(re, results) {
			t.Errorf("tempest: no passing test matches %q of %s", re, tempestInclude)
		}
	}
	t.Logf("tempest: %d passed, %d not passed, of %d listed entries", passed, len(results)-passed, len(include))
	if t.Failed() {
		t.Logf("tempest's output (tail):\n%s", tail([]byte(out), 3000))
	}
}

// anyPassed reports whether a passing test's id matches re.
func anyPassed(re *regexp.Regexp, results []tempestResult) bool {
	for _, r := range results {
		if r.Status == "success" && re.MatchString(r.ID) {
			return true
		}
	}
	return false
}

// tail is the last n bytes of b.
func tail(b []byte, n int) string {
	if len(b) > n {
		return "…" + string(b[len(b)-n:])
	}
	return string(b)
}

func mustAbs(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// tempestWorkspace makes a tempest workspace under the test's temp dir (tempest init) and writes its
// tempest.conf and accounts.yaml for this site.
func (s *site) tempestWorkspace(bin string) string {
	s.t.Helper()
	ws := filepath.Join(s.t.TempDir(), "tempest")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := tempestCmd(ctx, filepath.Dir(ws), bin, "init", ws).CombinedOutput(); err != nil {
		s.t.Fatalf("tempest init: %v\n%s", err, out)
	}
	accounts := filepath.Join(ws, "etc", "accounts.yaml")
	write := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			s.t.Fatalf("write %s: %v", path, err)
		}
	}
	write(accounts, s.tempestAccounts())
	write(filepath.Join(ws, "etc", "tempest.conf"), s.tempestConf(ws, accounts))
	return ws
}

// tempestAccount is one pre-provisioned account: a member of its project, with a network of its own
// there named tempestNetwork (tempest boots its servers on it: [compute] fixed_network_name and the
// account's network resource). The CIDRs lie outside project_network_cidr, where tempest's network
// tests make theirs.
type tempestAccount struct{ user, project, cidr string }

// tempestNetwork is the name of each account's network.
const tempestNetwork = "private"

// tempestAccountsList: the demo member (primary) and a member of another project (alt: tempest checks
// that the primary cannot scope to its project).
var tempestAccountsList = []tempestAccount{
	{"member", siteProject, "10.99.0.0/24"},
	{"altmember", "tempest-alt", "10.99.1.0/24"},
}

// tempestAccounts makes the accounts' people and networks (the alt project and its member; demo's
// member exists) and returns accounts.yaml.
func (s *site) tempestAccounts() string {
	s.t.Helper()
	var yaml strings.Builder
	for _, a := range tempestAccountsList {
		if a.project != siteProject {
			s.root("POST", "/api/v1/projects", map[string]string{"name": a.project}, nil)
			s.root("POST", "/api/v1/users", map[string]any{"name": a.user, "password": sitePassword,
				"default_project": a.project}, nil)
			s.root("PUT", "/api/v1/projects/"+a.project+"/users/"+a.user+"/roles/member", nil, nil)
		}
		var tok struct{ Token string }
		s.root("POST", "/api/v1/auth/tokens", map[string]string{"username": a.user, "password": sitePassword,
			"project": a.project}, &tok)
		api := client.New(client.Options{Socket: s.d.Socket, Token: tok.Token, Timeout: time.Minute})
		if err := api.Do(context.Background(), "POST", "/api/v1/networks", map[string]any{"name": tempestNetwork,
			"subnet": map[string]any{"cidr": a.cidr}}, nil); err != nil {
			s.t.Fatalf("create %s's network %s: %v", a.user, tempestNetwork, err)
		}
		fmt.Fprintf(&yaml, "- username: %s\n  project_name: %s\n  password: %q\n  domain_name: Default\n"+
			"  roles: [member]\n  resources:\n    network: %s\n", a.user, a.project, sitePassword, tempestNetwork)
	}
	return yaml.String()
}

// tempestConf is tempest.conf for this site (research/openstack-api.md §9): pre-provisioned
// credentials, no validation over SSH, Nova and Cinder pinned at 2.1 and 3.0, the test guest as
// image, m1.tiny and m1.small as flavors, and every feature cloudlet lacks turned off. Images tempest
// makes are raw (the first disk format): it uploads random bytes as their file.
func (s *site) tempestConf(ws, accounts string) string {
	s.t.Helper()
	var img, tiny, small struct{ ID string }
	s.root("GET", "/api/v1/images/"+guestImage, nil, &img)
	s.root("GET", "/api/v1/flavors/m1.tiny", nil, &tiny)
	s.root("GET", "/api/v1/flavors/m1.small", nil, &small)
	return fmt.Sprintf(`[DEFAULT]
log_dir = %[1]s/logs
log_file = tempest.log

[oslo_concurrency]
lock_path = %[1]s/tempest_lock

[auth]
use_dynamic_credentials = false
test_accounts_file = %[2]s
create_isolated_networks = false

[identity]
uri_v3 = http://%[3]s/identity/v3
auth_version = v3
region = RegionOne

[identity-feature-enabled]
api_v2 = false
trust = false
application_credentials = false
project_tags = false
access_rules = false

[service_available]
nova = true
glance = true
neutron = true
cinder = true
swift = false
horizon = false

[compute]
image_ref = %[4]s
image_ref_alt = %[4]s
flavor_ref = %[5]s
flavor_ref_alt = %[6]s
fixed_network_name = %[7]s
min_microversion = 2.1
max_microversion = 2.1

[compute-feature-enabled]
resize = false
shelve = false
rescue = false
snapshot = false
console_output = false
interface_attach = false
change_password = false
live_migration = false
cold_migration = false
metadata_service = false
config_drive = false
personality = false
attach_encrypted_volume = false
pause = true
suspend = true
scheduler_enabled_filters =

[validation]
run_validation = false

[image]
container_formats = bare
disk_formats = raw,qcow2

[image-feature-enabled]
api_v2 = true
api_v1 = false
import_image = false

[network]
project_network_cidr = 10.100.0.0/16
floating_network_name = public

[network-feature-enabled]
ipv6 = false
api_extensions = security-group,external-net,router,quotas

[volume]
catalog_type = volumev3
min_microversion = 3.0
max_microversion = 3.0
volume_size = 1

[volume-feature-enabled]
backup = false
snapshot = false
clone = false
api_extensions =
`, ws, accounts, s.d.Listen, img.ID, tiny.ID, small.ID, tempestNetwork)
}
