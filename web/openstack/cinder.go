package openstack

// Cinder v3 at /volume/v3 (and /volume/v3/{project_id}): cloudlet's volumes and snapshots.
func (s *Server) registerVolumes() {}
