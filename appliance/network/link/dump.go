package link

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
)

// dumpAttempts bounds Dump's restarts. The kernel marks a dump interrupted (NLM_F_DUMP_INTR) when the
// table changed while it was read — taps and bridges come and go while instances start and stop — and
// the protocol's answer is to read it again; a table that changes during each of this many reads is
// not settling, and the error is returned.
const dumpAttempts = 10

// Dump runs a netlink dump (LinkList, AddrList, RouteList…) again while the kernel says it was
// interrupted by a concurrent change (netlink.ErrDumpInterrupted: the results may be incomplete or
// inconsistent), so callers never act on a partial table nor fail because another link changed.
func Dump[T any](what string, list func() (T, error)) (T, error) {
	var out T
	var err error
	for range dumpAttempts {
		out, err = list()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return out, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
