package dns

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"
)

// forward sends pkt to every upstream at once from a fresh socket, under a random ID, and returns
// the first reply that comes from an upstream and matches the ID and question, with the client's
// ID put back.
func (s *Server) forward(ctx context.Context, ups []netip.AddrPort, pkt []byte, q *message) ([]byte, error) {
	conn, err := net.ListenUDP("udp", nil)
	if err != nil {
		return nil, fmt.Errorf("listen udp for upstream query: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := conn.SetReadDeadline(time.Now().Add(s.timeout)); err != nil {
		return nil, err
	}
	var idb [2]byte
	rand.Read(idb[:])
	id := binary.BigEndian.Uint16(idb[:])
	out := slices.Clone(pkt)
	binary.BigEndian.PutUint16(out, id)

	var sendErrs []error
	for _, u := range ups {
		if _, err := conn.WriteToUDPAddrPort(out, u); err != nil {
			sendErrs = append(sendErrs, fmt.Errorf("send to upstream %s: %w", u, err))
		}
	}
	if len(sendErrs) == len(ups) {
		return nil, errors.Join(sendErrs...)
	}
	buf := make([]byte, maxMsgSize)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return nil, fmt.Errorf("wait for upstreams %v: %w", ups, err)
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if !slices.ContainsFunc(ups, func(u netip.AddrPort) bool { return u.Addr().Unmap() == from.Addr() && u.Port() == from.Port() }) {
			continue
		}
		r, err := parse(buf[:n])
		if err != nil || r.ID != id || r.Flags&flagQR == 0 || r.Q != q.Q {
			s.log.Debug("dns: ignored upstream reply", "from", from, "err", err)
			continue
		}
		binary.BigEndian.PutUint16(buf, q.ID)
		return slices.Clone(buf[:n]), nil
	}
}
