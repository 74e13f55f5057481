package identity

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"cloudlet/appliance/fault"
)

// authorizedKey returns the authorized_keys line of a crypto public key.
func authorizedKey(t *testing.T, pub any, comment string) string {
	t.Helper()
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " " + comment
}

func TestImportKeypair(t *testing.T) {
	f := newFixture(t)
	ada := f.user("ada", "correct horse", "admin", RoleMember)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ed := authorizedKey(t, edPub, "ada@laptop")
	tests := []struct {
		name, key string
		wantType  string // "" when refused
		wantMsg   string // part of the refusal
	}{
		{"ed25519", ed, ssh.KeyAlgoED25519, ""},
		{"ed25519 with options and spaces", `  no-pty,command="/bin/true" ` + ed + "\n", ssh.KeyAlgoED25519, ""},
		{"rsa 2048", authorizedKey(t, &rsa2048.PublicKey, "ada"), ssh.KeyAlgoRSA, ""},
		{"ecdsa p256", authorizedKey(t, &p256.PublicKey, "ada"), ssh.KeyAlgoECDSA256, ""},
		{"rsa 1024", authorizedKey(t, &rsa1024.PublicKey, "ada"), "", "1024 bits"},
		{"garbage", "not a key", "", "malformed public key"},
		{"bad base64", "ssh-ed25519 AAAA!!!! ada", "", "malformed public key"},
		{"truncated", ed[:40], "", "malformed public key"},
		{"private key pasted", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n-----END OPENSSH PRIVATE KEY-----", "", "malformed public key"},
		{"two keys", ed + "\n" + authorizedKey(t, &p256.PublicKey, "b"), "", "exactly one"},
		{"huge", strings.Repeat("A", 1<<20), "", "longer than"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "key" + string(rune('a'+i))
			k, err := f.s.CreateKeypair(testCtx, KeypairSpec{UserID: ada.ID, Name: name, PublicKey: tt.key})
			if tt.wantType == "" {
				wantKind(t, "CreateKeypair", err, fault.Invalid, ErrInvalid)
				if err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("message %q does not say %q", err, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			parsed, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.PublicKey))
			if err != nil || k.Type != tt.wantType || k.PrivateKey != "" || k.Name != name || k.UserID != ada.ID {
				t.Fatalf("keypair = %+v (%v), want a %s public key only", k, err, tt.wantType)
			}
			if k.Fingerprint != ssh.FingerprintSHA256(parsed) || !strings.HasPrefix(k.Fingerprint, "SHA256:") {
				t.Errorf("fingerprint %q", k.Fingerprint)
			}
			if strings.Contains(k.PublicKey, "command=") {
				t.Errorf("options kept: %q", k.PublicKey)
			}
		})
	}
}

func TestGenerateKeypair(t *testing.T) {
	f := newFixture(t)
	ada := f.user("ada", "correct horse", "admin", RoleMember)
	k, err := f.s.CreateKeypair(testCtx, KeypairSpec{UserID: ada.ID, Name: "gen"})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(k.PrivateKey))
	if err != nil {
		t.Fatalf("private key does not parse: %v", err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if string(signer.PublicKey().Marshal()) != string(pub.Marshal()) || k.Type != ssh.KeyAlgoED25519 {
		t.Errorf("private key's public half %s does not match %s", ssh.FingerprintSHA256(signer.PublicKey()), k.Fingerprint)
	}
	shown, err := f.s.Keypair(testCtx, ada.ID, "gen")
	if err != nil || shown.PrivateKey != "" || shown.Fingerprint != k.Fingerprint {
		t.Errorf("Keypair(gen) = %+v, %v; want it without the private key", shown, err)
	}
}

func TestKeypairsBelongToTheirUser(t *testing.T) {
	f := newFixture(t)
	ada := f.user("ada", "correct horse", "admin", RoleMember)
	bob := f.user("bob", "bob's password", "admin", RoleMember)
	mk := func(u User, name string) (Keypair, error) {
		return f.s.CreateKeypair(testCtx, KeypairSpec{UserID: u.ID, ProjectID: u.DefaultProjectID, Name: name})
	}
	adas, err := mk(ada, "k")
	if err != nil {
		t.Fatal(err)
	}
	_, err = mk(ada, "k")
	wantKind(t, "a second keypair k of ada", err, fault.Conflict, nil)
	if _, err := mk(bob, "k"); err != nil {
		t.Errorf("bob's keypair k: %v", err)
	}
	_, err = f.s.Keypair(testCtx, bob.ID, adas.ID)
	wantKind(t, "bob reads ada's keypair by ID", err, fault.NotFound, nil)
	wantKind(t, "bob deletes ada's keypair", f.s.DeleteKeypair(testCtx, bob.ID, adas.ID), fault.NotFound, nil)
	if list, err := f.s.Keypairs(testCtx, ada.ID); err != nil || len(list) != 1 || list[0].ID != adas.ID {
		t.Errorf("Keypairs(ada) = %+v, %v", list, err)
	}
	if all, err := f.s.Keypairs(testCtx, ""); err != nil || len(all) != 2 {
		t.Errorf("Keypairs() = %d keypairs, %v; want 2", len(all), err)
	}
	if err := f.s.DeleteKeypair(testCtx, ada.ID, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Keypair(testCtx, ada.ID, "k"); !isKind(err, fault.NotFound) {
		t.Errorf("deleted keypair: %v", err)
	}
	_, err = f.s.CreateKeypair(testCtx, KeypairSpec{UserID: ada.ID, Name: "Bad/Name"})
	wantKind(t, "a bad name", err, fault.Invalid, nil)
	_, err = f.s.CreateKeypair(testCtx, KeypairSpec{UserID: "00000000-0000-4000-8000-000000000000", Name: "x"})
	wantKind(t, "an unknown user's keypair", err, fault.NotFound, nil)
}

func TestKeypairQuotaOfTheRequestsProject(t *testing.T) {
	f := newFixture(t)
	ada := f.user("ada", "correct horse", "admin", RoleMember)
	if _, err := f.s.SetLimits(testCtx, AdminName, map[string]int64{QuotaKeypairs: 1}); err != nil {
		t.Fatal(err)
	}
	spec := KeypairSpec{UserID: ada.ID, ProjectID: ada.DefaultProjectID, Name: "one"}
	if _, err := f.s.CreateKeypair(testCtx, spec); err != nil {
		t.Fatal(err)
	}
	spec.Name = "two"
	_, err := f.s.CreateKeypair(testCtx, spec)
	wantKind(t, "a keypair past the quota", err, fault.Quota, nil)
}
