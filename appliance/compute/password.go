package compute

import (
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"strings"
)

// A password asked for at create is kept only as its SHA-512 crypt hash ("$6$salt$…", glibc's
// sha512_crypt, what chpasswd -e and cloud-init's chpasswd take), with the default 5000 rounds.
// Implemented here from Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512" specification:
// golang.org/x/crypto has no SHA-crypt.

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// hashPassword returns the SHA-512 crypt hash of password with a random 16-character salt.
func hashPassword(password string) string {
	salt := make([]byte, 16)
	for i, b := range rand.Text()[:16] { // 16 base32 characters: all in the crypt alphabet
		salt[i] = byte(b)
	}
	return sha512Crypt([]byte(password), salt)
}

// PasswordMatches reports whether hash, a "$6$salt$…" hash with the default rounds (as hashPassword makes
// it, and as a guest's /etc/shadow holds it once cloud-init has applied it), is the hash of password.
func PasswordMatches(password, hash string) bool {
	rest, ok := strings.CutPrefix(hash, "$6$")
	if !ok {
		return false
	}
	salt, _, ok := strings.Cut(rest, "$")
	if !ok || strings.HasPrefix(salt, "rounds=") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(sha512Crypt([]byte(password), []byte(salt))), []byte(hash)) == 1
}

// sha512Crypt is the "$6$" hash of password with salt (at most 16 bytes used) and 5000 rounds.
func sha512Crypt(password, salt []byte) string {
	if len(salt) > 16 {
		salt = salt[:16]
	}
	c := sha512CryptDigest(password, salt)
	out := []byte("$6$" + string(salt) + "$")
	for i := 0; i < 21; i++ { // the byte order of the specification's b64_from_24bit calls
		a, b, d := order512[3*i], order512[3*i+1], order512[3*i+2]
		out = b64From24(out, c[a], c[b], c[d], 4)
	}
	return string(b64From24(out, 0, 0, c[63], 2))
}

// order512 is the permutation of the digest's bytes in the encoded hash.
var order512 = [63]int{0, 21, 42, 22, 43, 1, 44, 2, 23, 3, 24, 45, 25, 46, 4, 47, 5, 26, 6, 27, 48, 28, 49, 7,
	50, 8, 29, 9, 30, 51, 31, 52, 10, 53, 11, 32, 12, 33, 54, 34, 55, 13, 56, 14, 35, 15, 36, 57, 37, 58, 16,
	59, 17, 38, 18, 39, 60, 40, 61, 19, 62, 20, 41}

func sha512CryptDigest(p, s []byte) []byte {
	b := sum512(p, s, p)
	a := sha512.New()
	a.Write(p)
	a.Write(s)
	for i := len(p); i > 0; i -= 64 {
		a.Write(b[:min(i, 64)])
	}
	for i := len(p); i > 0; i >>= 1 {
		if i&1 != 0 {
			a.Write(b)
		} else {
			a.Write(p)
		}
	}
	c := a.Sum(nil)
	pseq := repeatTo(sum512(repeat(p, len(p))...), len(p))
	sseq := repeatTo(sum512(repeat(s, 16+int(c[0]))...), len(s))
	for r := 0; r < 5000; r++ {
		h := sha512.New()
		h.Write(pick(r&1 != 0, pseq, c))
		if r%3 != 0 {
			h.Write(sseq)
		}
		if r%7 != 0 {
			h.Write(pseq)
		}
		h.Write(pick(r&1 != 0, c, pseq))
		c = h.Sum(nil)
	}
	return c
}

func sum512(parts ...[]byte) []byte {
	h := sha512.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func repeat(b []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// repeatTo is n bytes of d repeated.
func repeatTo(d []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, d[:min(len(d), n-len(out))]...)
	}
	return out
}

func pick(cond bool, a, b []byte) []byte {
	if cond {
		return a
	}
	return b
}

func b64From24(out []byte, b2, b1, b0 byte, n int) []byte {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for ; n > 0; n-- {
		out = append(out, cryptAlphabet[w&0x3f])
		w >>= 6
	}
	return out
}
