package identity

import (
	"time"

	"cloudlet/store"
)

// Project owns resources (Keystone's project, a tenant); names are unique across the catalog. It is
// both the catalog record and what the service returns: it holds no secret.
type Project struct {
	store.Meta
	Description string `json:"description,omitempty"`
	Enabled     bool   `json:"enabled"`
}

// RoleAssignment gives a user a role on a project (Keystone's model). ProjectID in Meta is the
// project. The admin role is global: it is assigned on project admin and applies to every project.
type RoleAssignment struct {
	store.Meta
	UserID string `json:"user_id"`
	Role   string `json:"role"`
}

// Role names. Roles are fixed: what each allows is the policy table (policy.go).
const (
	RoleAdmin  = "admin"  // everything, in every project
	RoleMember = "member" // every action on the resources of its project
	RoleReader = "reader" // read actions on the resources of its project
)

// Roles returns the role names, most powerful first.
func Roles() []string { return []string{RoleAdmin, RoleMember, RoleReader} }

// The records below hold secrets' hashes, so they never leave the package: the service returns
// the views in users.go, tokens.go, credentials.go and keypairs.go instead.

// userRecord is a person or robot that logs in. The password itself is never stored.
type userRecord struct {
	store.Meta
	Email            string `json:"email,omitempty"`
	PasswordHash     string `json:"password_hash"` // argon2id, PHC string format (password.go)
	DefaultProjectID string `json:"default_project_id,omitempty"`
	Enabled          bool   `json:"enabled"`
}

// tokenRecord is a bearer token scoped to the project in Meta. It has no name.
type tokenRecord struct {
	store.Meta
	UserID     string    `json:"user_id"`
	SecretHash string    `json:"secret_hash"` // hex SHA-256 of the whole secret
	ExpiresAt  time.Time `json:"expires_at"`
	Source     string    `json:"source,omitempty"` // the address it was issued to
	// Session marks a dashboard session token: it also expires Options.SessionIdle after
	// LastUsedAt, which Resolve renews (session.go).
	Session    bool      `json:"session,omitempty"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// credentialRecord is an application credential of a user for the project in Meta. Its name is
// unique per user, so it is not Meta.Name (whose index is per project).
type credentialRecord struct {
	store.Meta
	CredentialName string     `json:"credential_name"`
	Description    string     `json:"description,omitempty"`
	UserID         string     `json:"user_id"`
	SecretHash     string     `json:"secret_hash"` // hex SHA-256 of the whole secret
	Roles          []string   `json:"roles"`
	AllowedActions []Action   `json:"allowed_actions,omitempty"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`
}

// keypairRecord is a user's SSH public key. Keypairs belong to a user, not to a project, and their
// names are unique per user, so neither Meta.ProjectID nor Meta.Name is set.
type keypairRecord struct {
	store.Meta
	UserID      string `json:"user_id"`
	KeyName     string `json:"key_name"`
	Type        string `json:"type"`
	PublicKey   string `json:"public_key"`
	Fingerprint string `json:"fingerprint"`
}

var (
	projects    = store.NewKind[Project](store.BucketProjects, store.ScopeGlobal)
	users       = store.NewKind[userRecord](store.BucketUsers, store.ScopeGlobal)
	assignments = store.NewKind[RoleAssignment](store.BucketRoles, store.ScopeProject)
	tokens      = store.NewKind[tokenRecord](store.BucketTokens, store.ScopeProject)
	credentials = store.NewKind[credentialRecord](store.BucketCredentials, store.ScopeProject)
	keypairs    = store.NewKind[keypairRecord](store.BucketKeypairs, store.ScopeProject)
)
