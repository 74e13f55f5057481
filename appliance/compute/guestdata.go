package compute

import (
	"context"
	"encoding/base64"
	"errors"
	"maps"
	"strings"

	"cloudlet/store"
)

// What a guest is given besides its key: user-data, a hostname, a password, Nova's server metadata, and
// how it reads them (config_drive). User-data and the password hash are kept in their own record
// (instanceSecrets), never in the instance record, whose bytes instance lists copy verbatim; the instance
// shows only user_data_size and password_set.

// Config drive kinds: what is attached for the guest to read at boot.
const (
	ConfigDriveNoCloud   = "nocloud"     // an ISO labelled cidata (the default)
	ConfigDriveOpenStack = "configdrive" // an ISO labelled config-2
	ConfigDriveNone      = "none"        // nothing: the guest asks the metadata service
)

// Limits on what a guest is given, as Nova's.
const (
	MaxUserData      = 64 << 10 // decoded bytes
	maxMetadataItems = 128
	maxMetadataKey   = 255
	maxMetadataValue = 255
	maxPassword      = 255
)

// instanceSecrets are the parts of an instance no list or event shows: one record per instance, with its
// ID and project and no name. A missing record means none of them were given.
type instanceSecrets struct {
	store.Meta
	UserData     []byte `json:"user_data,omitempty"`
	PasswordHash string `json:"password_hash,omitempty"`
}

var secrets = store.NewKind[instanceSecrets](store.BucketInstanceSecrets, store.ScopeProject)

// GuestData is what compute holds for a guest beyond its instance record, for the seed and the
// metadata service.
type GuestData struct {
	UserData     []byte
	PasswordHash string
}

// guestFields are the checked guest parts of a create or rebuild request.
type guestFields struct {
	userData     []byte // decoded
	passwordHash string
	metadata     map[string]string
}

// parseGuestFields checks and decodes the guest parts of a request; each error is a 400 naming its field.
func parseGuestFields(userData, password string, metadata map[string]string) (guestFields, error) {
	var g guestFields
	if userData != "" {
		b, err := base64.StdEncoding.DecodeString(userData)
		if err != nil {
			return g, errInvalid("user_data: not base64: %v", err)
		}
		if len(b) > MaxUserData {
			return g, errInvalid("user_data: %d bytes decoded; at most %d", len(b), MaxUserData)
		}
		g.userData = b
	}
	if len(password) > maxPassword || strings.ContainsAny(password, "\x00\n\r:") {
		return g, errInvalid("password: at most %d characters, without NUL, newline or colon", maxPassword)
	}
	if password != "" {
		g.passwordHash = hashPassword(password)
	}
	if err := checkMetadata(metadata); err != nil {
		return g, err
	}
	g.metadata = maps.Clone(metadata)
	return g, nil
}

// checkMetadata applies Nova's server metadata limits.
func checkMetadata(m map[string]string) error {
	if len(m) > maxMetadataItems {
		return errInvalid("metadata: %d items; at most %d", len(m), maxMetadataItems)
	}
	for k, v := range m {
		if k == "" || len(k) > maxMetadataKey {
			return errInvalid("metadata: a key must be 1 to %d characters", maxMetadataKey)
		}
		if len(v) > maxMetadataValue {
			return errInvalid("metadata: the value of %q is longer than %d characters", k, maxMetadataValue)
		}
	}
	return nil
}

// checkConfigDrive answers the kind a request names ("" is the default, nocloud).
func checkConfigDrive(kind string) (string, error) {
	switch kind {
	case "":
		return ConfigDriveNoCloud, nil
	case ConfigDriveNoCloud, ConfigDriveOpenStack, ConfigDriveNone:
		return kind, nil
	}
	return "", errInvalid("config_drive must be %s, %s or %s, not %q", ConfigDriveNoCloud, ConfigDriveOpenStack,
		ConfigDriveNone, kind)
}

// checkHostname validates a hostname as a set of DNS labels (RFC 1123); "" takes one from name.
func checkHostname(hostname, name string) (string, error) {
	if hostname == "" {
		return hostnameOf(name), nil
	}
	if len(hostname) > 253 {
		return "", errInvalid("hostname: longer than 253 characters")
	}
	for _, label := range strings.Split(hostname, ".") {
		if !isDNSLabel(label) {
			return "", errInvalid("hostname %q: %q is not a DNS label (a-z, 0-9 and inner hyphens, 1 to 63)", hostname, label)
		}
	}
	return hostname, nil
}

func isDNSLabel(s string) bool {
	if len(s) < 1 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// hostnameOf makes a hostname of an instance name (which may hold upper case, '_', empty labels or
// edge hyphens): the labels that are DNS labels once lower-cased, with '-' for '_', and trimmed of
// hyphens, or "instance" if none is.
func hostnameOf(name string) string {
	var labels []string
	for _, l := range strings.Split(strings.ReplaceAll(strings.ToLower(name), "_", "-"), ".") {
		if l = strings.Trim(l, "-"); isDNSLabel(l) {
			labels = append(labels, l)
		}
	}
	if len(labels) == 0 {
		return "instance"
	}
	return strings.Join(labels, ".")
}

// applyGuestFields records the checked fields on inst and, in tx, its secrets record; replace is a
// rebuild's: only the fields given change.
func applyGuestFields(tx *store.Tx, inst *Instance, g guestFields, replace bool) error {
	if !replace || g.metadata != nil {
		inst.Metadata = g.metadata
	}
	s, err := secrets.Get(tx, inst.ID)
	if errors.Is(err, store.ErrNotFound) {
		s, err = &instanceSecrets{Meta: store.Meta{ID: inst.ID, ProjectID: inst.ProjectID}}, nil
	}
	if err != nil {
		return err
	}
	if !replace || g.userData != nil {
		s.UserData = g.userData
	}
	if !replace || g.passwordHash != "" {
		s.PasswordHash = g.passwordHash
	}
	inst.UserDataSize, inst.PasswordSet = len(s.UserData), s.PasswordHash != ""
	if s.Revision == 0 {
		if len(s.UserData) == 0 && s.PasswordHash == "" {
			return nil
		}
		return secrets.Create(tx, s)
	}
	return secrets.Update(tx, s)
}

// dropSecrets deletes inst's secrets record, in tx, when it has one.
func dropSecrets(tx *store.Tx, id string) error {
	if err := secrets.Delete(tx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// guestData reads what the instance's guest is given beyond its record.
func (s *Service) guestData(id string) (GuestData, error) {
	var g GuestData
	err := s.db.View(func(tx *store.Tx) error {
		sec, err := secrets.Get(tx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		g = GuestData{UserData: sec.UserData, PasswordHash: sec.PasswordHash}
		return nil
	})
	return g, err
}

// GuestData reads what the instance's guest is given beyond its record (for the metadata service).
func (s *Service) GuestData(_ context.Context, id string) (GuestData, error) { return s.guestData(id) }
