package link

import (
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
)

// List returns the names of the links whose names start with prefix (BridgePrefix, TapPrefix),
// sorted: the reconcile compares them with the catalog and removes the leaked ones.
func List(prefix string) ([]string, error) {
	links, err := Dump("netlink.LinkList()", netlink.LinkList)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range links {
		if name := l.Attrs().Name; strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}
