package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// keystoneLogin is the password auth body the openstack CLI sends (research/openstack-api.md §1).
func keystoneLogin(user, password, project string) string {
	return fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":%q,"domain":{"name":"Default"},"password":%q}}},"scope":{"project":{"name":%q,"domain":{"name":"Default"}}}}}`,
		user, password, project)
}

// osDo sends an OpenStack request with X-Auth-Token (when token is not "") and more headers.
func (f *authFixture) osDo(method, path, token, body string, headers ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	if token != "" {
		headers = append(headers, "X-Auth-Token", token)
	}
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = remoteAddr
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// decodeInto decodes a recorded JSON answer, failing the test on an error.
func decodeInto(t *testing.T, rec *httptest.ResponseRecorder, out any) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		t.Fatalf("decode %d %s: %v", rec.Code, rec.Body, err)
	}
}

func TestKeystoneDiscoveryAndTheServicesVersionDocuments(t *testing.T) {
	f := newAuthFixture(t)
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/identity", 300, `"values":[{"id":"v3.14"`},
		{"/identity/v3", 200, `"href":"http://example.com/identity/v3/"`},
		{"/compute/", 200, `"id":"v2.1"`},
		{"/compute/v2.1", 200, `"version":"2.1"`},
		{"/image", 300, `"href":"http://example.com/image/v2/"`},
		{"/networking/", 200, `"id":"v2.0"`},
		{"/volume/", 300, `"min_version":"3.0"`},
		{"/volume/v3", 200, `"id":"v3.0"`},
	} {
		rec := f.osDo("GET", tc.path, "", "")
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("GET %s = %d %s (%s), want %d with %s", tc.path, rec.Code, rec.Body, rec.Header().Get("Content-Type"), tc.code, tc.want)
		}
	}
}

func TestKeystonePasswordTokenValidateAndRevoke(t *testing.T) {
	f := newAuthFixture(t)
	rec := f.osDo("POST", "/identity/v3/auth/tokens", "", keystoneLogin("member", testUserPassword, "pa"))
	subject := rec.Header().Get("X-Subject-Token")
	var body struct {
		Token struct {
			ExpiresAt string `json:"expires_at"`
			User      struct{ Name string }
			Project   struct{ Name string }
			Roles     []struct{ Name string }
			Catalog   []struct {
				Type      string
				Endpoints []struct{ URL, Interface, Region string }
			}
		}
	}
	decodeInto(t, rec, &body)
	if rec.Code != http.StatusCreated || subject == "" || body.Token.User.Name != "member" || body.Token.Project.Name != "pa" ||
		len(body.Token.Roles) == 0 || !strings.HasSuffix(body.Token.ExpiresAt, "Z") {
		t.Fatalf("password auth = %d %s (subject %q)", rec.Code, rec.Body, subject)
	}
	urls := map[string]string{}
	for _, c := range body.Token.Catalog {
		urls[c.Type] = c.Endpoints[0].URL
	}
	for typ, want := range map[string]string{"identity": "/identity", "compute": "/compute/v2.1", "image": "/image",
		"network": "/networking", "block-storage": "/volume/v3", "volumev3": "/volume/v3"} {
		if urls[typ] != "http://example.com"+want {
			t.Errorf("catalog %s = %q, want http://example.com%s", typ, urls[typ], want)
		}
	}
	if rec := f.do("GET", "/api/v1/instances", subject, ""); rec.Code != 200 {
		t.Errorf("the Keystone token on /api/v1 = %d, want 200 (tokens are cloudlet's own)", rec.Code)
	}
	if rec := f.osDo("GET", "/identity/v3/auth/tokens", subject, "", "X-Subject-Token", subject); rec.Code != 200 ||
		!strings.Contains(rec.Body.String(), `"name":"member"`) {
		t.Errorf("validate = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("HEAD", "/identity/v3/auth/tokens", subject, "", "X-Subject-Token", subject); rec.Code != 200 {
		t.Errorf("HEAD validate = %d", rec.Code)
	}
	if rec := f.osDo("DELETE", "/identity/v3/auth/tokens", subject, "", "X-Subject-Token", subject); rec.Code != http.StatusNoContent {
		t.Fatalf("revoke = %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/instances", subject, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("the revoked token on /api/v1 = %d, want 401", rec.Code)
	}
	other := f.tokens["admin"]
	if rec := f.osDo("GET", "/identity/v3/auth/tokens", other, "", "X-Subject-Token", subject); rec.Code != http.StatusNotFound ||
		!strings.Contains(rec.Body.String(), `"error":{"code":404`) {
		t.Errorf("validating a revoked token = %d %s, want 404 in Keystone's body", rec.Code, rec.Body)
	}
}

func TestKeystoneRefusalsUseKeystonesErrorBody(t *testing.T) {
	f := newAuthFixture(t)
	for name, body := range map[string]string{
		"wrong password": keystoneLogin("member", "wrong", "pa"),
		"other domain":   strings.Replace(keystoneLogin("member", testUserPassword, "pa"), `"user":{"name":"member","domain":{"name":"Default"}`, `"user":{"name":"member","domain":{"name":"Other"}`, 1),
		"no role there":  keystoneLogin("member", testUserPassword, "pb"),
		"token method":   `{"auth":{"identity":{"methods":["token"],"token":{"id":"x"}}}}`,
	} {
		rec := f.osDo("POST", "/identity/v3/auth/tokens", "", body)
		var e struct {
			Error struct {
				Code           int
				Title, Message string
			}
		}
		decodeInto(t, rec, &e)
		if rec.Code != http.StatusUnauthorized || e.Error.Code != 401 || e.Error.Title != "Unauthorized" || e.Error.Message == "" ||
			rec.Header().Get("X-Subject-Token") != "" {
			t.Errorf("%s = %d %s, want 401 in Keystone's body and no token", name, rec.Code, rec.Body)
		}
	}
	if rec := f.osDo("POST", "/identity/v3/auth/tokens", "", `{"auth":`); rec.Code != http.StatusBadRequest {
		t.Errorf("a malformed body = %d, want 400", rec.Code)
	}
}

func TestKeystoneApplicationCredentialAuth(t *testing.T) {
	f := newAuthFixture(t)
	rec := f.do("POST", "/api/v1/credentials", f.tokens["member"], `{"name":"ci","roles":["member"]}`)
	var cred struct{ ID, Secret string }
	decodeInto(t, rec, &cred)
	if cred.ID == "" || cred.Secret == "" {
		t.Fatalf("create credential = %d %s", rec.Code, rec.Body)
	}
	auth := func(id, secret string) *httptest.ResponseRecorder {
		return f.osDo("POST", "/identity/v3/auth/tokens", "", fmt.Sprintf(
			`{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":%q,"secret":%q}}}}`, id, secret))
	}
	ok := auth(cred.ID, cred.Secret)
	if ok.Code != http.StatusCreated || ok.Header().Get("X-Subject-Token") == "" || !strings.Contains(ok.Body.String(), `"application_credential":{"id":"`+cred.ID) {
		t.Fatalf("application credential auth = %d %s", ok.Code, ok.Body)
	}
	if rec := auth("some-other-id", cred.Secret); rec.Code != http.StatusUnauthorized {
		t.Errorf("the secret with another credential's id = %d, want 401", rec.Code)
	}
	if rec := auth(cred.ID, "cred-not-a-secret"); rec.Code != http.StatusUnauthorized {
		t.Errorf("a wrong secret = %d, want 401", rec.Code)
	}
}

func TestNovaFlavorsAnswerIDsNotNamesAndCheckTokenAndMicroversion(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	rec := f.osDo("GET", "/compute/v2.1/flavors/detail", tok, "")
	var list struct {
		Flavors []struct {
			ID, Name string
		}
	}
	decodeInto(t, rec, &list)
	var tiny string
	for _, fl := range list.Flavors {
		if fl.Name == "m1.tiny" {
			tiny = fl.ID
		}
	}
	if rec.Code != 200 || tiny == "" || rec.Header().Get("X-OpenStack-Nova-API-Version") != "2.1" {
		t.Fatalf("flavors/detail = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/compute/v2.1/flavors/"+tiny, tok, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name":"m1.tiny"`) {
		t.Errorf("flavor by id = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/compute/v2.1/flavors/m1.tiny", tok, ""); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"itemNotFound"`) {
		t.Errorf("flavor by name = %d %s, want 404 itemNotFound (clients then look it up by name)", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/compute/v2.1/flavors/"+tiny+"/os-extra_specs", tok, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"extra_specs":{`) {
		t.Errorf("extra specs = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/compute/v2.1/flavors", "", ""); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"error":{"code":401`) {
		t.Errorf("flavors without a token = %d %s, want Keystone's 401", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/compute/v2.1/flavors", tok, "", "OpenStack-API-Version", "compute 2.61"); rec.Code != http.StatusNotAcceptable ||
		!strings.Contains(rec.Body.String(), "maximum is 2.1") {
		t.Errorf("microversion 2.61 = %d %s, want 406", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/compute/v2.1/flavors", tok, "", "X-OpenStack-Nova-API-Version", "two"); rec.Code != http.StatusBadRequest {
		t.Errorf("an unparsable microversion = %d, want 400", rec.Code)
	}
}

func TestGlanceListsFiltersAndShowsImagesByIDOnly(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	var img struct{ ID string }
	decodeInto(t, f.do("POST", "/api/v1/images", tok, `{"name":"ib","disk_format":"qcow2"}`), &img)
	f.do("POST", "/api/v1/images", tok, `{"name":"other","disk_format":"raw"}`)
	var list struct {
		Images []struct{ ID, Name, Status, Visibility string }
	}
	rec := f.osDo("GET", "/image/v2/images?name=ib", tok, "")
	decodeInto(t, rec, &list)
	if rec.Code != 200 || len(list.Images) != 1 || list.Images[0].ID != img.ID || list.Images[0].Status != "queued" {
		t.Errorf("images?name=ib = %d %s, want only ib, queued", rec.Code, rec.Body)
	}
	decodeInto(t, f.osDo("GET", "/image/v2/images?id=in:"+img.ID+",nothing", tok, ""), &list)
	if len(list.Images) != 1 {
		t.Errorf("images?id=in:… = %+v, want ib only", list.Images)
	}
	decodeInto(t, f.osDo("GET", "/image/v2/images?limit=1", tok, ""), &list)
	if len(list.Images) != 1 {
		t.Errorf("images?limit=1 = %d images", len(list.Images))
	}
	if rec := f.osDo("GET", "/image/v2/images/"+img.ID, tok, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"disk_format":"qcow2"`) {
		t.Errorf("image by id = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/image/v2/images/ib", tok, ""); rec.Code != http.StatusNotFound {
		t.Errorf("image by name = %d, want 404 (clients then list ?name=)", rec.Code)
	}
	if rec := f.osDo("GET", "/image/v2/images/"+img.ID, f.tokens["memberb"], ""); rec.Code != http.StatusNotFound {
		t.Errorf("another project's image = %d, want 404", rec.Code)
	}
}

func TestNeutronListsFilterAndShowNetworksAndSubnetsByIDOnly(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	var n struct{ ID string }
	decodeInto(t, f.do("POST", "/api/v1/networks", tok, `{"name":"nb","kind":"isolated","subnet":{"cidr":"10.9.0.0/24"}}`), &n)
	if n.ID == "" {
		t.Fatal("network not created")
	}
	var nets struct {
		Networks []struct {
			ID, Name string
			Subnets  []string
			External bool `json:"router:external"`
		}
	}
	decodeInto(t, f.osDo("GET", "/networking/v2.0/networks?name=nb&router:external=False", tok, ""), &nets)
	if len(nets.Networks) != 1 || nets.Networks[0].ID != n.ID || len(nets.Networks[0].Subnets) != 1 {
		t.Fatalf("networks?name=nb = %+v, want nb with its subnet", nets.Networks)
	}
	decodeInto(t, f.osDo("GET", "/networking/v2.0/networks?name=nothing", tok, ""), &nets)
	if len(nets.Networks) != 0 {
		t.Errorf("networks?name=nothing = %+v, want none: filters must filter", nets.Networks)
	}
	rec := f.osDo("GET", "/networking/v2.0/subnets/"+nets0(t, f, tok), tok, "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"cidr":"10.9.0.0/24"`) || !strings.Contains(rec.Body.String(), `"allocation_pools":[{`) {
		t.Errorf("subnet = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/networking/v2.0/networks/nb", tok, ""); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"NeutronError"`) {
		t.Errorf("network by name = %d %s, want 404 NeutronError", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/networking/v2.0/networks/"+n.ID, f.tokens["memberb"], ""); rec.Code != http.StatusNotFound {
		t.Errorf("another project's network = %d, want 404", rec.Code)
	}
}

// nets0 is the subnet id of the member's network nb, as the networks list names it.
func nets0(t *testing.T, f *authFixture, tok string) string {
	t.Helper()
	var nets struct{ Networks []struct{ Subnets []string } }
	decodeInto(t, f.osDo("GET", "/networking/v2.0/networks?name=nb", tok, ""), &nets)
	if len(nets.Networks) != 1 || len(nets.Networks[0].Subnets) != 1 {
		t.Fatalf("networks?name=nb = %+v", nets)
	}
	return nets.Networks[0].Subnets[0]
}

// TestNovaVersionsListV20FirstAndEachSelfLinkAnswersItsOwnDocument: tempest's compute test_versions
// wants v2.0 listed first and every listed self link to answer {"version":…} with that same link,
// in the keys its schema allows (additionalProperties false).
func TestNovaVersionsListV20FirstAndEachSelfLinkAnswersItsOwnDocument(t *testing.T) {
	f := newAuthFixture(t)
	type version struct {
		ID    string
		Links []struct{ Rel, Href string }
	}
	var list struct{ Versions []map[string]json.RawMessage }
	rec := f.osDo("GET", "/compute/", "", "")
	decodeInto(t, rec, &list)
	if rec.Code != 200 || len(list.Versions) != 2 {
		t.Fatalf("GET /compute/ = %d %s, want v2.0 and v2.1", rec.Code, rec.Body)
	}
	allowed := map[string]bool{"id": true, "links": true, "status": true, "updated": true, "version": true,
		"min_version": true, "media-types": true}
	for i, raw := range list.Versions {
		for k := range raw {
			if !allowed[k] {
				t.Errorf("version %d has key %q, which tempest's schema refuses", i, k)
			}
		}
		var v version
		b, _ := json.Marshal(raw)
		if err := json.Unmarshal(b, &v); err != nil || len(v.Links) != 1 || v.Links[0].Rel != "self" {
			t.Fatalf("version %d = %s (%v), want one self link", i, b, err)
		}
		if i == 0 && v.ID != "v2.0" {
			t.Errorf("first version = %s, want v2.0", v.ID)
		}
		path := strings.TrimPrefix(v.Links[0].Href, "http://example.com")
		var one struct{ Version version }
		rec := f.osDo("GET", path, "", "")
		decodeInto(t, rec, &one)
		if rec.Code != 200 || one.Version.ID != v.ID || len(one.Version.Links) != 1 || one.Version.Links[0] != v.Links[0] {
			t.Errorf("GET %s = %d %s, want %s's document with its self link", path, rec.Code, rec.Body, v.ID)
		}
	}
}

// TestCinderV3DocumentIsAListOfItsOneVersion: Cinder answers GET /v3/ as it answers its root, with a
// versions list (tempest's volume show_version reads versions[0]), each carrying the seven keys its
// schema requires.
func TestCinderV3DocumentIsAListOfItsOneVersion(t *testing.T) {
	f := newAuthFixture(t)
	for _, path := range []string{"/volume/v3", "/volume/v3/"} {
		var doc struct{ Versions []map[string]any }
		rec := f.osDo("GET", path, "", "")
		decodeInto(t, rec, &doc)
		if rec.Code != 200 || len(doc.Versions) != 1 || doc.Versions[0]["id"] != "v3.0" {
			t.Fatalf("GET %s = %d %s, want 200 with versions [v3.0]", path, rec.Code, rec.Body)
		}
		for _, k := range []string{"id", "status", "version", "min_version", "updated", "links", "media-types"} {
			if _, ok := doc.Versions[0][k]; !ok {
				t.Errorf("GET %s: the version lacks %q", path, k)
			}
		}
	}
}

// TestKeystoneValidatingATokenAnswersTheBodyIssuingItDid: tempest's test_validate_token compares the
// token body of POST /v3/auth/tokens with GET's for the same token, issued_at included.
func TestKeystoneValidatingATokenAnswersTheBodyIssuingItDid(t *testing.T) {
	f := newAuthFixture(t)
	rec := f.osDo("POST", "/identity/v3/auth/tokens", "", keystoneLogin("member", testUserPassword, "pa"))
	subject := rec.Header().Get("X-Subject-Token")
	var issued, validated map[string]any
	decodeInto(t, rec, &issued)
	if rec.Code != http.StatusCreated || subject == "" {
		t.Fatalf("issue = %d %s", rec.Code, rec.Body)
	}
	f.clock.Set(f.clock.Now().Add(time.Minute)) // validation happens later than issuing
	rec = f.osDo("GET", "/identity/v3/auth/tokens", subject, "", "X-Subject-Token", subject)
	decodeInto(t, rec, &validated)
	if rec.Code != 200 || !reflect.DeepEqual(issued, validated) {
		t.Errorf("validate = %d\n%s\nwant the issued body\n%v", rec.Code, rec.Body, issued)
	}
}

// TestNovaFlavorListsFilterByMinDiskAndMinRamAndPageByMarkerAndLimit: Nova's flavor list query, as
// tempest's FlavorsV2TestJSON and gophercloud's flavors.ListOpts (Terraform's flavor lookup) send it:
// minDisk and minRam leave out smaller flavors, limit cuts the list (with a next link while more
// remain), marker starts after that flavor, and bad values are 400 in Nova's body.
func TestNovaFlavorListsFilterByMinDiskAndMinRamAndPageByMarkerAndLimit(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	type flavor struct {
		ID        string
		RAM, Disk int
	}
	list := func(query string) ([]flavor, []struct{ Rel, Href string }) {
		t.Helper()
		rec := f.osDo("GET", "/compute/v2.1/flavors/detail"+query, tok, "")
		var out struct {
			Flavors      []flavor
			FlavorsLinks []struct{ Rel, Href string } `json:"flavors_links"`
		}
		decodeInto(t, rec, &out)
		if rec.Code != 200 {
			t.Fatalf("flavors/detail%s = %d %s", query, rec.Code, rec.Body)
		}
		return out.Flavors, out.FlavorsLinks
	}
	all, links := list("")
	if len(all) < 3 || links != nil {
		t.Fatalf("all flavors = %+v (links %+v), want the defaults and no next link", all, links)
	}
	tiny := all[slices.IndexFunc(all, func(fl flavor) bool { return fl.RAM == 512 })]
	for _, q := range []string{fmt.Sprintf("?minDisk=%d", tiny.Disk+1), fmt.Sprintf("?minRam=%d", tiny.RAM+1)} {
		got, _ := list(q)
		if len(got) == 0 || slices.ContainsFunc(got, func(fl flavor) bool { return fl.Disk <= tiny.Disk && fl.RAM <= tiny.RAM }) {
			t.Errorf("flavors%s = %+v, want only flavors bigger than m1.tiny %+v", q, got, tiny)
		}
	}
	first, links := list("?limit=1")
	if len(first) != 1 || first[0] != all[0] || len(links) != 1 || links[0].Rel != "next" ||
		!strings.Contains(links[0].Href, "marker="+all[0].ID) {
		t.Fatalf("flavors?limit=1 = %+v %+v, want %+v and a next link after it", first, links, all[0])
	}
	rest, _ := list("?marker=" + all[0].ID)
	if !slices.Equal(rest, all[1:]) {
		t.Errorf("flavors?marker=first = %+v, want %+v", rest, all[1:])
	}
	for _, q := range []string{"?limit=-1", "?minRam=lots", "?marker=no-such-flavor"} {
		if rec := f.osDo("GET", "/compute/v2.1/flavors"+q, tok, ""); rec.Code != http.StatusBadRequest ||
			!strings.Contains(rec.Body.String(), `"badRequest"`) {
			t.Errorf("flavors%s = %d %s, want 400 badRequest", q, rec.Code, rec.Body)
		}
	}
}

// TestKeystoneAuthCatalogIsTheTokensCatalog: GET /v3/auth/catalog answers the caller's catalog (the
// one in its token; tempest's identity catalog test reads it), and Keystone's 401 without a token.
func TestKeystoneAuthCatalogIsTheTokensCatalog(t *testing.T) {
	f := newAuthFixture(t)
	rec := f.osDo("POST", "/identity/v3/auth/tokens", "", keystoneLogin("member", testUserPassword, "pa"))
	var issued struct {
		Token struct{ Catalog []any }
	}
	decodeInto(t, rec, &issued)
	var got struct{ Catalog []any }
	rec = f.osDo("GET", "/identity/v3/auth/catalog", rec.Header().Get("X-Subject-Token"), "")
	decodeInto(t, rec, &got)
	if rec.Code != 200 || len(got.Catalog) == 0 || !reflect.DeepEqual(got.Catalog, issued.Token.Catalog) {
		t.Errorf("auth/catalog = %d %s, want the token's catalog", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/identity/v3/auth/catalog", "", ""); rec.Code != http.StatusUnauthorized ||
		!strings.Contains(rec.Body.String(), `"error":{"code":401`) {
		t.Errorf("auth/catalog without a token = %d %s, want Keystone's 401", rec.Code, rec.Body)
	}
}

// TestKeystoneListsTheCallersOwnProjectsOnly: GET /v3/users/{own id}/projects answers the projects
// the caller may scope to (tempest's test_list_projects_returns_only_authorized_projects then logs
// in to each); another user's list is 403 and no token is Keystone's 401.
func TestKeystoneListsTheCallersOwnProjectsOnly(t *testing.T) {
	f := newAuthFixture(t)
	rec := f.osDo("POST", "/identity/v3/auth/tokens", "", keystoneLogin("member", testUserPassword, "pa"))
	var issued struct {
		Token struct{ User struct{ ID string } }
	}
	decodeInto(t, rec, &issued)
	tok := rec.Header().Get("X-Subject-Token")
	var own struct {
		Projects []struct {
			Name     string `json:"name"`
			DomainID string `json:"domain_id"`
		}
	}
	rec = f.osDo("GET", "/identity/v3/users/"+issued.Token.User.ID+"/projects", tok, "")
	decodeInto(t, rec, &own)
	if rec.Code != 200 || len(own.Projects) != 1 || own.Projects[0].Name != "pa" || own.Projects[0].DomainID != "default" {
		t.Errorf("own projects = %d %s, want [pa] in domain default", rec.Code, rec.Body)
	}
	var other struct {
		Token struct{ User struct{ ID string } }
	}
	decodeInto(t, f.osDo("POST", "/identity/v3/auth/tokens", "", keystoneLogin("memberb", testUserPassword, "pb")), &other)
	if rec := f.osDo("GET", "/identity/v3/users/"+other.Token.User.ID+"/projects", tok, ""); rec.Code != http.StatusForbidden ||
		!strings.Contains(rec.Body.String(), `"error":{"code":403`) {
		t.Errorf("another user's projects = %d %s, want Keystone's 403", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/identity/v3/users/"+issued.Token.User.ID+"/projects", "", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("without a token = %d, want 401", rec.Code)
	}
}

// Every OpenStack answer carries x-openstack-request-id ("req-" and a UUID), a new one per request:
// tempest reads it from a server create's answer.
func TestEveryOpenStackAnswerCarriesARequestID(t *testing.T) {
	f := newAuthFixture(t)
	seen := map[string]bool{}
	for _, path := range []string{"/identity/v3", "/compute/v2.1/flavors", "/image/v2/images", "/networking/v2.0/networks", "/volume/v3/volumes"} {
		id := f.osDo("GET", path, "", "").Header().Get("X-Openstack-Request-Id")
		if len(id) != len("req-")+36 || !strings.HasPrefix(id, "req-") || seen[id] {
			t.Errorf("GET %s: x-openstack-request-id %q, want a new req-<uuid>", path, id)
		}
		seen[id] = true
	}
}
