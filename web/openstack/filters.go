package openstack

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// matches reports whether item (a rendered resource) passes a list request's query filters: each
// key that names one of its attributes must equal one of the key's values (a repeated key is an
// OR), compared as text; "in:a,b" lists values too. Keys that name no attribute (fields, limit,
// marker, sort keys, all_tenants…) do not filter.
func matches(item map[string]any, q url.Values, ignore ...string) bool {
	for key, wants := range q {
		v, ok := item[key]
		if !ok || slices.Contains(ignore, key) {
			continue
		}
		got := text(v)
		var hit bool
		for _, w := range wants {
			for _, alt := range strings.Split(strings.TrimPrefix(w, "in:"), ",") {
				hit = hit || strings.EqualFold(got, alt) || !strings.HasPrefix(w, "in:") && strings.EqualFold(got, w)
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// text is an attribute's value as a filter compares it.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// idShape is the shape of cloudlet's ids (lower-case UUIDs).
var idShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// isID reports whether s is shaped like a cloudlet id: where OpenStack takes only ids, anything else
// is answered as not found (or as the service's bad request) without asking /api/v1, which takes
// names too.
func isID(s string) bool { return idShape.MatchString(s) }
