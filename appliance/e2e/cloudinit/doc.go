// Package cloudinit tests a real cloud image under cloudlet: Debian 12 with cloud-init from Debian's
// packages (images/cloudguest), booted by the real daemon (built by TestMain, inside the test's own
// network namespace) from the NoCloud seed and from the metadata service alone. Its tests are in
// _test.go files; the package runs beside the other end-to-end suites, its guests being the slowest
// boots of them all.
package cloudinit
