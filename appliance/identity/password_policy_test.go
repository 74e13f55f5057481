package identity

import (
	"strings"
	"testing"

	"cloudlet/appliance/fault"
)

// Finding 15: only a length rule, so `password` was accepted. Now each known, repetitive,
// sequential or context-derived password is refused with a 400 that says which rule, on create and
// on change alike; long phrases of one's own pass, whatever their characters.
func TestProbe15WeakPasswordsAreRefusedSayingWhy(t *testing.T) {
	f := newFixture(t)
	f.project("dev")
	f.user("margaret", "correct horse", "dev", RoleMember)
	tests := []struct{ password, why string }{
		{"PassWord", "most used"}, // compared without case
		{"Password1", "most used"},
		{"iloveyou", "most used"},
		{"qwertyuiop", "most used"},
		{"bbbbbbbbb", "repeats"},
		{"xqxqxqxqxqxq", "repeats"},
		{"q7#zq7#zq7#z", "repeats"},
		{"23456789", "sequence"},
		{"zyxwvuts", "sequence"},
		{"Margaret2024", "user name"},
		{"2024!margaret", "user name"},
		{"cloudlet1", "cloudlet"},
		{"My-Cloudlet!", "cloudlet"},
		{"1234567", "too short"},
	}
	for _, tt := range tests {
		t.Run(tt.password, func(t *testing.T) {
			// The password is checked before the name is looked up: creating margaret again
			// answers the password's 400 first.
			_, err := f.s.CreateUser(testCtx, UserSpec{Name: "margaret", Password: tt.password, Enabled: true})
			wantWhy(t, "CreateUser", err, tt.why, tt.password)
			_, err = f.s.UpdateUser(testCtx, "margaret", UserUpdate{Password: ptr(tt.password)})
			wantWhy(t, "UpdateUser", err, tt.why, tt.password)
		})
	}
	for _, good := range []string{"correct horse", "margaret likes long walks", "a cloudlet on every desk", "äöüßéèçñ", "Tr0ub4dor&3x"} {
		if _, err := f.s.UpdateUser(testCtx, "margaret", UserUpdate{Password: ptr(good)}); err != nil {
			t.Errorf("password %q refused: %v", good, err)
		}
	}
	if _, err := f.s.CreateUser(testCtx, UserSpec{Name: "rosalind", Password: "Margaret2024"}); err != nil {
		t.Errorf("another user's name is no context of this one: %v", err)
	}
}

func wantWhy(t *testing.T, what string, err error, why, password string) {
	t.Helper()
	wantKind(t, what, err, fault.Invalid, ErrInvalid)
	if err == nil {
		return
	}
	if !strings.Contains(err.Error(), why) {
		t.Errorf("%s: message %q does not say %q", what, err, why)
	}
	if strings.Contains(err.Error(), password) {
		t.Errorf("%s: message %q repeats the password", what, err)
	}
}

// The generated passwords (the first admin's, reset ones) pass the policy they are checked by.
func TestProbe15GeneratedPasswordsPassThePolicy(t *testing.T) {
	f := newFixture(t)
	if err := checkPassword(f.adminPassword, AdminName); err != nil {
		t.Errorf("the first admin's password: %v", err)
	}
	for range 2000 {
		pw, err := randomPassword(adminPasswordLen)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkPassword(pw, AdminName); err != nil {
			t.Fatalf("generated password refused: %v", err)
		}
	}
	f.user("ada", "correct horse", "admin", RoleMember)
	pw, err := f.s.ResetPassword(testCtx, "ada")
	if err != nil || checkPassword(pw, "ada") != nil {
		t.Errorf("ResetPassword = %v; policy says %v", err, checkPassword(pw, "ada"))
	}
}

func TestCommonPasswordListIsEmbedded(t *testing.T) {
	list := commonPasswords()
	if len(list) < 10000 || !list["password"] || !list["12345678"] {
		t.Errorf("embedded list has %d passwords, want the 11,611 of zxcvbn's with 8 characters or more", len(list))
	}
	for p := range list {
		if strings.HasPrefix(p, "#") || len([]rune(p)) < MinPasswordLen || p != strings.ToLower(p) {
			t.Errorf("list entry %q: want lower-case passwords of at least %d characters, no comments", p, MinPasswordLen)
		}
	}
}
