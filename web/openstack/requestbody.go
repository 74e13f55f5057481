package openstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// maxRequestBody bounds what a JSON request body may be (/api/v1 bounds its own again).
const maxRequestBody = 1 << 20

// decodeStrictBody decodes a JSON body refusing unknown fields, as Nova's request schemas do.
func decodeStrictBody(r *http.Request, v any) error { return decodeBody(r, v, true) }

// decodeLenientBody decodes a JSON body ignoring unknown fields: cinderclient sends keys (many of
// them null) that cloudlet has no use for.
func decodeLenientBody(r *http.Request, v any) error { return decodeBody(r, v, false) }

func decodeBody(r *http.Request, v any, strict bool) error {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, maxRequestBody)); err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	dec := json.NewDecoder(&buf)
	if strict {
		dec.DisallowUnknownFields()
	}
	return dec.Decode(v)
}

// describeBodyError says what was wrong with a body ("missing" when it decoded but lacked the key).
func describeBodyError(err error) string {
	if err == nil {
		return "missing"
	}
	return err.Error()
}
