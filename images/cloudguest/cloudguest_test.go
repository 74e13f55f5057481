package cloudguest_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"cloudlet/images/cloudguest"
	"cloudlet/images/cloudguest/plaintest"
	"cloudlet/internal/testkit"
)

const (
	// buildTimeout bounds the first build: debootstrap downloads about 150 MB and installs ~250 packages.
	buildTimeout = 25 * time.Minute
	// bootTimeout bounds QEMU start → report line under TCG: about 73 s on a quiet machine; 4½ to 5 min
	// measured with the 2-core machine at load 10 (several QEMUs and builds at once, as in make test). Twice
	// the loaded figure, so only a guest that is stuck fails.
	bootTimeout = 10 * time.Minute
)

// TestMain runs the tests in a private network namespace: the plain boot makes a bridge, a tap and dnsmasq.
func TestMain(m *testing.M) {
	os.Exit(testkit.RunInNetns(m, testkit.Netns{Name: "cloudguest", ShortHere: true}))
}

const key0 = "a1b2c3d4e5f60718293a4b5c6d7e8f900112233445566778899aabbccddeeff0"

func TestParseReportReadsEveryField(t *testing.T) {
	tests := []struct {
		line string
		want cloudguest.Report
	}{
		{
			line: "CLOUDLET-CLOUDINIT-REPORT hostname=cg1 keys=2 key0=" + key0 + " runcmd=ran_ok datasource=NoCloud errors=0 ip=10.213.1.100 pw=$6$salt$hash",
			want: cloudguest.Report{Hostname: "cg1", Keys: 2, Key0: key0, Runcmd: "ran_ok", Datasource: "NoCloud", IP: "10.213.1.100",
				Password: "$6$salt$hash"},
		},
		{
			line: "[  70.1] noise CLOUDLET-CLOUDINIT-REPORT ip=none pw=- errors=1 datasource=none runcmd=- key0=- keys=0 hostname=debian\r",
			want: cloudguest.Report{Hostname: "debian", Errors: 1},
		},
		{
			line: "CLOUDLET-CLOUDINIT-REPORT hostname=a keys=1 key0=" + key0 + " runcmd= datasource=OpenStackLocal errors=0 ip=192.168.0.5 pw=! later=x",
			want: cloudguest.Report{Hostname: "a", Keys: 1, Key0: key0, Datasource: "OpenStackLocal", IP: "192.168.0.5", Password: "!"},
		},
	}
	for _, tt := range tests {
		got, ok := cloudguest.ParseReport(tt.line)
		if !ok {
			t.Errorf("ParseReport(%q) = false, want a report", tt.line)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseReport(%q) mismatch (-want +got):\n%s", tt.line, diff)
		}
	}
}

func TestParseReportRejectsMalformedLines(t *testing.T) {
	good := map[string]string{"hostname": "h", "keys": "1", "key0": key0, "runcmd": "-", "datasource": "NoCloud", "errors": "0", "ip": "10.0.0.2", "pw": "-"}
	line := func(change map[string]string) string {
		var b strings.Builder
		b.WriteString(cloudguest.Marker)
		for _, k := range []string{"hostname", "keys", "key0", "runcmd", "datasource", "errors", "ip", "pw"} {
			v, changed := change[k]
			if !changed {
				v = good[k]
			} else if v == "<absent>" {
				continue
			}
			b.WriteString(" " + k + "=" + v)
		}
		return b.String()
	}
	if _, ok := cloudguest.ParseReport(line(nil)); !ok {
		t.Fatalf("ParseReport(%q) = false for the unchanged line", line(nil))
	}
	bad := map[string]string{
		"no marker":              "CLOUDLET-GUEST-READY hostname=h ip=10.0.0.2",
		"marker glued to a word": strings.Replace(line(nil), cloudguest.Marker+" ", cloudguest.Marker+"X ", 1),
		"empty":                  "",
		"no hostname field":      line(map[string]string{"hostname": "<absent>"}),
		"empty hostname":         line(map[string]string{"hostname": ""}),
		"keys not a number":      line(map[string]string{"keys": "two"}),
		"negative keys":          line(map[string]string{"keys": "-1"}),
		"keys but no key0":       line(map[string]string{"key0": "-"}),
		"key0 but no keys":       line(map[string]string{"keys": "0"}),
		"key0 not sha256":        line(map[string]string{"key0": "abc"}),
		"key0 upper case":        line(map[string]string{"key0": strings.ToUpper(key0)}),
		"no runcmd field":        line(map[string]string{"runcmd": "<absent>"}),
		"no datasource field":    line(map[string]string{"datasource": "<absent>"}),
		"errors not a number":    line(map[string]string{"errors": "x"}),
		"ip v6":                  line(map[string]string{"ip": "fe80::1"}),
		"ip truncated":           line(map[string]string{"ip": "10.0.0"}),
		"no ip field":            line(map[string]string{"ip": "<absent>"}),
		"no pw field":            line(map[string]string{"pw": "<absent>"}),
	}
	for name, l := range bad {
		if r, ok := cloudguest.ParseReport(l); ok {
			t.Errorf("%s: ParseReport(%q) = %+v, true; want false", name, l, r)
		}
	}
}

func TestKeyHashIsTheSHA256OfTheLineWithoutItsLineEnd(t *testing.T) {
	// What `printf '%s' 'ssh-ed25519 AAAA k@test' | sha256sum` prints, as report.sh computes key0.
	const want = "9c699b5c4f17f4fd257ab4ac018b7aab15948cf6b5a2bcf74d3b671defc9fa3c"
	for _, line := range []string{"ssh-ed25519 AAAA k@test", "ssh-ed25519 AAAA k@test\n", "ssh-ed25519 AAAA k@test\r\n"} {
		if got := cloudguest.KeyHash(line); got != want {
			t.Errorf("KeyHash(%q) = %s, want %s", line, got, want)
		}
	}
}

// TestCloudGuestBootsUnderPlainQEMUWithANoCloudSeed boots the real cloud-init guest under plain QEMU with a
// NoCloud seed ISO (written with kdomanski/iso9660) and dnsmasq, and checks that cloud-init read meta-data
// and user-data from it by their exact names and applied them: the hostname, both keys for the default
// user, the runcmd, and a DHCP lease from dnsmasq.
func TestCloudGuestBootsUnderPlainQEMUWithANoCloudSeed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and boots the cloud-init guest; skipped in -short mode")
	}
	paths := ensureGuest(t)
	keys := []string{newAuthorizedKey(t, "one@cloudlet-test"), newAuthorizedKey(t, "two@cloudlet-test")}
	userData := "#cloud-config\n" +
		"ssh_authorized_keys:\n  - " + keys[0] + "\n  - " + keys[1] + "\n" +
		"runcmd:\n  - [sh, -c, 'echo plain-seed-runcmd > " + cloudguest.RuncmdFile + "']\n"
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	res, err := plaintest.Boot(ctx, t, plaintest.Options{Paths: paths, Seed: map[string]string{
		"meta-data": "instance-id: iid-plain-1\nlocal-hostname: cg-plain\n",
		"user-data": userData,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s after %v (QEMU start to the report line, TCG)", res.Line, res.Elapsed.Round(time.Millisecond))

	// cloud-init writes the keys from a Python set: their order varies from boot to boot, so key0 is the
	// hash of either.
	key0 := cloudguest.KeyHash(keys[0])
	if res.Report.Key0 == cloudguest.KeyHash(keys[1]) {
		key0 = res.Report.Key0
	}
	want := cloudguest.Report{Hostname: "cg-plain", Keys: 2, Key0: key0,
		Runcmd: "plain-seed-runcmd", Datasource: "NoCloud", IP: res.Report.IP, Password: "!"} // no password given: locked
	if diff := cmp.Diff(want, res.Report); diff != "" {
		t.Errorf("report mismatch (-want +got):\n%s\nconsole:\n%s", diff, res.Console)
	}
	if ip, err := netip.ParseAddr(res.Report.IP); err != nil || ip.Less(res.First) || res.Last.Less(ip) {
		t.Errorf("ip = %q, want an address in dnsmasq's range %v-%v", res.Report.IP, res.First, res.Last)
	}
}

func ensureGuest(t *testing.T) cloudguest.Paths {
	t.Helper()
	dir, err := cloudguest.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	start := time.Now()
	paths, err := cloudguest.Ensure(ctx, dir)
	if err != nil {
		t.Fatalf("build the cloud-init guest (needs root, Debian apt and debootstrap: packaging/deps.sh test): %v", err)
	}
	t.Logf("cloud-init guest %s ready in %v", paths.Dir, time.Since(start).Round(time.Millisecond))
	return paths
}

// newAuthorizedKey returns a fresh ed25519 public key as one authorized_keys line with comment.
func newAuthorizedKey(t *testing.T, comment string) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " " + comment
}
