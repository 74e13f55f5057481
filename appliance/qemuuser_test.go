package appliance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Finding 19: QEMU silently ran as root when cloudlet-qemu was missing. Now a configured user that
// does not exist stops the daemon before it makes anything, with one line saying how to create the
// user or how to choose root; root is only ever chosen by name, with a warning.
func TestProbe19MissingQEMUUserRefusesToStart(t *testing.T) {
	cfg := DefaultConfig()
	run, err := os.MkdirTemp("", "clr") // short: run_dir must fit unix socket paths
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(run)
	cfg.DataDir, cfg.RunDir, cfg.QEMUUser = filepath.Join(t.TempDir(), "data"), run, "cloudlet-nosuchuser"
	_, err = New(cfg)
	if err == nil {
		t.Fatal("New with a QEMU user that does not exist succeeded")
	}
	for _, want := range []string{"cloudlet-nosuchuser does not exist", "useradd --system", `qemu_user "root"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q is more than one line", err)
	}
	if _, err := os.Stat(cfg.DataDir); !os.IsNotExist(err) {
		t.Errorf("data dir made before the QEMU user was checked: %v", err)
	}
}

func TestProbe19RootQEMUOnlyByName(t *testing.T) {
	cred, warning, err := qemuCredential("root")
	if cred != nil || err != nil || !strings.Contains(warning, "root") {
		t.Errorf(`qemuCredential("root") = %v, %q, %v; want root with a warning`, cred, warning, err)
	}
	cred, warning, err = qemuCredential("nobody")
	if err != nil || cred == nil || cred.Uid != 65534 || warning != "" {
		t.Errorf(`qemuCredential("nobody") = %+v, %q, %v; want uid 65534`, cred, warning, err)
	}
	cfg := DefaultConfig()
	cfg.QEMUUser = ""
	if err := cfg.Normalize(); err != nil || cfg.QEMUUser != DefaultQEMUUser {
		t.Errorf(`qemu_user "" normalizes to %q (%v), want %q: root only by name`, cfg.QEMUUser, err, DefaultQEMUUser)
	}
}
