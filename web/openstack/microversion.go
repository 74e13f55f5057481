package openstack

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// versionBounds are the microversions one service serves: major.low to major.high. legacyHeader is
// the service's own header from before OpenStack-API-Version ("" for none); min is the minimum
// as the refusal names it.
type versionBounds struct {
	service, legacyHeader, min string
	major, low, high           int
}

// checkServiceVersion reads the microversion a request asks of b's service: 0 when it is served
// (none asked, "latest", or within the bounds), 406 when it is not, 400 when it does not parse.
func checkServiceVersion(r *http.Request, b versionBounds) (int, string) {
	var v string
	if b.legacyHeader != "" {
		v = r.Header.Get(b.legacyHeader)
	}
	if h := r.Header.Get("OpenStack-API-Version"); h != "" {
		if svc, ver, ok := strings.Cut(strings.TrimSpace(h), " "); ok && strings.EqualFold(svc, b.service) {
			v = strings.TrimSpace(ver)
		}
	}
	if v == "" || v == "latest" {
		return 0, ""
	}
	major, minor, ok := strings.Cut(v, ".")
	maj, err1 := strconv.Atoi(major)
	mn, err2 := strconv.Atoi(minor)
	if !ok || err1 != nil || err2 != nil {
		return http.StatusBadRequest, "invalid API version request: " + v
	}
	if maj == b.major && mn >= b.low && mn <= b.high {
		return 0, ""
	}
	return http.StatusNotAcceptable, fmt.Sprintf("Version %s is not supported by the API. Minimum is %s and maximum is %d.%d.",
		v, b.min, b.major, b.high)
}
