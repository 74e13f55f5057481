package ui

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"cloudlet/appliance/identity"
)

// The session cookie holds the secret of an API token issued at login. It is HttpOnly (no script
// can read it) and SameSite=Lax; under TLS it is Secure and __Host- prefixed (bound to this host,
// path /). The token's own expiry and revocation are the session's.
const (
	cookiePlain = "cloudlet_session"
	cookieTLS   = "__Host-cloudlet_session"
)

// CSRF: a cookie session's unsafe requests must carry the session's CSRF token, in this header
// (htmx sends it on every request, from <body hx-headers>) or this form field (plain forms).
const (
	csrfHeader = "X-CSRF-Token"
	csrfField  = "csrf_token"
)

// session is a logged-in browser: the token's secret and who it is.
type session struct {
	secret    string
	principal identity.Principal
	projects  func() []identity.Project // where the switcher may go (switcher.go); read when a page asks
}

// CSRF is the session's CSRF token: an HMAC of a fixed label under the session secret. Only a page
// served to the cookie's holder can know it; it needs no server state and survives a restart.
func (s *session) CSRF() string {
	m := hmac.New(sha256.New, []byte(s.secret))
	m.Write([]byte("cloudlet dashboard csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Can reports whether the policy lets the session's principal do action: the pages show a control
// only when it does, and the API refuses it anyway when it does not.
func (s *session) Can(action string) bool {
	return identity.Authorize(s.principal, identity.Action(action)) == nil
}

// User and Project name who is logged in and where.
func (s *session) User() string    { return s.principal.UserName }
func (s *session) Project() string { return s.principal.ProjectName }
func (s *session) IsAdmin() bool   { return s.principal.IsAdmin }

func cookieName(r *http.Request) string {
	if r.TLS != nil {
		return cookieTLS
	}
	return cookiePlain
}

// setSessionCookie stores secret in the browser; "" clears it.
func setSessionCookie(w http.ResponseWriter, r *http.Request, secret string) {
	c := &http.Cookie{Name: cookieName(r), Value: secret, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil}
	if secret == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// sessionHandler is a handler that needs a logged-in browser.
type sessionHandler func(w http.ResponseWriter, r *http.Request, sess *session)

// withSession runs h for a valid session. Without one (no cookie, or its token expired or was
// revoked) a page redirects to the login page, which returns here afterwards; an htmx request
// gets HX-Redirect so the whole page goes. An unsafe request also needs the CSRF token.
func (s *Server) withSession(h sessionHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := s.readSession(r)
		if !ok {
			s.toLogin(w, r)
			return
		}
		if !safeMethod(r.Method) && !validCSRF(r, sess) {
			http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
			return
		}
		h(w, r, sess)
	}
}

// withAction is withSession for a page or form that does action: a session the policy does not
// allow it (appliance/identity/policy.go, the table the API enforces) gets 403 before anything is
// read or asked of the API, as a forced request to the API itself would.
func (s *Server) withAction(action string, h sessionHandler) http.HandlerFunc {
	return s.withSession(func(w http.ResponseWriter, r *http.Request, sess *session) {
		if !sess.Can(action) {
			http.Error(w, "your role in project "+sess.Project()+" does not allow "+action, http.StatusForbidden)
			return
		}
		h(w, r, sess)
	})
}

// readSession resolves the session cookie to its principal.
func (s *Server) readSession(r *http.Request) (*session, bool) {
	c, err := r.Cookie(cookieName(r))
	if err != nil || c.Value == "" {
		return nil, false
	}
	p, err := s.opts.Resolve(r.Context(), c.Value)
	if err != nil {
		return nil, false
	}
	sess := &session{secret: c.Value, principal: p}
	sess.projects = s.switchableProjects(r, sess)
	return sess, true
}

// toLogin sends a browser without a session to the login page, remembering where it was going.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	next := r.URL.RequestURI()
	if r.Header.Get("HX-Request") == "true" {
		if cur := r.Header.Get("HX-Current-URL"); cur != "" {
			if u, err := url.Parse(cur); err == nil {
				next = u.RequestURI()
			}
		}
		w.Header().Set("HX-Redirect", loginURL(next))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if !safeMethod(r.Method) {
		next = "/"
	}
	http.Redirect(w, r, loginURL(next), http.StatusSeeOther)
}

func loginURL(next string) string {
	if next == "" || next == "/" {
		return "/login"
	}
	return "/login?next=" + url.QueryEscape(next)
}

// localPath returns next when it is a path on this site, else "/": a login never redirects away.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// validCSRF reports whether r carries sess's CSRF token, in the header or the form.
func validCSRF(r *http.Request, sess *session) bool {
	got := r.Header.Get(csrfHeader)
	if got == "" && isForm(r) {
		got = r.PostFormValue(csrfField)
	}
	return got != "" && hmac.Equal([]byte(got), []byte(sess.CSRF()))
}

func isForm(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data")
}
