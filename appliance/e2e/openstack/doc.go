// Package openstack tests cloudlet's OpenStack APIs with software nobody here wrote: Debian's
// openstack CLI (python3-openstackclient), gophercloud and tempest, against the real daemon (built
// by TestMain, inside the test's own network namespace) with the test guest. Its tests are in
// _test.go files; the package is apart from appliance/e2e so that `go test ./...` runs it beside
// that suite instead of after it.
package openstack
