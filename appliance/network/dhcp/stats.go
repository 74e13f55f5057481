package dhcp

import "sync/atomic"

// Stats counts what the server did since New.
type Stats struct {
	Offers                uint64
	Acks                  uint64
	Naks                  uint64
	IgnoredUnknownMAC     uint64 // no reservation (or an invalid one) for the client's MAC
	IgnoredRateLimited    uint64 // over the per-MAC rate limit
	IgnoredServerMessages uint64 // OFFER/ACK/NAK or BOOTREPLY sent by a guest: a rogue server
	IgnoredInvalid        uint64 // unparsable, relayed, not Ethernet, or no message type
}

type counters struct {
	offers, acks, naks, unknown, limited, server, invalid atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Offers: c.offers.Load(), Acks: c.acks.Load(), Naks: c.naks.Load(),
		IgnoredUnknownMAC: c.unknown.Load(), IgnoredRateLimited: c.limited.Load(),
		IgnoredServerMessages: c.server.Load(), IgnoredInvalid: c.invalid.Load(),
	}
}
