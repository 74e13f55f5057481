package openstack

import (
	"net/http"
	"net/url"
	"strconv"
)

// pageCinder cuts a list (in its order) at the query's marker (the id of the last item of the
// previous page) and limit, as Cinder pages; clients that send limit ask for the next page with
// a marker until one comes back short. A marker that is not in the list is 400, as in Cinder.
func pageCinder(items []map[string]any, q url.Values) ([]map[string]any, int, string) {
	if m := q.Get("marker"); m != "" {
		at := -1
		for i, it := range items {
			if it["id"] == m {
				at = i
			}
		}
		if at < 0 {
			return nil, http.StatusBadRequest, "Invalid input received: marker " + m + " not found"
		}
		items = items[at+1:]
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return nil, http.StatusBadRequest, "Invalid input received: limit must be a non-negative integer, not " + l
		}
		items = items[:min(n, len(items))]
	}
	return items, 0, ""
}
