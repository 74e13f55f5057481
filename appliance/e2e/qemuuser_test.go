package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/host"
)

// Finding 19 against the real binary: a QEMU user that does not exist stops the daemon with one
// line saying how to create it or how to choose root; doctor fails it, and warns about root.
func TestProbe19MissingQEMUUserStopsTheDaemonAndDoctorSaysSo(t *testing.T) {
	d := NewDaemon(t, cloudletBin)
	d.Start(t, "--qemu-user", "cloudlet-nosuchuser")
	err, exited := d.Wait(15 * time.Second)
	if !exited || err == nil {
		t.Fatalf("daemon with a missing QEMU user: exited=%v err=%v", exited, err)
	}
	lines := strings.Split(strings.TrimSpace(d.Stderr()), "\n")
	last := lines[len(lines)-1]
	for _, want := range []string{"cloudlet-nosuchuser does not exist", "useradd --system", "--qemu-user root"} {
		if !strings.Contains(last, want) {
			t.Errorf("error line %q does not say %q", last, want)
		}
	}

	for _, tt := range []struct {
		user string
		want host.Status
	}{{"cloudlet-nosuchuser", host.Fail}, {"root", host.Warn}, {"cloudlet-qemu", host.OK}} {
		out, errOut, code := cli(t, "doctor", "--data-dir", t.TempDir(), "--listen", FreePort(t), "--qemu-user", tt.user, "-o", "json")
		var checks []host.Check
		if err := json.Unmarshal([]byte(out), &checks); err != nil {
			t.Fatalf("doctor -o json = %d %q %q: %v", code, out, errOut, err)
		}
		for _, c := range checks {
			if c.Name == "QEMU user" && c.Status != tt.want {
				t.Errorf("doctor with qemu_user %s: %+v, want %s", tt.user, c, tt.want)
			}
		}
		if tt.want == host.Fail && code == 0 {
			t.Errorf("doctor with a missing QEMU user exited 0")
		}
	}
}
