package volume

import (
	"fmt"

	"cloudlet/store"
)

// graph is every volume and snapshot of the catalog, read in one transaction, for questions about
// backing chains: which files lie under a volume, and who depends on a snapshot. Chains cross
// projects only through images; a volume transferred away takes its snapshots with it.
type graph struct {
	vols   []*Volume
	snaps  []*Snapshot
	byPath map[string]*Snapshot // snapshot file → snapshot
}

// maxWalk bounds chain walks, so a corrupt catalog with a loop cannot hang the service.
const maxWalk = 256

func loadGraph(tx *store.Tx) (*graph, error) {
	g := &graph{byPath: map[string]*Snapshot{}}
	var err error
	if g.vols, err = volumes.List(tx, ""); err != nil {
		return nil, err
	}
	if g.snaps, err = snapshots.List(tx, ""); err != nil {
		return nil, err
	}
	for _, sn := range g.snaps {
		g.byPath[sn.Path] = sn
	}
	return g, nil
}

// under returns the snapshots in the chain below a file whose backing file is backing, nearest
// first (the chain then ends in an image file or nothing).
func (g *graph) under(backing string) []*Snapshot {
	var out []*Snapshot
	for p := backing; len(out) < maxWalk; {
		sn, ok := g.byPath[p]
		if !ok {
			break
		}
		out = append(out, sn)
		p = sn.Backing
	}
	return out
}

// dependsOn reports whether sn lies under a file whose backing file is backing.
func (g *graph) dependsOn(backing string, sn *Snapshot) bool {
	for _, x := range g.under(backing) {
		if x.ID == sn.ID {
			return true
		}
	}
	return false
}

// volume returns the volume with id, or nil.
func (g *graph) volume(id string) *Volume {
	for _, v := range g.vols {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// childrenOf returns the files whose backing file is sn's: snapshots, and volumes' active files.
func (g *graph) childrenOf(sn *Snapshot) ([]*Snapshot, []*Volume) {
	var snaps []*Snapshot
	var vols []*Volume
	for _, x := range g.snaps {
		if x.Backing == sn.Path {
			snaps = append(snaps, x)
		}
	}
	for _, v := range g.vols {
		if v.Backing == sn.Path {
			vols = append(vols, v)
		}
	}
	return snaps, vols
}

// foreignDependent names a volume other than sn's own whose files (active or snapshots) have sn's
// file as their backing file, or "".
func (g *graph) foreignDependent(sn *Snapshot) string {
	snaps, vols := g.childrenOf(sn)
	for _, v := range vols {
		if v.ID != sn.VolumeID {
			return describe(v)
		}
	}
	for _, x := range snaps {
		if x.VolumeID != sn.VolumeID {
			if v := g.volume(x.VolumeID); v != nil {
				return describe(v)
			}
			return "snapshot " + x.ID
		}
	}
	return ""
}

// describe names a volume in messages: "volume <name> (<id>)".
func describe(v *Volume) string { return fmt.Sprintf("volume %s (%s)", v.Name, v.ID) }
