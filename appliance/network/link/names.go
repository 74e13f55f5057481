package link

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
)

// Name prefixes: every link cloudlet creates starts with one of these, and nothing else should.
const (
	BridgePrefix = "clbr-"
	TapPrefix    = "clt-"
)

// maxNameLen is IFNAMSIZ less the terminating NUL.
const maxNameLen = 15

// BridgeName is the bridge of a network: BridgePrefix and 8 hex digits of a hash of its id
// (13 characters). Ids are too long for IFNAMSIZ, so the name is derived, never chosen.
func BridgeName(networkID string) string { return BridgePrefix + hashHex(networkID, 8) }

// TapName is the tap of a port: TapPrefix and 10 hex digits of a hash of its id (14 characters).
// Ports outnumber networks, hence the longer hash.
func TapName(portID string) string { return TapPrefix + hashHex(portID, 10) }

func hashHex(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// tapMAC is the host-side MAC of a tap: fe:… (locally administered, high enough never to be a
// bridge's lowest port address), derived from the tap's name and never equal to the guest's MAC,
// so the bridge does not learn the guest's address on the host side of the tap.
func tapMAC(name string, guest net.HardwareAddr) net.HardwareAddr {
	return derivedMAC(0xfe, name, guest)
}

// bridgeMAC is a bridge's own, fixed MAC (02:…). Without one, a bridge takes the lowest MAC of
// its ports and changes it as ports come and go, and guests would cache a stale gateway MAC.
func bridgeMAC(name string) net.HardwareAddr { return derivedMAC(0x02, name, nil) }

func derivedMAC(first byte, name string, avoid net.HardwareAddr) net.HardwareAddr {
	sum := sha256.Sum256([]byte("cloudlet-mac:" + name))
	mac := net.HardwareAddr{first, sum[0], sum[1], sum[2], sum[3], sum[4]}
	if mac.String() == avoid.String() {
		mac[5] ^= 1
	}
	return mac
}
