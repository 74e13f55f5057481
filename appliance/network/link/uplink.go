package link

import (
	"fmt"
	"net"
	"strings"
)

// CheckUplink reports whether name is a host interface an external or NAT network may use as its
// uplink: an existing link that is not the loopback, not one of cloudlet's bridges or taps and not
// any tap (a guest's end). ErrNotFound when there is none, ErrInvalid when it is of a refused kind.
func CheckUplink(name string) error {
	l, err := existing(name)
	if err != nil {
		return err
	}
	switch a := l.Attrs(); {
	case a.Flags&net.FlagLoopback != 0:
		return fmt.Errorf("%w: %s is the loopback", ErrInvalid, name)
	case strings.HasPrefix(name, BridgePrefix) || strings.HasPrefix(name, TapPrefix):
		return fmt.Errorf("%w: %s is one of cloudlet's own links", ErrInvalid, name)
	case l.Type() == "tuntap":
		return fmt.Errorf("%w: %s is a tap (a guest's end of a link)", ErrInvalid, name)
	}
	return nil
}
