package identity

import "cloudlet/store"

// Project owns resources; names are unique across the catalog.
type Project struct {
	store.Meta
	Description string `json:"description,omitempty"`
	Enabled     bool   `json:"enabled"`
}

// User is a person or robot that logs in. PasswordHash is bcrypt; the password itself is never stored.
type User struct {
	store.Meta
	PasswordHash     string `json:"password_hash"`
	DefaultProjectID string `json:"default_project_id,omitempty"`
	Enabled          bool   `json:"enabled"`
}

// RoleAssignment gives a user a role on a project (Keystone's model). ProjectID in Meta is the project.
type RoleAssignment struct {
	store.Meta
	UserID string `json:"user_id"`
	Role   string `json:"role"`
}

// Role names.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
	RoleReader = "reader"
)

var (
	projects    = store.NewKind[Project](store.BucketProjects, store.ScopeGlobal)
	users       = store.NewKind[User](store.BucketUsers, store.ScopeGlobal)
	assignments = store.NewKind[RoleAssignment](store.BucketRoles, store.ScopeProject)
)
