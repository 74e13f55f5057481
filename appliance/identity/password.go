package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Password rules: long enough to resist guessing, short enough that hashing stays cheap.
const (
	MinPasswordLen = 8    // characters
	MaxPasswordLen = 1024 // bytes
)

// Argon2Params is the cost of an argon2id password hash. The defaults are RFC 9106's second
// recommended option (3 passes over 64 MiB, 4 lanes).
type Argon2Params struct {
	Time      uint32 // passes; 0 means 3
	MemoryKiB uint32 // 0 means 64 MiB
	Threads   uint8  // lanes; 0 means 4
}

func (p Argon2Params) withDefaults() Argon2Params {
	if p.Time == 0 {
		p.Time = 3
	}
	if p.MemoryKiB == 0 {
		p.MemoryKiB = 64 * 1024
	}
	if p.Threads == 0 {
		p.Threads = 4
	}
	return p
}

// Sizes of new hashes, and the bounds a stored hash must respect (a damaged record must not make
// a login allocate gigabytes).
const (
	saltLen         = 16
	keyLen          = 32
	maxHashMemory   = 1 << 20 // KiB: 1 GiB
	maxHashTime     = 64
	argon2idVersion = argon2.Version
)

// hashPassword returns password's argon2id hash in the PHC string format:
// $argon2id$v=19$m=65536,t=3,p=4$<salt>$<key>, salt and key in unpadded standard base64.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	rand.Read(salt) // never fails; crashes the program if the kernel has no randomness
	p := s.argon
	var key []byte
	err := s.withHashSlot(ctx, func() {
		key = argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	})
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return encodeHash(p, salt, key), nil
}

var b64 = base64.RawStdEncoding

// verifyPassword reports whether password matches encoded, in constant time. An unparsable hash
// is an error (a damaged record), never a match.
func (s *Service) verifyPassword(ctx context.Context, encoded, password string) (bool, error) {
	h, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	var key []byte
	err = s.withHashSlot(ctx, func() {
		key = argon2.IDKey([]byte(password), h.salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, uint32(len(h.key)))
	})
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// dummyHash returns a hash with the service's cost that no password matches (its key is random,
// not derived), which logins of unknown users verify so that they cost as much as real ones.
func dummyHash(p Argon2Params) string {
	salt, key := make([]byte, saltLen), make([]byte, keyLen)
	rand.Read(salt) // never fails; crashes the program if the kernel has no randomness
	rand.Read(key)
	return encodeHash(p, salt, key)
}

func encodeHash(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2idVersion, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// withHashSlot runs fn, a hash computation, once fewer than MaxConcurrentHashes are running.
func (s *Service) withHashSlot(ctx context.Context, fn func()) error {
	select {
	case s.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.hashSlots }()
	s.hashRuns.Add(1)
	fn()
	return nil
}

type parsedHash struct {
	params    Argon2Params
	salt, key []byte
}

var errBadHash = errors.New("stored password hash is not a valid argon2id PHC string")

// parseHash reads a PHC string written by hashPassword, within sane bounds.
func parseHash(encoded string) (parsedHash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2idVersion) {
		return parsedHash{}, errBadHash
	}
	var h parsedHash
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.params.MemoryKiB, &h.params.Time, &threads); err != nil {
		return parsedHash{}, errBadHash
	}
	if threads < 1 || threads > 255 || h.params.Time < 1 || h.params.Time > maxHashTime ||
		h.params.MemoryKiB < 8*threads || h.params.MemoryKiB > maxHashMemory {
		return parsedHash{}, errBadHash
	}
	h.params.Threads = uint8(threads)
	var err1, err2 error
	h.salt, err1 = b64.DecodeString(parts[4])
	h.key, err2 = b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(h.salt) < 8 || len(h.key) < 16 || len(h.key) > 64 {
		return parsedHash{}, errBadHash
	}
	return h, nil
}
