// Package link owns cloudlet's datapath links on the host: one Linux bridge per network (named by
// BridgeName, STP off, forward delay 0, holding the network's gateway address) and one persistent
// tap per port (named by TapName, attached to its network's bridge). The daemon creates the tap and
// hands QEMU an fd on it (OpenTap, plus OpenVhost when /dev/vhost-net exists), so QEMU needs neither
// CAP_NET_ADMIN nor a helper script. On the host's own uplinks it only adds and removes /32
// addresses (floating IPs, see AddHostAddr); it never creates, changes or deletes those links.
//
// Every Ensure and Remove is idempotent, so the daemon can apply the catalog again after a crash.
// Names are pure functions of catalog ids: the daemon persists the name before creating the link,
// and List finds links carrying cloudlet's prefixes so a reconcile can remove any it no longer owns.
//
// All calls act on the network namespace of the calling thread. The package talks to the kernel
// through netlink (github.com/vishvananda/netlink) and ioctls; it never shells out to ip(8).
//
// It imports nothing from cloudlet except appliance/fault.
package link
