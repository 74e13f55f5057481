package store

import (
	"fmt"
	"strings"
)

// NamePattern is the shape every user-supplied name in cloudlet must have.
//
// It deliberately widens DESIGN.md's `^[a-z0-9][a-z0-9-]{0,62}$` with '.', so flavor names such
// as "m1.small" work, and with upper-case letters and '_', which OpenStack's clients and tempest put in names
// ("tempest-ServersTestJSON-server-1", "New_network"); ValidateName then forbids "..", a trailing '.', and
// UUID-shaped names. Where a name becomes a DNS name (an instance's hostname, a port's record, a
// network's domain) it is used in lower case with '-' for '_', and DNS matches it without regard to case.
const NamePattern = `^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`

// MaxNameLen is the longest name ValidateName accepts, in bytes.
const MaxNameLen = 63

// ValidateName is the one validator for names in cloudlet: instances, flavors, networks, users,
// projects and everything else. A valid name matches NamePattern, contains no "..", does not end
// with '.', and is not shaped like a UUID (lookups accept an ID or a name, so a name that looks
// like an ID would be ambiguous). Names are never path components with slashes, never start with
// '-' (argument injection) and never contain ',' (QEMU option strings).
// The error wraps ErrInvalid and says why.
func ValidateName(name string) error {
	if why := nameProblem(name); why != "" {
		return faultf(ErrInvalid, "invalid name %s: %s", quoteShort(name), why)
	}
	return nil
}

// nameProblem returns why name is unacceptable, or "".
func nameProblem(name string) string {
	if name == "" || len(name) > MaxNameLen || !isNameStart(name[0]) {
		return "must match " + NamePattern
	}
	for i := 1; i < len(name); i++ {
		if !isNameStart(name[i]) && name[i] != '.' && name[i] != '-' && name[i] != '_' {
			return "must match " + NamePattern
		}
	}
	switch {
	case strings.Contains(name, ".."):
		return `must not contain ".."`
	case strings.HasSuffix(name, "."):
		return `must not end with "."`
	case IsID(strings.ToLower(name)):
		return "must not look like an ID (UUID)"
	}
	return ""
}

func isNameStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// quoteShort quotes s for an error message, cutting hostile megabyte-long input short.
func quoteShort(s string) string {
	const limit = 80
	if len(s) <= limit {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q...", s[:limit])
}
