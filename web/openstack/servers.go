package openstack

// Nova 2.1's servers at /compute/v2.1/servers: cloudlet's instances.
func (s *Server) registerServers() {}
