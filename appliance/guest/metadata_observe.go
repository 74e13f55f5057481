package guest

import (
	"net/http"
	"strings"
)

// The kinds of metadata request ServerOptions.Observe is told of.
const (
	RequestDocument = "document" // a GET of a document (any path but ReadyPath)
	RequestReady    = "ready"    // a phone-home to ReadyPath
)

// observed tells the observer, if any, of one answered request: its kind and status.
func (h *router) observed(r *http.Request, status int) {
	if h.observe == nil {
		return
	}
	kind := RequestDocument
	if r.URL.Path == ReadyPath || strings.HasPrefix(r.URL.Path, ReadyPath+"/") {
		kind = RequestReady
	}
	h.observe(kind, status)
}
