// Package identity owns users, projects, roles and (later) tokens, application credentials, quotas,
// keypairs and the audit log — Keystone's job. So far it bootstraps the first admin.
//
// It imports store and appliance/fault; it never imports web or echo.
package identity
