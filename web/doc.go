// Package web is cloudlet's HTTP face: REST API v1, authentication middleware and (later) websocket
// consoles, server-sent events and the embedded dashboard.
//
// It is the only package that imports echo. It calls services (appliance/...) and never imports store,
// bbolt, appliance/qemu or appliance/qemu/qmp. Every route is registered with an access rule; a route
// without one is refused at registration and, should one slip in, denied at request time.
package web
