package host

import (
	"strings"
	"testing"
)

// Finding 19: QEMU silently ran as root when cloudlet-qemu was missing. Doctor now fails a
// missing user (the daemon refuses to start) and warns about a root QEMU chosen by name.
func TestProbe19DoctorFlagsRootQEMUAndAMissingUser(t *testing.T) {
	h := healthyHost()
	tests := []struct {
		user    string
		missing bool
		want    Status
		detail  string
	}{
		{"cloudlet-qemu", false, OK, "runs as cloudlet-qemu"},
		{"cloudlet-qemu", true, Fail, "does not exist"},
		{"root", false, Warn, "daemon's privileges"},
	}
	for _, tt := range tests {
		h.noQEMUUser = tt.missing
		c := qemuUserCheck(h.probes(), tt.user)
		if c.Status != tt.want || !strings.Contains(c.Detail, tt.detail) {
			t.Errorf("user %s (missing %v) = %+v, want %s saying %q", tt.user, tt.missing, c, tt.want, tt.detail)
		}
		if c.Status != OK && !strings.Contains(c.Hint, "useradd --system") {
			t.Errorf("user %s: hint %q does not say how to create the user", tt.user, c.Hint)
		}
	}
}
