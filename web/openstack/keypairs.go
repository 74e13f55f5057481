package openstack

import (
	"hash/fnv"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/crypto/ssh"

	"cloudlet/appliance/identity"
	"cloudlet/web/client"
)

// Nova 2.1's os-keypairs at /compute/v2.1 (research §3): the caller's own keypairs in
// /api/v1/keypairs, addressed by name as Nova does. Limits, availability zones and quota sets
// (limits.go) are registered here too.
func (s *Server) registerKeypairs() {
	s.handle(http.MethodGet, "/compute/v2.1/os-keypairs", s.nova(s.listKeypairs))
	s.handle(http.MethodPost, "/compute/v2.1/os-keypairs", s.nova(s.createKeypair))
	s.handle(http.MethodGet, "/compute/v2.1/os-keypairs/{name}", s.nova(s.showKeypair))
	s.handle(http.MethodDelete, "/compute/v2.1/os-keypairs/{name}", s.nova(s.deleteKeypair))
	s.registerComputeLimits()
}

// keypairBrief is a keypair as Nova 2.1 lists it (and, with user_id and private_key, creates it).
func keypairBrief(k identity.Keypair) map[string]any {
	return map[string]any{"name": k.Name, "public_key": k.PublicKey, "fingerprint": novaFingerprint(k)}
}

// novaFingerprint is the key's fingerprint as Nova writes it: MD5, colon-separated hex (cloudlet's
// own is SHA256:…; both are of the same key).
func novaFingerprint(k identity.Keypair) string {
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.PublicKey))
	if err != nil {
		return k.Fingerprint
	}
	return ssh.FingerprintLegacyMD5(key)
}

// keypairDetail is a keypair as GET /os-keypairs/{name} shows it at 2.1: Nova's database row. A
// keypair is never soft-deleted here; id is a number derived from cloudlet's UUID (Nova's is an
// autoincrement nobody addresses keypairs by).
func keypairDetail(k identity.Keypair) map[string]any {
	v := keypairBrief(k)
	h := fnv.New32a()
	h.Write([]byte(k.ID))
	v["user_id"], v["deleted"], v["id"] = k.UserID, false, int(h.Sum32()&0x7fffffff)
	v["created_at"], v["updated_at"], v["deleted_at"] = k.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000"), nil, nil
	return v
}

func (s *Server) listKeypairs(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var list []identity.Keypair
	if err := api.Do(r.Context(), http.MethodGet, "/api/v1/keypairs", nil, &list); err != nil {
		writeAPIError(w, err)
		return
	}
	out := make([]map[string]any, 0, len(list))
	for _, k := range list {
		if matches(keypairBrief(k), r.URL.Query()) {
			out = append(out, map[string]any{"keypair": keypairBrief(k)})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"keypairs": out})
}

// keypairCreate is POST /os-keypairs at 2.1: Nova's schema allows nothing else (type and user_id
// come with later microversions).
type keypairCreate struct {
	Keypair *struct {
		Name      string  `json:"name"`
		PublicKey *string `json:"public_key"`
	} `json:"keypair"`
}

// createKeypair imports the given public key or, with none, has cloudlet generate a keypair whose
// private key comes back this once. Nova answers 200 at 2.1.
func (s *Server) createKeypair(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var body keypairCreate
	if err := decodeStrictBody(r, &body); err != nil || body.Keypair == nil {
		novaError(w, http.StatusBadRequest, "Invalid input for field/attribute keypair: "+describeBodyError(err))
		return
	}
	in := map[string]string{"name": body.Keypair.Name}
	if pk := body.Keypair.PublicKey; pk != nil {
		if strings.TrimSpace(*pk) == "" {
			novaError(w, http.StatusBadRequest, "Keypair data is invalid: public_key is empty")
			return
		}
		in["public_key"] = *pk
	}
	var k identity.Keypair
	if err := api.Do(r.Context(), http.MethodPost, "/api/v1/keypairs", in, &k); err != nil {
		keypairAPIError(w, err)
		return
	}
	v := keypairBrief(k)
	v["user_id"] = k.UserID
	if k.PrivateKey != "" {
		v["private_key"] = k.PrivateKey
	}
	writeJSON(w, http.StatusOK, map[string]any{"keypair": v})
}

// findKeypair reads the caller's keypair by name; /api/v1 also takes its ID, which Nova does not
// know: that is 404, like a missing name.
func findKeypair(w http.ResponseWriter, r *http.Request, api *client.Client) (identity.Keypair, bool) {
	name := r.PathValue("name")
	var k identity.Keypair
	err := api.Do(r.Context(), http.MethodGet, "/api/v1/keypairs/"+url.PathEscape(name), nil, &k)
	if err == nil && k.Name != name {
		err = &client.Error{Code: http.StatusNotFound, Message: "Keypair " + name + " not found"}
	}
	if err != nil {
		keypairAPIError(w, err)
		return k, false
	}
	return k, true
}

func (s *Server) showKeypair(w http.ResponseWriter, r *http.Request, api *client.Client) {
	if k, ok := findKeypair(w, r, api); ok {
		writeJSON(w, http.StatusOK, map[string]any{"keypair": keypairDetail(k)})
	}
}

// deleteKeypair deletes by the ID found for the name; Nova answers 202 at 2.1.
func (s *Server) deleteKeypair(w http.ResponseWriter, r *http.Request, api *client.Client) {
	k, ok := findKeypair(w, r, api)
	if !ok {
		return
	}
	if err := api.Do(r.Context(), http.MethodDelete, "/api/v1/keypairs/"+k.ID, nil, nil); err != nil {
		keypairAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// keypairAPIError writes an API error as Nova's keypairs answer it: over quota is 403 there.
func keypairAPIError(w http.ResponseWriter, err error) {
	status, msg := apiStatus(err)
	if isQuotaExceeded(status, msg) {
		status = http.StatusForbidden
	}
	novaError(w, status, msg)
}

// isQuotaExceeded tells cloudlet's quota refusal (409 "quota exceeded for …") from other conflicts:
// Nova and Cinder answer it with their own statuses.
func isQuotaExceeded(status int, msg string) bool {
	return status == http.StatusConflict && strings.Contains(msg, "quota exceeded")
}
