package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"cloudlet/store"
)

// Keypair is a user's SSH public key (Nova's keypair), which instances get through cloud-init.
// PrivateKey is set only in what GenerateKeypair returns: cloudlet never keeps it.
type Keypair struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"` // unique among the user's keypairs
	UserID      string    `json:"user_id"`
	Type        string    `json:"type"`        // the SSH key type, e.g. ssh-ed25519
	PublicKey   string    `json:"public_key"`  // one authorized_keys line: type, base64, comment
	Fingerprint string    `json:"fingerprint"` // SHA256:…
	CreatedAt   time.Time `json:"created_at"`
	PrivateKey  string    `json:"private_key,omitempty"` // OpenSSH PEM
}

func keypairView(k *keypairRecord) Keypair {
	return Keypair{ID: k.ID, Name: k.KeyName, UserID: k.UserID, Type: k.Type, PublicKey: k.PublicKey,
		Fingerprint: k.Fingerprint, CreatedAt: k.CreatedAt}
}

// Bounds of imported keys.
const (
	maxPublicKeyLen = 16 << 10
	minRSABits      = 2048
	maxRSABits      = 16384
	maxCommentLen   = 255
)

// acceptedKeyTypes are the public key types ImportKeypair takes: no DSA (broken), no
// certificates (the guest's sshd would need a CA).
var acceptedKeyTypes = []string{
	ssh.KeyAlgoED25519, ssh.KeyAlgoRSA, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256,
}

// KeypairSpec describes a new keypair.
type KeypairSpec struct {
	UserID string // the owner
	// ProjectID is the project the request is scoped to: its keypairs quota limits the owner's
	// keypairs. "" checks no quota (the local socket's admin).
	ProjectID string
	Name      string // unique among the owner's keypairs
	// PublicKey is one OpenSSH authorized_keys line to import (options are dropped); "" makes a
	// new ed25519 keypair and returns its private key.
	PublicKey string
}

// CreateKeypair imports a public key, or generates an ed25519 keypair, and stores it. A malformed
// or weak key fails with ErrInvalid saying why. A generated keypair comes back with PrivateKey in
// OpenSSH PEM, shown once.
func (s *Service) CreateKeypair(ctx context.Context, spec KeypairSpec) (Keypair, error) {
	if spec.PublicKey != "" {
		k, err := s.importKeypair(spec)
		if err != nil {
			return Keypair{}, fmt.Errorf("import keypair %s: %w", quoteShort(spec.Name), err)
		}
		return k, nil
	}
	k, err := s.generateKeypair(spec)
	if err != nil {
		return Keypair{}, fmt.Errorf("generate keypair %s: %w", quoteShort(spec.Name), err)
	}
	return k, nil
}

func (s *Service) importKeypair(spec KeypairSpec) (Keypair, error) {
	key, comment, err := parsePublicKey(spec.PublicKey)
	if err != nil {
		return Keypair{}, err
	}
	return s.storeKeypair(spec, key, comment)
}

func (s *Service) generateKeypair(spec KeypairSpec) (Keypair, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Keypair{}, err
	}
	key, err := ssh.NewPublicKey(pub)
	if err != nil {
		return Keypair{}, err
	}
	block, err := ssh.MarshalPrivateKey(priv, spec.Name)
	if err != nil {
		return Keypair{}, fmt.Errorf("encode private key: %w", err)
	}
	k, err := s.storeKeypair(spec, key, spec.Name)
	if err != nil {
		return Keypair{}, err
	}
	k.PrivateKey = string(pem.EncodeToMemory(block))
	return k, nil
}

// parsePublicKey reads one authorized_keys line and checks its type and strength.
func parsePublicKey(line string) (ssh.PublicKey, string, error) {
	if len(line) > maxPublicKeyLen {
		return nil, "", faultf(ErrInvalid, "public key longer than %d bytes", maxPublicKeyLen)
	}
	key, comment, _, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, "", faultf(ErrInvalid, "malformed public key: %v (want one OpenSSH line such as \"ssh-ed25519 AAAA… me@host\")", err)
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, "", faultf(ErrInvalid, "more than one public key: give exactly one")
	}
	if !slices.Contains(acceptedKeyTypes, key.Type()) {
		return nil, "", faultf(ErrInvalid, "public key type %s is not accepted: want one of %s", key.Type(),
			strings.Join(acceptedKeyTypes, ", "))
	}
	if err := checkKeyStrength(key); err != nil {
		return nil, "", err
	}
	return key, cleanComment(comment), nil
}

func checkKeyStrength(key ssh.PublicKey) error {
	ck, ok := key.(ssh.CryptoPublicKey)
	if !ok {
		return nil // security-key types: their strength is fixed by the type
	}
	switch pk := ck.CryptoPublicKey().(type) {
	case *rsa.PublicKey:
		if bits := pk.N.BitLen(); bits < minRSABits || bits > maxRSABits {
			return faultf(ErrInvalid, "RSA public key has %d bits: want %d to %d", bits, minRSABits, maxRSABits)
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return faultf(ErrInvalid, "public key type %s is not accepted", key.Type())
	}
	return nil
}

// cleanComment keeps a comment printable and short: it ends up in the guest's authorized_keys.
func cleanComment(c string) string {
	c = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, c)
	if len(c) > maxCommentLen {
		c = c[:maxCommentLen]
	}
	return strings.TrimSpace(c)
}

// storeKeypair stores key as keypair spec.Name of spec.UserID, checking the name free among its
// keypairs and the keypairs quota.
func (s *Service) storeKeypair(spec KeypairSpec, key ssh.PublicKey, comment string) (Keypair, error) {
	if spec.Name == "" {
		return Keypair{}, faultf(ErrInvalid, "a name is required")
	}
	if err := store.ValidateName(spec.Name); err != nil {
		return Keypair{}, err
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	if comment != "" {
		line += " " + comment
	}
	k := &keypairRecord{UserID: spec.UserID, KeyName: spec.Name, Type: key.Type(), PublicKey: line,
		Fingerprint: ssh.FingerprintSHA256(key)}
	err := s.db.Update(func(tx *store.Tx) error {
		u, err := users.Get(tx, spec.UserID)
		if err != nil {
			return err
		}
		if _, err := findKeypair(tx, u.ID, spec.Name); err == nil {
			return faultf(ErrConflict, "keypair name %q already exists for user %s", spec.Name, u.Name)
		}
		if spec.ProjectID != "" {
			if err := s.checkKeypairQuota(tx, spec.ProjectID, u.ID); err != nil {
				return err
			}
		}
		return keypairs.Create(tx, k)
	})
	if err != nil {
		return Keypair{}, err
	}
	return keypairView(k), nil
}

// Keypairs lists the keypairs of userID ("" for every user's), by user and name.
func (s *Service) Keypairs(ctx context.Context, userID string) ([]Keypair, error) {
	out := []Keypair{}
	err := s.db.View(func(tx *store.Tx) error {
		return keypairs.ForEach(tx, func(k *keypairRecord) error {
			if userID == "" || k.UserID == userID {
				out = append(out, keypairView(k))
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list keypairs: %w", err)
	}
	slices.SortFunc(out, func(a, b Keypair) int { return compareOwned(a.UserID, a.Name, b.UserID, b.Name) })
	return out, nil
}

// Keypair returns a keypair of userID ("" for any user's; then by ID only) by ID or name.
func (s *Service) Keypair(ctx context.Context, userID, ref string) (Keypair, error) {
	var out Keypair
	err := s.db.View(func(tx *store.Tx) error {
		k, err := findKeypair(tx, userID, ref)
		if err == nil {
			out = keypairView(k)
		}
		return err
	})
	if err != nil {
		return Keypair{}, fmt.Errorf("get keypair: %w", err)
	}
	return out, nil
}

// DeleteKeypair deletes a keypair of userID ("" for any user's; then by ID only) by ID or name.
// Instances made with it keep the key they were given.
func (s *Service) DeleteKeypair(ctx context.Context, userID, ref string) error {
	err := s.db.Update(func(tx *store.Tx) error {
		k, err := findKeypair(tx, userID, ref)
		if err != nil {
			return err
		}
		return keypairs.Delete(tx, k.ID)
	})
	if err != nil {
		return fmt.Errorf("delete keypair: %w", err)
	}
	return nil
}

func findKeypair(tx *store.Tx, userID, ref string) (*keypairRecord, error) {
	if store.IsID(ref) {
		k, err := keypairs.Get(tx, ref)
		if err == nil && (userID == "" || k.UserID == userID) {
			return k, nil
		}
	} else if userID != "" {
		var found *keypairRecord
		err := keypairs.ForEach(tx, func(k *keypairRecord) error {
			if k.UserID == userID && k.KeyName == ref {
				found = k
			}
			return nil
		})
		if err != nil || found != nil {
			return found, err
		}
	}
	return nil, faultf(ErrNotFound, "keypair %s not found", quoteShort(ref))
}
