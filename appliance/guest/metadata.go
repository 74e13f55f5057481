package guest

import (
	"context"
)

// Documents answers the metadata service's document paths (OpenStack's /openstack/..., EC2's
// /latest/...) for the guest that asked. An error of kind fault.NotFound (no such path, or no instance
// at the caller's address) answers 404 and says nothing more; any other error answers 500.
type Documents interface {
	Serve(ctx context.Context, c Caller, path string) (body []byte, contentType string, err error)
}

// ReadyMarker records that the caller's own instance is ready (its phone-home arrived). The caller
// is all it is told: nothing the guest sent can name another instance. fault.NotFound when no
// instance is at the caller's address.
type ReadyMarker interface {
	MarkReady(ctx context.Context, c Caller) error
}

// ReadyPath is where a guest phones home: POST, any body (cloud-init's phone_home posts its form
// data there; a URL with its $INSTANCE_ID after ReadyPath+"/" is accepted the same), ignored.
const ReadyPath = "/cloudlet/ready"

// MetadataAddr is the address guests ask, as on every other cloud.
const MetadataAddr = "169.254.169.254"

// requestNote is what an answer's implementation tells the router about a request, for its log line.
type requestNote struct{ instance string }

type noteKey struct{}

// NoteInstance tells the metadata service's log which instance a request was answered for; Documents
// and ReadyMarker implementations call it once they have found the caller's instance. Outside a
// metadata request it does nothing.
func NoteInstance(ctx context.Context, instanceID string) {
	if n, ok := ctx.Value(noteKey{}).(*requestNote); ok {
		n.instance = instanceID
	}
}
