package identity

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

func TestPasswordHashIsArgon2idPHC(t *testing.T) {
	f := newFixture(t)
	hash, err := f.s.hashPassword(testCtx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(hash) {
		t.Errorf("hash %q is not an argon2id PHC string with the configured cost", hash)
	}
	again, _ := f.s.hashPassword(testCtx, "correct horse")
	if again == hash {
		t.Error("two hashes of one password are equal: no salt")
	}
	// A hash keeps its own cost: raising the service's cost does not break existing passwords.
	f.s.argon = Argon2Params{Time: 2, MemoryKiB: 128, Threads: 2}
	for pw, want := range map[string]bool{"correct horse": true, "correct horsE": false, "": false} {
		if got, err := f.s.verifyPassword(testCtx, hash, pw); got != want || err != nil {
			t.Errorf("verify(%q) = %v, %v; want %v", pw, got, err, want)
		}
	}
}

func TestDamagedHashesNeverMatch(t *testing.T) {
	f := newFixture(t)
	good, _ := f.s.hashPassword(testCtx, "correct horse")
	parts := strings.Split(good, "$")
	for _, bad := range []string{
		"",
		"$2a$10$abcdefghijklmnopqrstuu", // bcrypt
		strings.Replace(good, "argon2id", "argon2i", 1),
		strings.Replace(good, "v=19", "v=16", 1),
		strings.Replace(good, parts[3], "m=4194304,t=1,p=1", 1), // 4 GiB
		strings.Replace(good, parts[3], "m=64,t=1000,p=1", 1),
		strings.Replace(good, parts[3], "m=64,t=1,p=0", 1),
		strings.Replace(good, parts[4], "!!", 1),
		good + "$extra",
	} {
		ok, err := f.s.verifyPassword(testCtx, bad, "correct horse")
		if ok || err == nil {
			t.Errorf("verify against %q = %v, %v; want an error", bad, ok, err)
		}
	}
}

func TestVerifyHonoursTheContext(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxConcurrentHashes = 1 })
	hash, _ := f.s.hashPassword(testCtx, "correct horse")
	f.s.hashSlots <- struct{}{} // the only slot is busy
	defer func() { <-f.s.hashSlots }()
	ctx, cancel := context.WithCancel(testCtx)
	cancel()
	if _, err := f.s.verifyPassword(ctx, hash, "correct horse"); err == nil {
		t.Error("verify waited for a slot with a cancelled context")
	}
}
