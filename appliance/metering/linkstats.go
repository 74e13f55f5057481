package metering

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// netlinkStats reads a tap's counters over netlink (RTM_GETLINK in the daemon's network namespace,
// which /sys/class/net need not show), turned to the guest's point of view: what the tap transmits
// the guest receives.
func netlinkStats(name string) (NICStat, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return NICStat{}, fmt.Errorf("link %s: %w", name, err)
	}
	st := l.Attrs().Statistics
	if st == nil {
		return NICStat{}, fmt.Errorf("link %s: no statistics", name)
	}
	return NICStat{Interface: name,
		ReceiveBytes: st.TxBytes, ReceivePackets: st.TxPackets, ReceiveDrops: st.TxDropped,
		TransmitBytes: st.RxBytes, TransmitPackets: st.RxPackets, TransmitDrops: st.RxDropped}, nil
}
