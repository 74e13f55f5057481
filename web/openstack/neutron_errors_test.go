package openstack

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"cloudlet/web/client"
)

func TestNeutronAPIErrorTypesEachNativeRefusal(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		typ    string
	}{
		{&client.Error{Code: 404, Message: "network n9 not found"}, 404, "NetworkNotFound"},
		{&client.Error{Code: 409, Message: "network n1 still has port p1 on 10.0.0.2: delete its ports first"}, 409, "NetworkInUse"},
		{&client.Error{Code: 409, Message: "quota exceeded: networks 1 of 1 in use"}, 409, "OverQuota"},
		{&client.Error{Code: 400, Message: "subnet cidr has host bits set"}, 400, "InvalidInput"},
		{&client.Error{Code: 403, Message: "network:create_external is not allowed"}, 403, "PolicyNotAuthorized"},
		{errors.New("connection reset"), 502, "HTTPError"},
	} {
		rec := httptest.NewRecorder()
		neutronAPIError(rec, c.err, networkErrs)
		var body struct {
			NeutronError struct{ Type, Message string }
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != c.status || body.NeutronError.Type != c.typ {
			t.Errorf("%v: %d %s, want %d %s", c.err, rec.Code, rec.Body, c.status, c.typ)
		}
	}
	rec := httptest.NewRecorder()
	neutronAPIError(rec, &client.Error{Code: http.StatusUnauthorized, Message: "no"}, networkErrs)
	if rec.Code != 401 || rec.Body.String() == "" || json.Valid(rec.Body.Bytes()) && string(rec.Body.Bytes()[:9]) != `{"error":` {
		t.Errorf("a 401: %d %s, want Keystone's body", rec.Code, rec.Body)
	}
}
