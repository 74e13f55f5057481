package openstack

import (
	"net/http"
)

// keystoneError writes Keystone's error body, which every client reads a 401 with:
// {"error":{"code":401,"title":"Unauthorized","message":…}}.
func keystoneError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "title": http.StatusText(status),
		"message": message}})
}

// novaFault names Nova's (and Cinder's) fault body for status.
func novaFault(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "badRequest"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "itemNotFound"
	case http.StatusConflict:
		return "conflictingRequest"
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return "overLimit"
	}
	return "computeFault"
}

// novaError writes Nova's fault body, {"itemNotFound":{"code":404,"message":…}}; a 401 is
// Keystone's, as keystonemiddleware answers it in front of Nova.
func novaError(w http.ResponseWriter, status int, message string) {
	if status == http.StatusUnauthorized {
		keystoneError(w, status, message)
		return
	}
	writeJSON(w, status, map[string]any{novaFault(status): map[string]any{"code": status, "message": message}})
}
