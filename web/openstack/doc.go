// Package openstack speaks the OpenStack APIs' wire format on cloudlet's listener, so the openstack
// CLI, gophercloud, Terraform's provider and tempest can drive cloudlet: Keystone v3 at /identity,
// Nova 2.1 at /compute/v2.1, Glance v2 at /image, Neutron 2.0 at /networking and Cinder v3 at
// /volume/v3 (see research/openstack-api.md for what each client really sends).
//
// It is a translator with no state and no rules of its own: every read and change is a call to
// /api/v1 in the same process (web/inproc) with the caller's X-Auth-Token, so the API's
// authentication, policy, quotas, validation and audit apply unchanged. Tokens are cloudlet's own.
// Errors come back in each service's own body shape.
package openstack
