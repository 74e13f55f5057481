package network

import (
	"cloudlet/appliance/network/dhcp"
	"cloudlet/appliance/network/dns"
)

// ServerStats sums what every network's DHCP and DNS servers did since the datapath started, those
// of networks deleted since included, so the sums only grow (they are metrics' counters).
func (s *Service) ServerStats() (dhcp.Stats, dns.Stats) {
	if s.dp == nil {
		return dhcp.Stats{}, dns.Stats{}
	}
	s.dp.mu.Lock()
	defer s.dp.mu.Unlock()
	d, n := s.dp.gone.dhcp, s.dp.gone.dns
	for _, rt := range s.dp.nets {
		rt.addStats(&d, &n)
	}
	return d, n
}

// serverTotals are the counts of servers that are gone.
type serverTotals struct {
	dhcp dhcp.Stats
	dns  dns.Stats
}

// retireLocked keeps rt's counts once its network is gone; s.dp.mu is held.
func (dp *datapath) retireLocked(rt *netRuntime) {
	rt.addStats(&dp.gone.dhcp, &dp.gone.dns)
}

// addStats adds rt's servers' counts to d and n.
func (rt *netRuntime) addStats(d *dhcp.Stats, n *dns.Stats) {
	if rt.dhcp != nil {
		st := rt.dhcp.Stats()
		d.Offers += st.Offers
		d.Acks += st.Acks
		d.Naks += st.Naks
		d.IgnoredUnknownMAC += st.IgnoredUnknownMAC
		d.IgnoredRateLimited += st.IgnoredRateLimited
		d.IgnoredServerMessages += st.IgnoredServerMessages
		d.IgnoredInvalid += st.IgnoredInvalid
	}
	if rt.dns != nil {
		st := rt.dns.Stats()
		n.Queries += st.Queries
		n.Answered += st.Answered
		n.NXDomain += st.NXDomain
		n.Forwarded += st.Forwarded
		n.UpstreamFailures += st.UpstreamFailures
		n.Refused += st.Refused
		n.NotImplemented += st.NotImplemented
		n.Truncated += st.Truncated
		n.DroppedMalformed += st.DroppedMalformed
		n.DroppedRateLimited += st.DroppedRateLimited
		n.DroppedBusy += st.DroppedBusy
	}
}
