// Package ui is cloudlet's web dashboard: Go html/template pages, htmx for fragments and live state
// over server-sent events, and three small ES-module islands (the serial console with xterm.js, the
// screen with noVNC, upload progress) built from pinned npm packages by `make ui` and embedded.
//
// The dashboard is a client of /api/v1 in the same process: every read and change a page makes is an
// API call with the session's token (web/inproc), so the API's authentication, policy, quotas,
// validation and audit apply unchanged; the pages only hide what the same policy table forbids. A
// session is an API session token in an HttpOnly, SameSite cookie; unsafe requests need the
// session's CSRF token and a same-origin Sec-Fetch-Site/Origin (session.go, ui.go).
package ui
