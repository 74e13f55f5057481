package web

import (
	"net/http"
	"strings"
	"testing"

	"cloudlet/appliance/identity"
)

// tempestRSAKey is a 2048-bit RSA public key with a comment, in authorized_keys form.
const tempestRSAKey = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCsNe3/1ILNCqFyfYWDeTKLD6jEXC2OQHLmietMWW+/vdaZq7KZEwO0jhglaFjU1mpqq4Gz5RX156sCTNM9vRbwKAxfsdF9laBYVsex3m3Wmui3uYrKyumsoJn2g9GNnG1PI1mrVjZ61i0GY3khna+wzlTpCCmy5HNlrmbj3XLqBUpipTOXmsnr4sChzC53KCd8LXuwc1i/CZPvF+3XipvAgFSE53pCtLOeB1kYMOBaiUPLQTWXR3JpckqFIQwhIH0zoHlJvZE8hh90XcPojYN56tI0OlrGqojbediJYD0rUsJu4weZpbn8vilb3JuDY+jwssnSA8wzBx3A/8y9Pp1B nova@ubuntu"

type novaKeypair struct {
	Name      string `json:"name"`
	UserID    string `json:"user_id"`
	ID        *int   `json:"id"`
	Deleted   *bool  `json:"deleted"`
	CreatedAt string `json:"created_at"`
}

func TestNovaKeypairsGenerateImportShowListAndDeleteByName(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	var gen struct{ Keypair map[string]any }
	rec := f.osDo("POST", "/compute/v2.1/os-keypairs", tok, `{"keypair":{"name":"k1"}}`)
	decodeInto(t, rec, &gen)
	if rec.Code != http.StatusOK || !strings.HasPrefix(gen.Keypair["private_key"].(string), "-----BEGIN OPENSSH PRIVATE KEY-----") ||
		gen.Keypair["user_id"] == "" || len(gen.Keypair) != 5 {
		t.Fatalf("generate = %d %s, want 200 with name, public_key, fingerprint, user_id and private_key only", rec.Code, rec.Body)
	}
	rec = f.osDo("POST", "/compute/v2.1/os-keypairs", tok, `{"keypair":{"name":"k2","public_key":"`+tempestRSAKey+`"}}`)
	var imp struct{ Keypair map[string]any }
	decodeInto(t, rec, &imp)
	if rec.Code != http.StatusOK || imp.Keypair["private_key"] != nil || !strings.HasPrefix(imp.Keypair["public_key"].(string), "ssh-rsa AAAAB3") ||
		len(strings.Split(imp.Keypair["fingerprint"].(string), ":")) != 16 {
		t.Fatalf("import = %d %s, want 200, no private key, an MD5 fingerprint", rec.Code, rec.Body)
	}
	var native []identity.Keypair
	decodeInto(t, f.do("GET", "/api/v1/keypairs", tok, ""), &native)
	if len(native) != 2 {
		t.Fatalf("/api/v1/keypairs has %d keypairs, want the 2 made through Nova", len(native))
	}

	var list struct {
		Keypairs []struct{ Keypair map[string]any }
	}
	decodeInto(t, f.osDo("GET", "/compute/v2.1/os-keypairs", tok, ""), &list)
	if len(list.Keypairs) != 2 || len(list.Keypairs[1].Keypair) != 3 || list.Keypairs[1].Keypair["fingerprint"] != imp.Keypair["fingerprint"] ||
		list.Keypairs[1].Keypair["public_key"] != imp.Keypair["public_key"] {
		t.Fatalf("list = %+v, want k1 and k2 as created, name, public_key and fingerprint only", list)
	}

	var show struct{ Keypair novaKeypair }
	rec = f.osDo("GET", "/compute/v2.1/os-keypairs/k2", tok, "")
	decodeInto(t, rec, &show)
	if rec.Code != 200 || show.Keypair.Name != "k2" || show.Keypair.ID == nil || show.Keypair.Deleted == nil || *show.Keypair.Deleted ||
		show.Keypair.UserID == "" || strings.HasSuffix(show.Keypair.CreatedAt, "Z") || !strings.Contains(rec.Body.String(), `"deleted_at":null`) {
		t.Fatalf("show = %d %s", rec.Code, rec.Body)
	}

	if rec := f.osDo("DELETE", "/compute/v2.1/os-keypairs/k2", tok, ""); rec.Code != http.StatusAccepted {
		t.Fatalf("delete = %d %s, want 202", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/keypairs/k2", tok, ""); rec.Code != http.StatusNotFound {
		t.Errorf("k2 in /api/v1 after delete = %d, want 404", rec.Code)
	}
}

func TestNovaKeypairsRefuseBadInputInNovasShape(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	if rec := f.osDo("POST", "/compute/v2.1/os-keypairs", tok, `{"keypair":{"name":"k1"}}`); rec.Code != 200 {
		t.Fatalf("create k1 = %d %s", rec.Code, rec.Body)
	}
	var k1 identity.Keypair
	decodeInto(t, f.do("GET", "/api/v1/keypairs/k1", tok, ""), &k1)
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		fault                    string
	}{
		{"a duplicate name", "POST", "/compute/v2.1/os-keypairs", `{"keypair":{"name":"k1"}}`, 409, "conflictingRequest"},
		{"an invalid name", "POST", "/compute/v2.1/os-keypairs", `{"keypair":{"name":"no/slash"}}`, 400, "badRequest"},
		{"no name", "POST", "/compute/v2.1/os-keypairs", `{"keypair":{}}`, 400, "badRequest"},
		{"an invalid key", "POST", "/compute/v2.1/os-keypairs", `{"keypair":{"name":"k3","public_key":"ssh-rsa nonsense"}}`, 400, "badRequest"},
		{"an empty key", "POST", "/compute/v2.1/os-keypairs", `{"keypair":{"name":"k3","public_key":""}}`, 400, "badRequest"},
		{"a field 2.1 does not have", "POST", "/compute/v2.1/os-keypairs", `{"keypair":{"name":"k3","type":"ssh"}}`, 400, "badRequest"},
		{"no keypair object", "POST", "/compute/v2.1/os-keypairs", `{"name":"k3"}`, 400, "badRequest"},
		{"an unknown name", "GET", "/compute/v2.1/os-keypairs/nope", "", 404, "itemNotFound"},
		{"the native id instead of the name", "GET", "/compute/v2.1/os-keypairs/" + k1.ID, "", 404, "itemNotFound"},
		{"deleting by the native id", "DELETE", "/compute/v2.1/os-keypairs/" + k1.ID, "", 404, "itemNotFound"},
		{"deleting an unknown name", "DELETE", "/compute/v2.1/os-keypairs/nope", "", 404, "itemNotFound"},
	} {
		rec := f.osDo(tc.method, tc.path, tok, tc.body)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), `"`+tc.fault+`":{"code":`) {
			t.Errorf("%s: %s %s = %d %s, want %d %s", tc.name, tc.method, tc.path, rec.Code, rec.Body, tc.code, tc.fault)
		}
	}
	if rec := f.osDo("GET", "/compute/v2.1/os-keypairs/k1", f.tokens["memberb"], ""); rec.Code != http.StatusNotFound {
		t.Errorf("another user's keypair = %d, want 404", rec.Code)
	}
	if rec := f.osDo("GET", "/compute/v2.1/os-keypairs", "", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("no token = %d, want 401", rec.Code)
	}
}

func TestNovaKeypairsOverQuotaIsForbiddenAsInNova(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	if _, err := f.ids.SetLimits(t.Context(), "pa", map[string]int64{identity.QuotaKeypairs: 1}); err != nil {
		t.Fatal(err)
	}
	if rec := f.osDo("POST", "/compute/v2.1/os-keypairs", tok, `{"keypair":{"name":"k1"}}`); rec.Code != 200 {
		t.Fatalf("the first keypair = %d %s", rec.Code, rec.Body)
	}
	rec := f.osDo("POST", "/compute/v2.1/os-keypairs", tok, `{"keypair":{"name":"k2"}}`)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), `"forbidden":{"code":403,"message":"`) ||
		!strings.Contains(rec.Body.String(), "quota exceeded for keypairs") {
		t.Errorf("over the keypairs quota = %d %s, want Nova's 403", rec.Code, rec.Body)
	}
}
