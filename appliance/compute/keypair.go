package compute

import (
	"context"

	"cloudlet/appliance/fault"
)

// keypair resolves the keypair an instance asks for: the caller's own (keypairs are per user, as in
// Nova). Its public key is copied into the instance, so deleting the keypair later changes nothing for
// it; the guest issue hands the key to the guest (cloud-init's ssh_authorized_keys).
func (s *Service) keypair(ctx context.Context, r CreateRequest) (name, publicKey string, err error) {
	if r.KeyName == "" {
		return "", "", nil
	}
	if s.o.Keypairs == nil {
		return "", "", errInvalid("keypairs are not available on this host")
	}
	publicKey, err = s.o.Keypairs(ctx, r.UserID, r.KeyName)
	switch {
	case fault.KindOf(err) == fault.NotFound: // another user's keypair is not found either (Nova: 404)
		return "", "", errNotFound("keypair %q not found", r.KeyName)
	case err != nil:
		return "", "", err
	}
	return r.KeyName, publicKey, nil
}
