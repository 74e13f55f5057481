package openstack

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"cloudlet/images"
	"cloudlet/web/client"
)

// The JSON-patch media types of Glance's PATCH: v2.1 is RFC 6902's form ({"op","path","value"},
// the SDK's), v2.0 the older draft ({"replace":"/name","value"}, tempest's).
const (
	patchV21 = "application/openstack-images-v2.1-json-patch"
	patchV20 = "application/openstack-images-v2.0-json-patch"
)

// patchOp is one operation of a PATCH body, in either form.
type patchOp struct {
	op, key string
	value   json.RawMessage
}

// patchImage serves PATCH /image/v2/images/{id}: the operations become one PATCH of /api/v1's
// image (fields, and properties merged), 200 with the image. Bad operations or paths are 400,
// read-only attributes 403, another media type 415.
func (s *Server) patchImage(w http.ResponseWriter, r *http.Request, api *client.Client) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != patchV21 && mt != patchV20 {
		glanceError(w, http.StatusUnsupportedMediaType, "PATCH takes "+patchV21+" or "+patchV20)
		return
	}
	var raw []map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		glanceError(w, http.StatusBadRequest, "the body must be a JSON array of patch operations")
		return
	}
	img, ok := imageByID(w, r, api)
	if !ok {
		return
	}
	body, err := patchBody(img, raw)
	if err != nil {
		writeAttributeError(w, err)
		return
	}
	if len(body) > 0 {
		var updated images.Image // decoded afresh: into img, removed properties would stay
		if err := api.Do(r.Context(), http.MethodPatch, "/api/v1/images/"+img.ID, body, &updated); err != nil {
			glanceAPIError(w, err)
			return
		}
		img = updated
	}
	writeJSON(w, http.StatusOK, s.imageView(img))
}

// patchBody turns the operations into /api/v1's PATCH body, checked against img as it is.
func patchBody(img images.Image, raw []map[string]json.RawMessage) (map[string]any, error) {
	body, props := map[string]any{}, map[string]*string{}
	have := func(key string) bool {
		if v, set := props[key]; set {
			return v != nil
		}
		_, ok := img.Properties[key]
		return ok
	}
	for _, m := range raw {
		op, err := decodeOp(m)
		if err != nil {
			return nil, err
		}
		if err := applyOp(img, op, body, props, have); err != nil {
			return nil, err
		}
	}
	if len(props) > 0 {
		body["properties"] = props
	}
	return body, nil
}

// decodeOp reads one operation in either form; its path must name one top-level attribute.
func decodeOp(m map[string]json.RawMessage) (patchOp, error) {
	var op patchOp
	var path string
	if raw, ok := m["op"]; ok {
		if json.Unmarshal(raw, &op.op) != nil || json.Unmarshal(m["path"], &path) != nil {
			return op, badAttribute("a patch operation needs op and path strings")
		}
	} else {
		for _, name := range []string{"add", "replace", "remove"} {
			if raw, ok := m[name]; ok && json.Unmarshal(raw, &path) == nil {
				op.op = name
			}
		}
	}
	if op.op != "add" && op.op != "replace" && op.op != "remove" {
		return op, badAttribute("Invalid operation: %q: use add, replace or remove", op.op)
	}
	op.value = m["value"]
	if op.op != "remove" && op.value == nil {
		return op, badAttribute("Operation %s of %s needs a value", op.op, path)
	}
	key, ok := strings.CutPrefix(path, "/")
	if !ok || key == "" || strings.Contains(key, "/") {
		return op, badAttribute("Invalid JSON pointer for this resource: '%s'", path)
	}
	op.key = strings.NewReplacer("~1", "/", "~0", "~").Replace(key)
	return op, nil
}

// applyOp adds one operation to body (fields) and props (property changes, nil removes).
func applyOp(img images.Image, op patchOp, body map[string]any, props map[string]*string, have func(string) bool) error {
	if op.key == "id" {
		return &attributeError{http.StatusForbidden, "Attribute 'id' is read-only."}
	}
	if err := checkWritable(op.key); err != nil {
		return err
	}
	switch op.key {
	case "name", "visibility", "min_disk", "min_ram", "protected", "tags":
		if op.op == "remove" {
			return &attributeError{http.StatusForbidden, fmt.Sprintf("Attribute '%s' cannot be removed.", op.key)}
		}
		field, value, err := nativeAttr(op.key, op.value)
		if err != nil {
			return err
		}
		body[field] = value
		return nil
	case "os_hidden":
		if op.op == "remove" {
			return &attributeError{http.StatusForbidden, "Attribute 'os_hidden' cannot be removed."}
		}
		return checkNotHidden(op.value)
	case "disk_format", "container_format":
		return unchangedFormat(img, op)
	}
	return applyPropertyOp(op, props, have)
}

// unchangedFormat accepts a replace of disk_format or container_format by its value: cloudlet
// inspects an image's data as the format it was created with, so the formats do not change.
func unchangedFormat(img images.Image, op patchOp) error {
	current := map[string]string{"disk_format": img.DiskFormat, "container_format": img.ContainerFormat}[op.key]
	var v string
	if op.op != "remove" && json.Unmarshal(op.value, &v) == nil && v == current {
		return nil
	}
	return badAttribute("cloudlet keeps an image's %s from its create: it stays %s", op.key, current)
}

// applyPropertyOp sets or removes a property; replacing or removing one the image lacks is 409, as
// in Glance, and a value must be a string.
func applyPropertyOp(op patchOp, props map[string]*string, have func(string) bool) error {
	if op.op != "add" && !have(op.key) {
		return &attributeError{http.StatusConflict, fmt.Sprintf("Property %s does not exist.", op.key)}
	}
	if op.op == "remove" {
		props[op.key] = nil
		return nil
	}
	var v string
	if json.Unmarshal(op.value, &v) != nil {
		return badAttribute("Property '%s' must be a string, not %s", op.key, op.value)
	}
	props[op.key] = &v
	return nil
}
