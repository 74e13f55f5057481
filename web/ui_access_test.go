package web

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"cloudlet/appliance/identity"
)

func newPublicKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " test@example"
}

// keypairNames lists the user's keypairs as the API has them.
func (f *authFixture) keypairNames(token string) []string {
	var ks []identity.Keypair
	f.apiJSON("/api/v1/keypairs", token, &ks)
	var names []string
	for _, k := range ks {
		names = append(names, k.Name)
	}
	return names
}

var privateKeyLink = regexp.MustCompile(`download="gen1.pem" href="data:application/x-pem-file;base64,([^"]+)"`)

func TestDashboardKeypairsGenerateOffersThePrivateKeyOnce(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	rec := b.sendForm("/keypairs", "/keypairs", url.Values{"form": {"generate"}, "name": {"gen1"}})
	if rec.Code != http.StatusCreated {
		t.Fatalf("generate = %d %s", rec.Code, rec.Body)
	}
	m := privateKeyLink.FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("the answer offers no download of the private key:\n%s", rec.Body)
	}
	pem, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil || !strings.Contains(string(pem), "BEGIN OPENSSH PRIVATE KEY") {
		t.Fatalf("the download is not an OpenSSH private key (%v): %q", err, pem)
	}
	if _, err := ssh.ParsePrivateKey(pem); err != nil {
		t.Errorf("the downloaded private key does not parse: %v", err)
	}
	page := b.do("GET", "/keypairs", nil).Body.String()
	mustContain(t, "the keypairs page", page, "gen1", "ssh-ed25519", "SHA256:")
	mustNotContain(t, "the keypairs page after the generation", page, "PRIVATE KEY", m[1][:40])
	if got := f.keypairNames(f.tokens["member"]); len(got) != 1 || got[0] != "gen1" {
		t.Errorf("the API's keypairs = %v, want [gen1]", got)
	}
}

func TestDashboardKeypairsImportAndDeleteWithConfirmation(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	rec := b.sendForm("/keypairs", "/keypairs", url.Values{"form": {"import"}, "name": {"laptop"}, "public_key": {newPublicKey(t)}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/keypairs" {
		t.Fatalf("import = %d to %q: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	var ks []identity.Keypair
	f.apiJSON("/api/v1/keypairs", f.tokens["member"], &ks)
	if len(ks) != 1 || ks[0].Name != "laptop" {
		t.Fatalf("the API's keypairs after the import = %+v", ks)
	}
	page := b.do("GET", "/keypairs", nil).Body.String()
	mustContain(t, "the keypairs page", page, `<details class="confirm">`, `action="/keypairs/`+ks[0].ID+`/delete"`,
		"Delete keypair laptop?")
	if rec := b.sendForm("/keypairs", "/keypairs/"+ks[0].ID+"/delete", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete = %d %s", rec.Code, rec.Body)
	}
	if got := f.keypairNames(f.tokens["member"]); len(got) != 0 {
		t.Errorf("the API's keypairs after the delete = %v", got)
	}
}

func TestDashboardKeypairImportShowsTheAPIsErrorOnTheField(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	rec := b.sendForm("/keypairs", "/keypairs", url.Values{"form": {"import"}, "name": {"bad"}, "public_key": {"ssh-ed25519 not-base64"}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("import of a broken key = %d, want 422: %s", rec.Code, rec.Body)
	}
	mustContain(t, "the refused import", rec.Body.String(), `role="alert" id="imp-error">import keypair`,
		`name="public_key" required aria-invalid="true" aria-describedby="imp-error">ssh-ed25519 not-base64</textarea>`,
		`id="imp-name" name="name" required maxlength="255" value="bad">`)
	if got := f.keypairNames(f.tokens["member"]); len(got) != 0 {
		t.Errorf("a refused import left keypairs %v", got)
	}
}

func TestDashboardKeypairsReaderSeesNoFormsAndIsRefused(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("reader", testUserPassword, "pa", "/overview")
	page := b.do("GET", "/keypairs", nil)
	if page.Code != http.StatusOK {
		t.Fatalf("GET /keypairs as a reader = %d", page.Code)
	}
	mustNotContain(t, "a reader's keypairs page", page.Body.String(), "Import a public key", "Generate a keypair")
	rec := b.sendForm("/keypairs", "/keypairs", url.Values{"form": {"generate"}, "name": {"forced"}})
	if rec.Code != http.StatusForbidden {
		t.Errorf("a reader's forced generate = %d, want 403: %s", rec.Code, rec.Body)
	}
	if got := f.keypairNames(f.tokens["reader"]); len(got) != 0 {
		t.Errorf("a reader's forced generate made keypairs %v", got)
	}
}

var secretOnPage = regexp.MustCompile(`<textarea id="new-secret" readonly>([^<]+)</textarea>`)

func TestDashboardAPIKeysCreateShowsTheSecretOnceAndRevokeEndsIt(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	expires := time.Now().AddDate(0, 0, 30).UTC().Format(time.DateOnly)
	rec := b.sendForm("/api-keys", "/api-keys", url.Values{"name": {"ci"}, "description": {"the CI"},
		"roles": {"member"}, "allowed_actions": {"instance:list\nimage:list"}, "expires": {expires}})
	if rec.Code != http.StatusCreated {
		t.Fatalf("create = %d %s", rec.Code, rec.Body)
	}
	m := secretOnPage.FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("the answer shows no secret:\n%s", rec.Body)
	}
	secret := m[1]
	if got := f.do("GET", "/api/v1/instances", secret, ""); got.Code != http.StatusOK {
		t.Errorf("the new key's GET /api/v1/instances = %d, want 200", got.Code)
	}
	if got := f.do("GET", "/api/v1/volumes", secret, ""); got.Code != http.StatusForbidden {
		t.Errorf("the new key's GET /api/v1/volumes (not an allowed action) = %d, want 403", got.Code)
	}
	page := b.do("GET", "/api-keys", nil).Body.String()
	mustContain(t, "the API keys page", page, "ci", "the CI", "<code>instance:list</code>", expires+" 00:00 UTC")
	mustNotContain(t, "the API keys page after the creation", page, secret)
	var cs []identity.Credential
	f.apiJSON("/api/v1/credentials", f.tokens["member"], &cs)
	if len(cs) != 1 {
		t.Fatalf("the API's credentials = %+v", cs)
	}
	mustContain(t, "the API keys page", page, `action="/api-keys/`+cs[0].ID+`/revoke"`, "Revoke API key ci?")
	if rec := b.sendForm("/api-keys", "/api-keys/"+cs[0].ID+"/revoke", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("revoke = %d %s", rec.Code, rec.Body)
	}
	if got := f.do("GET", "/api/v1/instances", secret, ""); got.Code != http.StatusUnauthorized {
		t.Errorf("the revoked key's GET /api/v1/instances = %d, want 401", got.Code)
	}
}

func TestDashboardAPIKeyCreateShowsTheAPIsErrorOnTheField(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	rec := b.sendForm("/api-keys", "/api-keys", url.Values{"name": {"old"}, "expires": {"2001-01-01"}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("create with a past expiry = %d, want 422: %s", rec.Code, rec.Body)
	}
	mustContain(t, "the refused create", rec.Body.String(), `role="alert" id="key-error">`,
		`value="2001-01-01" aria-invalid="true" aria-describedby="key-error"`)
	rec = b.sendForm("/api-keys", "/api-keys", url.Values{"name": {"odd"}, "allowed_actions": {"nothing:real"}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("create with an unknown action = %d, want 422: %s", rec.Code, rec.Body)
	}
	mustContain(t, "the refused create", rec.Body.String(), `aria-invalid="true" aria-describedby="key-error">nothing:real</textarea>`)
}

func TestDashboardAccessTabsLinkKeypairsAndAPIKeys(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	nav := b.do("GET", "/overview", nil).Body.String()
	mustContain(t, "the navigation", nav, `<a href="/keypairs">Access</a>`)
	page := b.do("GET", "/api-keys", nil).Body.String()
	mustContain(t, "the API keys page", page, `<a href="/keypairs">Keypairs</a>`, `<a href="/api-keys" aria-current="page">API keys</a>`)
}

func TestDashboardAccessPageSwappedIntoMainBringsItsStylesheet(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	rec := b.do("GET", "/keypairs", nil, "HX-Request", "true", "HX-Target", "main")
	if rec.Code != http.StatusOK {
		t.Fatalf("htmx GET /keypairs = %d", rec.Code)
	}
	mustContain(t, "the swapped main", rec.Body.String(), `/admin.css?v=`, "Your keypairs")
	mustNotContain(t, "the swapped main", rec.Body.String(), "<html")
}
