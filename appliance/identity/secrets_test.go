package identity

import (
	"strings"
	"testing"
	"time"
)

// A canary password and the secrets the service hands out appear in no error and no log line,
// whatever field they are passed in by mistake.
func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	const canary = "canary-Pa55w0rd-7f3e9b"
	f := newFixture(t, func(o *Options) { o.UserLogins = LoginLimit{Burst: 1, Every: time.Hour} })
	f.project("dev")
	ada := f.user("ada", "correct horse", "dev", RoleMember)
	tok := f.login("ada", "correct horse", "")
	cred, err := f.s.CreateCredential(testCtx, ada.ID, CredentialSpec{Name: "ci", Project: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{canary, verifierOf(tok.Secret), verifierOf(cred.Secret), f.adminPassword}

	var errs []error
	try := func(err error) { errs = append(errs, err) }
	try(second(f.s.Authenticate(testCtx, "ada", canary, "", "192.0.2.1")))         // wrong password
	try(second(f.s.Authenticate(testCtx, "ada", canary, "", "192.0.2.1")))         // rate limited
	try(second(f.s.Authenticate(testCtx, canary, "x", "", "192.0.2.1")))           // password typed as the name
	try(second(f.s.Authenticate(testCtx, AdminName, f.adminPassword, canary, ""))) // as the project
	try(second(f.s.Resolve(testCtx, canary)))                                      // as a bearer
	try(second(f.s.Resolve(testCtx, tok.Secret+"x")))                              // damaged secrets
	try(second(f.s.Resolve(testCtx, tamper(cred.Secret))))
	try(f.s.RevokeToken(testCtx, "", tok.Secret)) // a secret as an ID
	try(f.s.RevokeCredential(testCtx, ada.ID, cred.Secret))
	try(second(f.s.Credential(testCtx, "", cred.Secret)))
	try(second(f.s.CreateUser(testCtx, UserSpec{Name: "ada", Password: canary})))             // name taken
	try(second(f.s.CreateUser(testCtx, UserSpec{Name: "bob", Password: canary, Email: "x"}))) // bad email
	try(second(f.s.CreateUser(testCtx, UserSpec{Name: "bob", Password: canary[:7]})))         // too short
	try(second(f.s.CreateUser(testCtx, UserSpec{Name: "bob", Password: strings.Repeat(canary, 100)})))
	try(second(f.s.UpdateUser(testCtx, "nobody", UserUpdate{Password: ptr(canary)})))
	try(second(f.s.CreateKeypair(testCtx, KeypairSpec{UserID: ada.ID, Name: "k", PublicKey: canary})))
	try(second(f.s.CreateKeypair(testCtx, KeypairSpec{UserID: ada.ID, Name: "k", PublicKey: "ssh-ed25519 " + canary})))
	if ok, err := f.s.CheckPassword("ada", canary); ok || err != nil {
		t.Errorf("CheckPassword(canary) = %v, %v", ok, err)
	}

	for i, err := range errs {
		if err == nil {
			t.Errorf("attempt %d succeeded, want an error", i)
			continue
		}
		for _, secret := range secrets {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("attempt %d: error %q holds a secret", i, err)
			}
		}
	}
	logs := f.log.String()
	if !strings.Contains(logs, "login refused") {
		t.Fatalf("no login failures logged:\n%s", logs)
	}
	for _, secret := range append(secrets, tok.Secret, cred.Secret) {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds secret %q:\n%s", secret, logs)
		}
	}
}

// tamper changes a secret's last character.
func tamper(secret string) string {
	last := "A"
	if strings.HasSuffix(secret, last) {
		last = "B"
	}
	return secret[:len(secret)-1] + last
}

// verifierOf is the random part of a bearer secret.
func verifierOf(secret string) string { return secret[len(secret)-verifierLen:] }
