package dns

import (
	"context"
	"net/netip"
)

// admit rate-limits src and parses a query; it counts and returns nil for what it drops.
func (s *Server) admit(pkt []byte, src netip.Addr) *message {
	if !s.limit.allow(src) {
		s.stats.limited.Add(1)
		return nil
	}
	q, err := parse(pkt)
	if err == nil && q.Flags&flagQR != 0 {
		err = errMalformed // a reply sent to a server: never answer it (no reflection loops)
	}
	if err != nil {
		s.stats.malformed.Add(1)
		s.log.Debug("dns: dropped malformed message", "src", src, "err", err)
		return nil
	}
	s.stats.queries.Add(1)
	return q
}

// needsForward reports whether q goes to the upstreams: a QUERY for a name outside the domain,
// with upstreams to ask.
func needsForward(c *Config, q *message) bool {
	return q.opcode() == 0 && !inDomain(q.Q.Name, c.Domain) && len(c.Upstreams) > 0
}

// respond returns the reply to q (whose bytes are pkt) that fits in limit bytes.
func (s *Server) respond(ctx context.Context, c *Config, q *message, pkt []byte, limit int) []byte {
	switch {
	case q.opcode() != 0:
		s.stats.notImp.Add(1)
		return s.reply(c, q, rcodeNotImp, 0, nil, limit)
	case inDomain(q.Q.Name, c.Domain):
		return s.answerLocal(c, q, limit)
	case len(c.Upstreams) == 0:
		s.stats.refused.Add(1)
		return s.reply(c, q, rcodeRefused, 0, nil, limit)
	}
	resp, err := s.forward(ctx, c.Upstreams, pkt, q)
	if err != nil {
		s.stats.upstreamFail.Add(1)
		s.log.Debug("dns: no upstream answered", "name", q.Q.Name, "err", err)
		return s.reply(c, q, rcodeServFail, 0, nil, limit)
	}
	s.stats.forwarded.Add(1)
	if len(resp) > limit {
		s.stats.truncated.Add(1)
		return truncate(resp, q)
	}
	return resp
}

// answerLocal answers a name under the domain from the catalog alone: authoritative, never
// recursive, never forwarded.
func (s *Server) answerLocal(c *Config, q *message, limit int) []byte {
	if q.Q.Class != classIN {
		s.stats.refused.Add(1)
		return s.reply(c, q, rcodeRefused, 0, nil, limit)
	}
	addrs, ok := s.lookup(q.Q.Name)
	if !ok {
		s.stats.nxdomain.Add(1)
		return s.reply(c, q, rcodeNXDomain, flagAA, nil, limit)
	}
	s.stats.answered.Add(1)
	if q.Q.Type != typeA {
		return s.reply(c, q, rcodeNoError, flagAA, nil, limit) // AAAA and the rest: no data
	}
	var v4 []netip.Addr
	for _, a := range addrs {
		if a = a.Unmap(); a.Is4() {
			v4 = append(v4, a)
		}
	}
	return s.reply(c, q, rcodeNoError, flagAA, v4, limit)
}

// reply builds this server's own reply to q; one that does not fit in limit loses its answers
// and gets TC.
func (s *Server) reply(c *Config, q *message, rcode, flags uint16, answers []netip.Addr, limit int) []byte {
	h := header{ID: q.ID, QD: 1, AN: uint16(len(answers)),
		Flags: flagQR | q.opcode()<<11 | q.Flags&flagRD | flags | rcode}
	if len(c.Upstreams) > 0 {
		h.Flags |= flagRA
	}
	if q.EDNS > 0 {
		h.AR = 1
	}
	b := append(h.append(make([]byte, 0, 512)), q.rawQ...)
	ttl := uint32(c.TTL.Seconds())
	for _, a := range answers {
		b = appendA(b, ttl, a)
	}
	if q.EDNS > 0 {
		b = appendOPT(b, maxEDNS)
	}
	if len(b) > limit {
		s.stats.truncated.Add(1)
		return truncate(b, q)
	}
	return b
}

// udpLimit is the largest UDP reply q's sender takes.
func udpLimit(q *message) int {
	if q.EDNS > 0 {
		return min(q.EDNS, maxEDNS)
	}
	return maxUDPSize
}
