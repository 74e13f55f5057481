package openstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"cloudlet/web/client"
)

// Neutron 2.0 at /networking/v2.0 (discovery.go serves /networking): cloudlet's networks, each with
// its one subnet (which Neutron shows as a subnet resource of its own once it is declared), ports,
// security groups and their rules, floating IPs, a read-only router per NAT network, extensions.
func (s *Server) registerNetwork() {
	s.handle(http.MethodGet, "/networking/v2.0/{$}", s.networkResources)
	s.registerNetworks()
	s.registerSubnets()
	s.registerPorts()
	s.registerSecurityGroups()
	s.registerFloatingIPs()
	s.registerRouters()
	s.registerExtensions()
}

// neutronCollections are the collections served, as the /v2.0/ resources document lists them.
var neutronCollections = []struct{ name, collection string }{
	{"network", "networks"}, {"subnet", "subnets"}, {"port", "ports"},
	{"security_group", "security-groups"}, {"security_group_rule", "security-group-rules"},
	{"floatingip", "floatingips"}, {"router", "routers"}, {"extension", "extensions"},
}

// networkResources is the /v2.0/ document: every collection served, with its link.
func (s *Server) networkResources(w http.ResponseWriter, r *http.Request) {
	res := []map[string]any{}
	for _, c := range neutronCollections {
		res = append(res, map[string]any{"name": c.name, "collection": c.collection,
			"links": selfLink(s.baseURL(r) + "/networking/v2.0/" + c.collection)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"resources": res})
}

// neutronError writes Neutron's error body, {"NeutronError":{"type","message","detail"}}; a 401 is
// Keystone's.
func neutronError(w http.ResponseWriter, status int, typ, message string) {
	if status == http.StatusUnauthorized {
		keystoneError(w, status, message)
		return
	}
	writeJSON(w, status, map[string]any{"NeutronError": map[string]any{"type": typ, "message": message, "detail": ""}})
}

// badRequest writes Neutron's 400 for input it cannot take.
func badRequest(w http.ResponseWriter, format string, args ...any) {
	neutronError(w, http.StatusBadRequest, "HTTPBadRequest", fmt.Sprintf(format, args...))
}

// errTypes name the NeutronError types of a resource's refusals: not found, and in use/conflict.
type errTypes struct{ notFound, conflict string }

var (
	networkErrs  = errTypes{"NetworkNotFound", "NetworkInUse"}
	subnetErrs   = errTypes{"SubnetNotFound", "SubnetInUse"}
	portErrs     = errTypes{"PortNotFound", "PortInUse"}
	groupErrs    = errTypes{"SecurityGroupNotFound", "SecurityGroupInUse"}
	ruleErrs     = errTypes{"SecurityGroupRuleNotFound", "SecurityGroupRuleExists"}
	floatingErrs = errTypes{"FloatingIPNotFound", "FloatingIPPortAlreadyAssociated"}
	routerErrs   = errTypes{"RouterNotFound", "RouterInUse"}
)

// neutronAPIError writes an /api/v1 refusal in Neutron's shape, typed for the resource.
func neutronAPIError(w http.ResponseWriter, err error, t errTypes) {
	status, msg := apiStatus(err)
	typ := "HTTPError"
	switch {
	case status == http.StatusNotFound:
		typ = t.notFound
	case status == http.StatusConflict && strings.Contains(strings.ToLower(msg), "quota"):
		typ = "OverQuota"
	case status == http.StatusConflict:
		typ = t.conflict
	case status == http.StatusBadRequest:
		typ = "InvalidInput"
	case status == http.StatusForbidden:
		typ = "PolicyNotAuthorized"
	}
	neutronError(w, status, typ, msg)
}

// notFound writes the resource's 404.
func notFound(w http.ResponseWriter, t errTypes, what, id string) {
	neutronError(w, http.StatusNotFound, t.notFound, what+" "+id+" could not be found.")
}

// decodeResource reads a Neutron body {"<key>": {...}} into into, whose fields are every attribute
// accepted: an unknown attribute or a value of the wrong type is a 400, as Neutron answers.
func decodeResource(w http.ResponseWriter, r *http.Request, key string, into any) bool {
	var outer map[string]json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&outer); err != nil {
		badRequest(w, "Malformed request body: %v", err)
		return false
	}
	inner, ok := outer[key]
	if !ok || len(outer) != 1 {
		badRequest(w, "Resource body required: {\"%s\": {...}}", key)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(inner))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		badRequest(w, "Invalid input for %s: %v", key, strings.TrimPrefix(err.Error(), "json: "))
		return false
	}
	return true
}

// ownProject refuses a create body whose project_id or tenant_id names another project than the
// caller's token's (400, Neutron's words): the native API creates in the token's project only.
func (s *Server) ownProject(w http.ResponseWriter, r *http.Request, ids ...string) bool {
	p, err := s.opts.Resolve(r.Context(), callerToken(r))
	if err != nil {
		keystoneError(w, http.StatusUnauthorized, "the request you have made requires authentication")
		return false
	}
	for _, id := range ids {
		if id != "" && id != p.ProjectID {
			badRequest(w, "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges (and cloudlet creates in the token's project only)")
			return false
		}
	}
	return true
}

// getByID reads one native resource at path/id and checks that id is its id: the native API also
// takes names, Neutron only ids (a name is a 404, which clients rely on to look names up).
func getByID[T any](ctx context.Context, api *client.Client, path, id string) (*T, error) {
	var raw json.RawMessage
	if err := api.Do(ctx, http.MethodGet, path+"/"+url.PathEscape(id), nil, &raw); err != nil {
		return nil, err
	}
	var head struct {
		ID string `json:"id"`
	}
	var v T
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", path, id, err)
	}
	if head.ID != id {
		return nil, &client.Error{Code: http.StatusNotFound, Message: id + " could not be found."}
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", path, id, err)
	}
	return &v, nil
}

// writeList writes a list answer with the views that pass the query's filters, each cut to the
// query's fields.
func writeList(w http.ResponseWriter, key string, views []map[string]any, q url.Values) {
	out := []map[string]any{}
	for _, v := range views {
		if matches(v, q) {
			out = append(out, pick(v, q))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{key: out})
}

// pick cuts a view to the attributes the query's "fields" name (all of them without any), as
// Neutron answers ?fields=id&fields=name.
func pick(v map[string]any, q url.Values) map[string]any {
	fields := q["fields"]
	if len(fields) == 0 {
		return v
	}
	out := map[string]any{}
	for _, f := range fields {
		if x, ok := v[f]; ok {
			out[f] = x
		}
	}
	return out
}

// neutronTime is a record's time as Neutron shows it.
func neutronTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// recordMeta is what every native record carries (store.Meta's fields: a record's Meta converts to
// it), read here without the catalog's package, which the web layer never imports.
type recordMeta struct {
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	ProjectID string    `json:"project_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Revision  uint64    `json:"revision"`
}

// stamps are the attributes every Neutron resource carries from its record's metadata.
func stamps(m recordMeta) map[string]any {
	return map[string]any{"id": m.ID, "name": m.Name, "project_id": m.ProjectID, "tenant_id": m.ProjectID,
		"created_at": neutronTime(m.CreatedAt), "updated_at": neutronTime(m.UpdatedAt),
		"revision_number": m.Revision, "tags": []string{}}
}

// with adds attributes to a view.
func with(v map[string]any, more map[string]any) map[string]any {
	for k, x := range more {
		v[k] = x
	}
	return v
}
