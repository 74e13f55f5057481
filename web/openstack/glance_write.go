package openstack

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"cloudlet/images"
	"cloudlet/web/client"
)

// glanceReadOnly are the image attributes Glance computes itself: a client that sets one gets 403.
var glanceReadOnly = []string{"status", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
	"created_at", "updated_at", "self", "file", "schema", "direct_url", "locations", "owner", "stores"}

// glanceReserved are attributes Glance keeps for itself; a client that sets one gets 403.
var glanceReserved = []string{"deleted", "deleted_at"}

// attributeError is a refusal of one attribute of a create or patch body, with Glance's status.
type attributeError struct {
	status  int
	message string
}

func (e *attributeError) Error() string { return e.message }

func badAttribute(format string, args ...any) error {
	return &attributeError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// writeAttributeError writes err with its status (400 for a body that does not decode).
func writeAttributeError(w http.ResponseWriter, err error) {
	var ae *attributeError
	if errors.As(err, &ae) {
		glanceError(w, ae.status, ae.message)
		return
	}
	glanceError(w, http.StatusBadRequest, err.Error())
}

// checkWritable refuses the attributes a client may not set, as Glance does.
func checkWritable(key string) error {
	switch {
	case slices.Contains(glanceReadOnly, key):
		return &attributeError{http.StatusForbidden, fmt.Sprintf("Attribute '%s' is read-only.", key)}
	case slices.Contains(glanceReserved, key):
		return &attributeError{http.StatusForbidden, fmt.Sprintf("Attribute '%s' is reserved.", key)}
	}
	return nil
}

// nativeAttr maps a Glance attribute onto /api/v1's image field and decodes its value into the
// field's type; extra attributes are properties (Glance's are strings).
func nativeAttr(key string, raw json.RawMessage) (field string, value any, err error) {
	decode := func(v any) error {
		if json.Unmarshal(raw, v) != nil {
			return badAttribute("Invalid value for '%s': %s", key, raw)
		}
		return nil
	}
	switch key {
	case "name", "disk_format", "container_format", "visibility":
		var s string
		return key, s, decode(&s)
	case "min_disk", "min_ram":
		var n int
		field = map[string]string{"min_disk": "min_disk_gib", "min_ram": "min_ram_mib"}[key]
		return field, n, decode(&n)
	case "protected":
		var b bool
		return key, b, decode(&b)
	case "tags":
		var tags []string
		return key, tags, decode(&tags)
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", nil, badAttribute("Property '%s' must be a string, not %s", key, raw)
	}
	return "properties", s, nil
}

// createBody turns Glance's flat create body into /api/v1's: core attributes map onto fields, the
// rest are properties; hw_firmware_type=uefi also picks UEFI firmware. os_hidden is accepted only
// false: cloudlet hides no image.
func createBody(raw map[string]json.RawMessage) (map[string]any, error) {
	body, props := map[string]any{}, map[string]string{}
	for key, v := range raw {
		if err := checkWritable(key); err != nil {
			return nil, err
		}
		if string(v) == "null" {
			continue
		}
		switch key {
		case "id":
			continue // handled by createImage
		case "os_hidden":
			if err := checkNotHidden(v); err != nil {
				return nil, err
			}
			continue
		}
		field, value, err := nativeAttr(key, v)
		if err != nil {
			return nil, err
		}
		if field == "properties" {
			props[key] = value.(string)
			continue
		}
		body[field] = value
	}
	if props["hw_firmware_type"] == images.FirmwareUEFI {
		body["firmware"] = images.FirmwareUEFI
	}
	if len(props) > 0 {
		body["properties"] = props
	}
	return body, nil
}

// checkNotHidden accepts os_hidden only false.
func checkNotHidden(v json.RawMessage) error {
	var hidden bool
	if json.Unmarshal(v, &hidden) == nil && !hidden {
		return nil
	}
	return badAttribute("cloudlet hides no image: os_hidden %s is not accepted", v)
}

// createImage serves POST /image/v2/images: a queued image, 201. Glance lets a client choose the
// id; cloudlet chooses its own, so an id is refused (409 when an image has it already).
func (s *Server) createImage(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil || raw == nil {
		glanceError(w, http.StatusBadRequest, "the body must be a JSON object of image attributes")
		return
	}
	if id, ok := raw["id"]; ok && string(id) != "null" {
		s.refuseChosenID(w, r, api, id)
		return
	}
	body, err := createBody(raw)
	if err != nil {
		writeAttributeError(w, err)
		return
	}
	var img images.Image
	if err := api.Do(r.Context(), http.MethodPost, "/api/v1/images", body, &img); err != nil {
		glanceAPIError(w, err)
		return
	}
	w.Header().Set("Location", s.baseURL(r)+"/image/v2/images/"+img.ID)
	writeJSON(w, http.StatusCreated, s.imageView(img))
}

// refuseChosenID answers a create that names its id: 409 if an image the caller sees has it, else 400.
func (s *Server) refuseChosenID(w http.ResponseWriter, r *http.Request, api *client.Client, raw json.RawMessage) {
	var id string
	_ = json.Unmarshal(raw, &id)
	var img images.Image
	if id != "" && api.Do(r.Context(), http.MethodGet, "/api/v1/images/"+url.PathEscape(id), nil, &img) == nil && img.ID == id {
		glanceError(w, http.StatusConflict, "Image with identifier "+id+" already exists")
		return
	}
	glanceError(w, http.StatusBadRequest, "cloudlet chooses image ids: leave id out of the create request")
}

// deleteImage serves DELETE /image/v2/images/{id}: 204. cloudlet refuses a protected image's delete
// with 409; Glance's status for it is 403.
func (s *Server) deleteImage(w http.ResponseWriter, r *http.Request, api *client.Client) {
	img, ok := imageByID(w, r, api)
	if !ok {
		return
	}
	err := api.Do(r.Context(), http.MethodDelete, "/api/v1/images/"+img.ID, nil, nil)
	if err == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if status, msg := apiStatus(err); status == http.StatusConflict && img.Protected {
		glanceError(w, http.StatusForbidden, msg)
		return
	}
	glanceAPIError(w, err)
}
