package appliance

import (
	"context"

	"cloudlet/appliance/host"
)

// doctor runs the doctor's checks for GET /api/v1/host/doctor, with this daemon's configuration.
func (a *Appliance) doctor(ctx context.Context) []host.Check {
	return a.host.Doctor(ctx, host.DoctorInput{DataDir: a.cfg.DataDir, Listen: a.cfg.Listen, AccelMode: a.cfg.Accel,
		QEMUUser: a.cfg.QEMUUser})
}
