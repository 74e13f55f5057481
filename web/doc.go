// Package web is cloudlet's HTTP face: REST API v1, authentication middleware and (later) websocket
// consoles, server-sent events and the embedded dashboard.
//
// It is the only package that imports echo. It calls services (appliance/...) and never imports store,
// bbolt, appliance/qemu or appliance/qemu/qmp. Every route is registered with an access rule; a route
// without one is refused at registration and, should one slip in, denied at request time.
//
// What a client may hold without a login is bounded (limits.go): header, idle, body-rate and
// write-progress deadlines (deadline.go), connections per source and in all (connlimit.go), bodies of
// refused requests never read, and one aggregated audit entry per source, route and status per window
// for failures without a login (auditflood.go).
package web
