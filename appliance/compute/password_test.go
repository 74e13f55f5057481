package compute

import (
	"os/exec"
	"strings"
	"testing"
)

// The vector of Drepper's specification with the default rounds; the next test compares with what
// openssl passwd -6 (glibc's crypt) gives, so the hash is what chpasswd -e in a guest checks against.
func TestSHA512CryptMatchesTheSpecificationsVector(t *testing.T) {
	for _, c := range []struct{ password, salt, want string }{
		{"Hello world!", "saltstring", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
	} {
		if got := sha512Crypt([]byte(c.password), []byte(c.salt)); got != c.want {
			t.Errorf("sha512Crypt(%q, %q) = %s; want %s", c.password, c.salt, got, c.want)
		}
	}
}

func TestAPasswordHashIsSaltedSHA512CryptThatOpenSSLAgreesWith(t *testing.T) {
	h1, h2 := hashPassword("correct horse"), hashPassword("correct horse")
	if h1 == h2 || !strings.HasPrefix(h1, "$6$") || len(strings.Split(h1, "$")[2]) != 16 {
		t.Fatalf("hashes %s and %s: want two $6$ hashes with different 16-character salts", h1, h2)
	}
	salt := strings.Split(h1, "$")[2]
	out, err := exec.Command("openssl", "passwd", "-6", "-salt", salt, "correct horse").Output()
	if err != nil {
		t.Fatalf("openssl passwd: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != h1 {
		t.Errorf("openssl passwd -6 = %s; cloudlet hashed %s", got, h1)
	}
}

// PasswordMatches accepts a password against its own hash and nothing else: not another password, not
// a locked ("!") or truncated hash, not a hash with other rounds.
func TestPasswordMatchesOnlyThePasswordOfTheHash(t *testing.T) {
	hash := hashPassword("correct horse")
	if !PasswordMatches("correct horse", hash) {
		t.Fatalf("PasswordMatches(the password, %s) = false", hash)
	}
	for _, tt := range []struct{ password, hash string }{
		{"correct horsE", hash},
		{"correct horse", "!" + hash},
		{"correct horse", hash[:len(hash)-1]},
		{"correct horse", strings.Replace(hash, "$6$", "$6$rounds=5000$", 1)},
		{"correct horse", "$5$" + strings.TrimPrefix(hash, "$6$")},
		{"", ""},
	} {
		if PasswordMatches(tt.password, tt.hash) {
			t.Errorf("PasswordMatches(%q, %q) = true, want false", tt.password, tt.hash)
		}
	}
}
