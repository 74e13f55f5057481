package ui

// registerInstances registers the instances pages' routes.
func (s *Server) registerInstances() {}
