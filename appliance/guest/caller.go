package guest

import (
	"context"
	"net/netip"
)

// Caller is who sent a metadata request, as the listener that accepted it knows: the cloudlet network
// the connection arrived on and the guest's source address. Nothing the guest sends changes it.
type Caller struct {
	NetworkID string
	Addr      netip.Addr
}

type callerKey struct{}

// WithCaller returns ctx carrying c; the metadata listener calls it for every accepted request.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller the listener put in ctx; ok is false when there is none (a request
// that did not come through a metadata listener), which the service answers with 404.
func CallerFrom(ctx context.Context) (c Caller, ok bool) {
	c, ok = ctx.Value(callerKey{}).(Caller)
	return c, ok && c.NetworkID != "" && c.Addr.IsValid()
}
