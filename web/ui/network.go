package ui

// registerNetwork registers the network pages' routes.
func (s *Server) registerNetwork() {}
