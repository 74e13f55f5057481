package openstack

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nativeKeypair is a keypair as /api/v1/keypairs shows it.
type nativeKeypair struct {
	ID, Name, PublicKey, Fingerprint string
}

// keypairsOf lists user's keypairs in cloudlet's own API, by name.
func (s *site) keypairsOf(user string) map[string]nativeKeypair {
	s.t.Helper()
	var list []struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		PublicKey   string `json:"public_key"`
		Fingerprint string `json:"fingerprint"`
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.as(user).Do(ctx, "GET", "/api/v1/keypairs", nil, &list); err != nil {
		s.t.Fatalf("GET /api/v1/keypairs as %s: %v", user, err)
	}
	out := map[string]nativeKeypair{}
	for _, k := range list {
		out[k.Name] = nativeKeypair{ID: k.ID, Name: k.Name, PublicKey: k.PublicKey, Fingerprint: k.Fingerprint}
	}
	return out
}

// TestOpenStackCLIKeypairs: `keypair create` without a key prints a private key that cloudlet
// generated (and does not keep: its public half is in /api/v1), with --public-key imports a file's
// key; `keypair list/show` read them by name; `keypair delete` removes them from /api/v1; a
// duplicate name and an unknown one are refused.
func TestOpenStackCLIKeypairs(t *testing.T) {
	s := newSite(t)
	private := s.cli("member", "keypair", "create", "k1")
	if !strings.Contains(private, "BEGIN OPENSSH PRIVATE KEY") {
		t.Fatalf("keypair create k1 printed %q, want the generated private key", private)
	}
	keyFile := filepath.Join(t.TempDir(), "id")
	if err := os.WriteFile(keyFile, []byte(private), 0o600); err != nil {
		t.Fatal(err)
	}
	derived, err := exec.Command("ssh-keygen", "-y", "-f", keyFile).Output()
	if err != nil {
		t.Fatalf("ssh-keygen -y on the printed private key: %v", err)
	}
	k1 := s.keypairsOf("member")["k1"]
	if k1.ID == "" || !strings.HasPrefix(k1.PublicKey, strings.TrimSpace(string(derived))) {
		t.Fatalf("/api/v1 k1 = %+v, want the public half of the printed key %q", k1, derived)
	}

	pubFile := filepath.Join(t.TempDir(), "k2.pub")
	sshKeygen(t, "-q", "-t", "ed25519", "-N", "", "-C", "e2e@host", "-f", strings.TrimSuffix(pubFile, ".pub"))
	pub, err := os.ReadFile(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Name        string `json:"name"`
		Fingerprint string `json:"fingerprint"`
	}
	if err := json.Unmarshal([]byte(s.cli("member", "keypair", "create", "--public-key", pubFile, "k2", "-f", "json")), &created); err != nil || created.Name != "k2" {
		t.Fatalf("keypair create --public-key: %+v %v", created, err)
	}
	if k2 := s.keypairsOf("member")["k2"]; strings.TrimSpace(string(pub)) != k2.PublicKey {
		t.Fatalf("/api/v1 k2 public key %q, want the file's %q", k2.PublicKey, pub)
	}

	var list []struct {
		Name        string `json:"Name"`
		Fingerprint string `json:"Fingerprint"`
	}
	if err := json.Unmarshal([]byte(s.cli("member", "keypair", "list", "-f", "json")), &list); err != nil || len(list) != 2 ||
		list[0].Name != "k1" || list[1].Name != "k2" || list[1].Fingerprint != created.Fingerprint {
		t.Fatalf("keypair list = %+v (%v), want k1 and k2", list, err)
	}
	var shown struct {
		Name   string `json:"name"`
		UserID string `json:"user_id"`
	}
	if err := json.Unmarshal([]byte(s.cli("member", "keypair", "show", "k2", "-f", "json")), &shown); err != nil || shown.Name != "k2" || shown.UserID == "" {
		t.Fatalf("keypair show k2 = %+v (%v)", shown, err)
	}
	if got := strings.TrimSpace(s.cli("member", "keypair", "show", "--public-key", "k2")); got != strings.TrimSpace(string(pub)) {
		t.Errorf("keypair show --public-key = %q, want %q", got, pub)
	}

	if _, stderr, err := s.tryCLI("member", "keypair", "create", "k1"); err == nil || !strings.Contains(stderr, "409") {
		t.Errorf("a duplicate keypair: %v, stderr %q, want a 409 refusal", err, stderr)
	}
	if _, stderr, err := s.tryCLI("member", "keypair", "show", "nope"); err == nil || !strings.Contains(stderr, "No Keypair found for nope") {
		t.Errorf("an unknown keypair: %v, stderr %q, want not found", err, stderr)
	}

	s.cli("member", "keypair", "delete", "k1", "k2")
	if left := s.keypairsOf("member"); len(left) != 0 {
		t.Errorf("/api/v1 keypairs after delete = %+v, want none", left)
	}
}

// sshKeygen runs ssh-keygen, failing the test with its output on error.
func sshKeygen(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
