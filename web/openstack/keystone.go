package openstack

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"cloudlet/appliance/identity"
	"cloudlet/web/client"
)

// Keystone v3 at /identity: version discovery, tokens (password and application-credential auth,
// validate, revoke) and the caller's projects. Tokens are cloudlet's own: X-Subject-Token is the
// secret /api/v1 issued, usable as a bearer anywhere.
func (s *Server) registerIdentity() {
	s.handle(http.MethodGet, "/identity", s.identityVersions)
	s.handle(http.MethodGet, "/identity/{$}", s.identityVersions)
	s.handle(http.MethodGet, "/identity/v3", s.identityVersion)
	s.handle(http.MethodGet, "/identity/v3/{$}", s.identityVersion)
	s.handle(http.MethodPost, "/identity/v3/auth/tokens", s.issueToken)
	s.handle(http.MethodGet, "/identity/v3/auth/tokens", s.validateToken)
	s.handle(http.MethodHead, "/identity/v3/auth/tokens", s.validateToken)
	s.handle(http.MethodDelete, "/identity/v3/auth/tokens", s.revokeToken)
	s.handle(http.MethodGet, "/identity/v3/auth/projects", s.authProjects)
	s.handle(http.MethodGet, "/identity/v3/auth/catalog", s.withToken(s.authCatalog))
	s.handle(http.MethodGet, "/identity/v3/users/{id}/projects", s.userProjects)
}

// defaultDomain is the one Keystone domain cloudlet has.
const defaultDomain = "default"

// keystoneTime is the only timestamp form tempest parses (%Y-%m-%dT%H:%M:%S.%fZ).
const keystoneTime = "2006-01-02T15:04:05.000000Z"

func (s *Server) identityV3() map[string]any {
	return map[string]any{"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"media-types": []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}}}
}

func (s *Server) identityVersions(w http.ResponseWriter, r *http.Request) {
	v := s.identityV3()
	v["links"] = selfLink(s.baseURL(r) + "/identity/v3/")
	writeJSON(w, http.StatusMultipleChoices, map[string]any{"versions": map[string]any{"values": []any{v}}})
}

func (s *Server) identityVersion(w http.ResponseWriter, r *http.Request) {
	v := s.identityV3()
	v["links"] = selfLink(s.baseURL(r) + "/identity/v3/")
	writeJSON(w, http.StatusOK, map[string]any{"version": v})
}

// authRequest is POST /v3/auth/tokens.
type authRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password struct {
				User struct {
					ID       string    `json:"id"`
					Name     string    `json:"name"`
					Password string    `json:"password"`
					Domain   domainRef `json:"domain"`
				} `json:"user"`
			} `json:"password"`
			AppCred struct {
				ID     string `json:"id"`
				Secret string `json:"secret"`
			} `json:"application_credential"`
		} `json:"identity"`
		Scope *struct {
			Project *struct {
				ID     string    `json:"id"`
				Name   string    `json:"name"`
				Domain domainRef `json:"domain"`
			} `json:"project"`
		} `json:"scope"`
	} `json:"auth"`
}

type domainRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// isDefault reports whether d names the Default domain, or nothing.
func (d domainRef) isDefault() bool {
	return (d.ID == "" || strings.EqualFold(d.ID, defaultDomain)) && (d.Name == "" || strings.EqualFold(d.Name, defaultDomain))
}

// issueToken authenticates with a password (through /api/v1's login, so its rate limits, lockout
// and audit apply) or an application credential (cloudlet's API key: its secret is the token).
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	var req authRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		keystoneError(w, http.StatusBadRequest, "malformed auth request: "+err.Error())
		return
	}
	id := req.Auth.Identity
	var secret string
	switch {
	case len(id.Methods) == 1 && id.Methods[0] == "password":
		secret = s.passwordToken(w, r, &req)
	case len(id.Methods) == 1 && id.Methods[0] == "application_credential":
		secret = s.appCredToken(w, r, id.AppCred.ID, id.AppCred.Secret)
	default:
		keystoneError(w, http.StatusUnauthorized, "unsupported auth methods: use password or application_credential")
	}
	if secret == "" {
		return // refused above
	}
	p, err := s.opts.Resolve(r.Context(), secret)
	if err != nil {
		keystoneError(w, http.StatusUnauthorized, err.Error())
		return
	}
	w.Header().Set("X-Subject-Token", secret)
	writeJSON(w, http.StatusCreated, map[string]any{"token": s.tokenBody(r, secret, p, req.Auth.Identity.Methods)})
}

// passwordToken logs in through the API; "" after writing the refusal.
func (s *Server) passwordToken(w http.ResponseWriter, r *http.Request, req *authRequest) string {
	u := req.Auth.Identity.Password.User
	project := ""
	if sc := req.Auth.Scope; sc != nil && sc.Project != nil {
		if project = sc.Project.ID; project == "" {
			project = sc.Project.Name
		}
		if sc.Project.ID == "" && !sc.Project.Domain.isDefault() {
			keystoneError(w, http.StatusUnauthorized, "cloudlet has one domain: Default")
			return ""
		}
	}
	name := u.ID
	if name == "" {
		name = u.Name
		if !u.Domain.isDefault() {
			keystoneError(w, http.StatusUnauthorized, "cloudlet has one domain: Default")
			return ""
		}
	}
	var tok struct {
		Token string `json:"token"`
	}
	err := s.api("", r.RemoteAddr).Do(r.Context(), http.MethodPost, "/api/v1/auth/tokens",
		map[string]string{"username": name, "password": u.Password, "project": project}, &tok)
	if err != nil {
		status, msg := apiStatus(err)
		keystoneError(w, status, msg)
		return ""
	}
	return tok.Token
}

// appCredToken checks an application credential: its secret is a cloudlet API key, which must be
// the credential id names. "" after writing the refusal.
func (s *Server) appCredToken(w http.ResponseWriter, r *http.Request, id, secret string) string {
	p, err := s.opts.Resolve(r.Context(), secret)
	if err != nil || p.CredentialID == "" || id != "" && p.CredentialID != id {
		keystoneError(w, http.StatusUnauthorized, "invalid application credential")
		return ""
	}
	return secret
}

// validateToken answers GET/HEAD with the X-Subject-Token's body, for a caller with a valid token.
func (s *Server) validateToken(w http.ResponseWriter, r *http.Request) {
	if _, err := s.opts.Resolve(r.Context(), callerToken(r)); err != nil {
		keystoneError(w, http.StatusUnauthorized, "the request you have made requires authentication")
		return
	}
	subject := r.Header.Get("X-Subject-Token")
	p, err := s.opts.Resolve(r.Context(), subject)
	if err != nil {
		keystoneError(w, http.StatusNotFound, "could not find token: "+err.Error())
		return
	}
	w.Header().Set("X-Subject-Token", subject)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": s.tokenBody(r, subject, p, []string{methodOf(p)})})
}

// revokeToken revokes the X-Subject-Token through the API, as the caller (its own tokens; an admin's
// any). An application credential is revoked by deleting it, not here.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	if _, err := s.opts.Resolve(r.Context(), callerToken(r)); err != nil {
		keystoneError(w, http.StatusUnauthorized, "the request you have made requires authentication")
		return
	}
	p, err := s.opts.Resolve(r.Context(), r.Header.Get("X-Subject-Token"))
	if err != nil {
		keystoneError(w, http.StatusNotFound, "could not find token: "+err.Error())
		return
	}
	if p.TokenID == "" {
		keystoneError(w, http.StatusForbidden, "an application credential's token ends when the credential is deleted")
		return
	}
	if err := s.api(callerToken(r), "").Do(r.Context(), http.MethodDelete, "/api/v1/auth/tokens/"+p.TokenID, nil, nil); err != nil {
		status, msg := apiStatus(err)
		keystoneError(w, status, msg)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// authProjects lists the projects the caller's token may be scoped to.
func (s *Server) authProjects(w http.ResponseWriter, r *http.Request) {
	var projects []identity.Project
	if err := s.api(callerToken(r), "").Do(r.Context(), http.MethodGet, "/api/v1/auth/projects", nil, &projects); err != nil {
		status, msg := apiStatus(err)
		keystoneError(w, status, msg)
		return
	}
	out := make([]map[string]any, 0, len(projects))
	for _, p := range projects {
		out = append(out, map[string]any{"id": p.ID, "name": p.Name, "domain_id": defaultDomain, "enabled": p.Enabled,
			"description": p.Description, "is_domain": false, "parent_id": defaultDomain,
			"links": map[string]string{"self": s.baseURL(r) + "/identity/v3/projects/" + p.ID}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": out, "links": map[string]any{"self": s.baseURL(r) + r.URL.Path,
		"next": nil, "previous": nil}})
}

// authCatalog is the service catalog of the caller's token, as its body carries it.
func (s *Server) authCatalog(w http.ResponseWriter, r *http.Request, _ *client.Client) {
	writeJSON(w, http.StatusOK, map[string]any{"catalog": s.catalog(r),
		"links": map[string]any{"self": s.baseURL(r) + r.URL.Path, "next": nil, "previous": nil}})
}

// userProjects lists the projects of user id when that is the caller (Keystone's "owner" rule): the
// projects its token may be scoped to. Another user's list is 403: cloudlet's API answers only the
// caller's own.
func (s *Server) userProjects(w http.ResponseWriter, r *http.Request) {
	p, err := s.opts.Resolve(r.Context(), callerToken(r))
	if err != nil {
		keystoneError(w, http.StatusUnauthorized, "the request you have made requires authentication")
		return
	}
	if r.PathValue("id") != p.UserID {
		keystoneError(w, http.StatusForbidden, "cloudlet lists only the caller's own projects")
		return
	}
	s.authProjects(w, r)
}

func methodOf(p identity.Principal) string {
	if p.Via == identity.ViaCredential {
		return "application_credential"
	}
	return "password"
}

// tokenBody is Keystone's token for principal p (of bearer secret), with the service catalog.
func (s *Server) tokenBody(r *http.Request, secret string, p identity.Principal, methods []string) map[string]any {
	domain := map[string]string{"id": defaultDomain, "name": "Default"}
	roles := make([]map[string]string, 0, len(p.Roles))
	for _, role := range p.Roles {
		roles = append(roles, map[string]string{"id": role, "name": role})
	}
	expires := s.now().Add(time.Hour)
	if p.ExpiresAt != nil {
		expires = *p.ExpiresAt
	}
	t := map[string]any{"methods": methods, "expires_at": expires.UTC().Format(keystoneTime),
		"issued_at": s.issuedAt(r, secret, p).UTC().Format(keystoneTime), "audit_ids": []string{p.TokenID + p.CredentialID},
		"user":    map[string]any{"id": p.UserID, "name": p.UserName, "domain": domain, "password_expires_at": nil},
		"project": map[string]any{"id": p.ProjectID, "name": p.ProjectName, "domain": domain},
		"roles":   roles, "is_domain": false, "catalog": s.catalog(r)}
	if p.CredentialID != "" {
		t["application_credential"] = map[string]any{"id": p.CredentialID, "name": p.CredentialID, "restricted": true}
	}
	return t
}

// issuedAt is when token secret (principal p) was issued, read from its owner's token list in the
// API, so that validating a token answers the body that issuing it did (tempest compares them). An
// application credential, which is not a token, is issued now.
func (s *Server) issuedAt(r *http.Request, secret string, p identity.Principal) time.Time {
	if p.TokenID == "" {
		return s.now()
	}
	var list []identity.Token
	if err := s.api(secret, "").Do(r.Context(), http.MethodGet, "/api/v1/auth/tokens", nil, &list); err == nil {
		for _, t := range list {
			if t.ID == p.TokenID {
				return t.CreatedAt
			}
		}
	}
	return s.now()
}
