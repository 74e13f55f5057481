// Package testkit is the one home of test support that several packages share: re-running a test
// binary inside a private network namespace (RunInNetns), opening a real catalog that is checked
// for consistency when the test ends (Catalog), writing a benchmark's report (WriteReport),
// driving an interactive command through a pseudo-terminal (OpenTerminal, ReadUntil), and summing
// the series of a scraped metric (MetricSum).
//
// Only _test.go files and test-support packages (appliance/e2e) import it; the product never does.
// From the project it imports only the catalog (store) and appliance/testproc, never a service.
package testkit
