// Package identity is cloudlet's Keystone: projects (tenants), users, role assignments, the policy
// table, password logins and bearer tokens, application credentials (API keys), users' SSH
// keypairs, and projects' quotas. It owns the catalog's projects and users (global), roles, tokens,
// credentials and quotas (per project) and keypairs (per user) buckets, and the audit log (audit.go:
// one entry per mutating API request, written by the web layer, pruned by age).
//
// It imports store, appliance/fault, appliance/ratelimit and golang.org/x/crypto, never web,
// echo or another service; other services' resources reach it only through the
// Options.ProjectInUse hook, wired in appliance.
//
// # The web layer's view
//
//	Authenticate(username, password, project, source) → Token (its Secret shown once)
//	AuthenticateSession(…) → a session Token (the dashboard's: idle expiry too, session.go)
//	Rescope(tokenID, project, source) → Token       UserProjects(userID): where it may rescope
//	Resolve(bearer) → Principal (per request)         Allowed(principal, action) / Authorize
//
// Every route names an Action of the policy table (policy.go); Allowed checks the principal's
// roles, application credential restrictions and AllowedActions; the route then keeps the target
// within the action's Scope (the principal's project, or its own user) unless the principal is
// an admin.
//
// # Roles
//
// admin is global: it is assigned on project admin and allows everything in every project (a
// global admin may take a token for any project). member and reader are per project.
//
// # Secrets
//
// Passwords are hashed with argon2id (PHC strings, password.go); a login of an unknown user
// verifies a dummy hash so it costs the same. Tokens and credential secrets are
// <prefix><record id>_<32 random bytes>, prefixes clt_ (tokens) and clk_ (credentials); only
// their SHA-256 is stored, compared in constant time (secret.go). No error message or log line
// holds a password, a secret or a private key.
//
// # Reading the source
//
//	service.go     Options, Service, New
//	records.go     the catalog records; users.go, projects.go, roles.go: their management
//	password.go    argon2id hashing; secret.go: bearer secrets and generated passwords
//	password_policy.go  what a password must not be (NIST 800-63B), common-passwords.txt
//	login.go       Authenticate, Unlock; session.go: session tokens, Rescope; throttle.go: lockouts per (user, address) with backoff
//	tokens.go      listing, revoking, pruning; revoke.go: what a role removal or disable revokes
//	credentials.go application credentials; resolve.go: Principal and Resolve
//	policy.go      actions and the policy table; keypairs.go: SSH keypairs
//	bootstrap.go   the first admin; quota.go: quota limits and checks
//	audit.go       the audit log: RecordAudit, Audit (filtered pages), PruneAudit
package identity
