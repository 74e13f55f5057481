// Package metering samples every running instance in the background — CPU seconds and RSS from
// /proc, drive counters from QMP query-blockstats (asked of compute), tap counters from netlink — and
// keeps the last sample of each for Prometheus (a collector that reads only that cache, so a scrape
// never waits on a QEMU) and a bounded in-memory usage history (the last hour at the sample interval,
// the last day at 5 minutes) for GET /api/v1/instances/{id}/stats and GET /api/v1/host/stats.
//
// metering is a service: it imports no other service. What it needs of compute is the small Compute
// interface declared here and wired in appliance; compute never calls metering.
package metering
