package appliance

import (
	"context"

	"cloudlet/appliance/compute"
)

var _ compute.VolumeDeleteCheck = computeVolumes{}

// CheckDelete says what depends on the volume, which would stop its delete once nothing uses it.
func (a computeVolumes) CheckDelete(ctx context.Context, projectID, id string) (string, error) {
	return a.v.CheckDelete(ctx, projectID, id)
}
