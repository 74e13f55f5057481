package volume

import (
	"context"
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

// describeFor names a volume for a message to viewer: describe when it is viewer's own, else only
// that another project has one, never whose.
func describeFor(v *Volume, viewer string) string {
	if v.ProjectID != viewer {
		return "a volume of another project"
	}
	return describe(v)
}

// ImageInUse names a volume whose chain (its active file's or one of its snapshots') depends on
// the image, or that is being copied from it, as "volume <name> (<id>)" when it belongs to viewer
// (the project asking: the image's owner) and as "a volume of another project" otherwise, or
// returns "" when none does. The image service asks it before deleting an image's files.
func (s *Service) ImageInUse(_ context.Context, imageID, viewer string) (string, error) {
	var who string
	err := s.db.View(func(tx *store.Tx) error {
		g, err := loadGraph(tx)
		if err != nil {
			return err
		}
		for _, v := range g.vols {
			if v.BaseImageID == imageID || (v.Status == StatusCreating && v.Source.ImageID == imageID) {
				who = describeFor(v, viewer)
				return nil
			}
		}
		for _, sn := range g.snaps {
			if sn.BaseImageID != imageID {
				continue
			}
			switch v := g.volume(sn.VolumeID); {
			case v != nil:
				who = describeFor(v, viewer)
			case sn.ProjectID == viewer:
				who = fmt.Sprintf("snapshot %s (%s)", sn.Name, sn.ID)
			default:
				who = "a snapshot of another project"
			}
			return nil
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("is image %s in use by volumes: %w", imageID, err)
	}
	return who, nil
}
