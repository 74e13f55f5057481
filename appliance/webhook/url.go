package webhook

import (
	"net/netip"
	"net/url"
	"strings"

	"cloudlet/internal/netguard"
)

const (
	maxURLLen      = 2048
	maxEvents      = 32
	maxPatternLen  = 128
	minSecretLen   = 16
	maxSecretLen   = 256
	maxPatternDots = 8
)

// checkURL refuses what is plainly refused before any connection: a scheme other than http or
// https, no host, credentials in the URL, or a literal IP address the guard never connects to.
// Names are checked when connecting (after DNS), as every redirect is.
func checkURL(raw string) (*url.URL, error) {
	if len(raw) > maxURLLen {
		return nil, faultf(ErrInvalid, "url longer than %d bytes", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, faultf(ErrInvalid, "url %s is not a URL", quoteShort(raw))
	}
	if err := checkParsedURL(u); err != nil {
		return nil, err
	}
	return u, nil
}

func checkParsedURL(u *url.URL) error {
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return faultf(ErrInvalid, "url scheme %s: want http or https", quoteShort(u.Scheme))
	case u.Host == "" || u.Hostname() == "":
		return faultf(ErrInvalid, "url has no host")
	case u.User != nil:
		return faultf(ErrInvalid, "url must not carry credentials (user:password@): use the signing secret")
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil {
		if why := netguard.BlockedReason(a); why != "" {
			return faultf(ErrInvalid, "url host %s is refused: %s", a, why)
		}
	}
	return nil
}

// checkPatterns accepts event type patterns: "*", an exact type ("instance.created") or a prefix
// ending in ".*" ("instance.*").
func checkPatterns(events []string) error {
	if len(events) == 0 {
		return faultf(ErrInvalid, "events: give at least one event type pattern, e.g. \"instance.*\" or \"*\"")
	}
	if len(events) > maxEvents {
		return faultf(ErrInvalid, "events: at most %d patterns", maxEvents)
	}
	for _, p := range events {
		if p == "*" {
			continue
		}
		body := strings.TrimSuffix(p, ".*")
		if len(p) > maxPatternLen || body == "" || strings.Count(body, ".") > maxPatternDots || !patternChars(body) {
			return faultf(ErrInvalid, "events: %s is not an event type pattern (\"instance.created\", \"instance.*\" or \"*\")", quoteShort(p))
		}
	}
	return nil
}

func patternChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' && i > 0 && i < len(s)-1 && s[i-1] != '.'
		if !ok {
			return false
		}
	}
	return true
}

// matches reports whether an event type matches one of the patterns.
func matches(patterns []string, typ string) bool {
	for _, p := range patterns {
		if p == "*" || p == typ {
			return true
		}
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(typ, prefix) {
			return true
		}
	}
	return false
}
