package appliance

import (
	"context"

	"cloudlet/appliance/compute"
)

var _ compute.VolumeDeleteCheck = computeVolumes{}

// CheckDelete says whether the volume service would delete the volume once nothing uses it.
func (a computeVolumes) CheckDelete(ctx context.Context, projectID, id string) error {
	return a.v.CheckDelete(ctx, projectID, id)
}
