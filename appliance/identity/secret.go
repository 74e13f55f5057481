package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"strings"

	"cloudlet/store"
)

// Bearer secrets are <prefix><record ID>_<verifier>: the prefix says what kind of secret it is (and
// makes a leaked one easy to grep for), the ID finds its record without searching by secret, and
// the verifier is 32 random bytes in unpadded base64url. Only SHA-256 of the whole secret is
// stored, and it is compared in constant time.
const (
	TokenPrefix      = "clt_"
	CredentialPrefix = "clk_"
)

const (
	verifierBytes = 32
	verifierLen   = 43 // base64url of 32 bytes, unpadded
	idLen         = 36 // store.NewID
)

// newSecret returns a fresh secret for the record id.
func newSecret(prefix, id string) string {
	b := make([]byte, verifierBytes)
	rand.Read(b) // never fails; crashes the program if the kernel has no randomness
	return prefix + id + "_" + base64.RawURLEncoding.EncodeToString(b)
}

// secretID returns the record ID of a bearer secret of the given prefix, or false when the bearer
// does not have that shape. The ID is not secret; the verifier is checked by secretMatches.
func secretID(bearer, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(bearer, prefix)
	if !ok || len(rest) != idLen+1+verifierLen || rest[idLen] != '_' {
		return "", false
	}
	id := rest[:idLen]
	if !store.IsID(id) {
		return "", false
	}
	if _, err := base64.RawURLEncoding.DecodeString(rest[idLen+1:]); err != nil {
		return "", false
	}
	return id, true
}

// hashSecret is what the catalog keeps of a secret.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// secretMatches compares secret with a stored hash in constant time.
func secretMatches(storedHash, secret string) bool {
	return subtle.ConstantTimeCompare([]byte(storedHash), []byte(hashSecret(secret))) == 1
}

// passwordAlphabet leaves out look-alikes (l, 1, I, O, 0) so a printed password can be typed.
const passwordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// randomPassword returns n characters of passwordAlphabet (about 5.8 bits each).
func randomPassword(n int) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(passwordAlphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b[i] = passwordAlphabet[v.Int64()]
	}
	return string(b), nil
}
