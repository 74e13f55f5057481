package dns

import "sync/atomic"

// Stats counts what the server did since New.
type Stats struct {
	Queries            uint64 // well-formed queries, UDP and TCP
	Answered           uint64 // names under the domain that Lookup knows (A, AAAA or other type)
	NXDomain           uint64 // names under the domain that Lookup does not know
	Forwarded          uint64 // replies relayed from an upstream
	UpstreamFailures   uint64 // no upstream answered in time: SERVFAIL
	Refused            uint64 // outside the domain with no upstreams, or a class other than IN
	NotImplemented     uint64 // opcodes other than QUERY
	Truncated          uint64 // UDP replies cut to the header and question, with TC set
	DroppedMalformed   uint64 // unparsable, a reply, or not exactly one question
	DroppedRateLimited uint64 // over the per-source rate limit
	DroppedBusy        uint64 // too many forwards in flight or TCP connections open
}

type counters struct {
	queries, answered, nxdomain, forwarded, upstreamFail, refused, notImp, truncated atomic.Uint64
	malformed, limited, busy                                                         atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Queries: c.queries.Load(), Answered: c.answered.Load(), NXDomain: c.nxdomain.Load(),
		Forwarded: c.forwarded.Load(), UpstreamFailures: c.upstreamFail.Load(), Refused: c.refused.Load(),
		NotImplemented: c.notImp.Load(), Truncated: c.truncated.Load(),
		DroppedMalformed: c.malformed.Load(), DroppedRateLimited: c.limited.Load(), DroppedBusy: c.busy.Load(),
	}
}
