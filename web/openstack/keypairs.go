package openstack

// Nova 2.1's os-keypairs and limits at /compute/v2.1: cloudlet's keypairs and quotas.
func (s *Server) registerKeypairs() {}
