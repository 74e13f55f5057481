package guest

import "net/netip"

// AvailabilityZone is the one zone a cloudlet host has, named as Nova's default.
const AvailabilityZone = "nova"

// Seed kinds: what is attached to an instance for cloud-init to read at boot.
const (
	SeedNoCloud     = "nocloud"     // an ISO labelled cidata (cloud-init's NoCloud datasource)
	SeedConfigDrive = "configdrive" // an ISO labelled config-2 (OpenStack's config drive, cloudbase-init)
	SeedNone        = "none"        // nothing: the guest asks the metadata service
)

// Instance is everything a guest learns about itself, as plain data: compute's record and network's
// ports converted in appliance. The renderers are pure functions of it.
type Instance struct {
	ID           string // the instance UUID: cloud-init's instance-id
	Name         string
	Hostname     string
	ProjectID    string
	InstanceType string // the flavor's name
	ImageID      string
	UserData     []byte            // as given at create: cloud-config, a script, MIME multipart or gzip
	PublicKeys   []PublicKey       // the keypair asked for at create (Nova injects one)
	Metadata     map[string]string // Nova's server metadata
	PasswordHash string            // SHA-512 crypt ($6$) of the default user's password; "" when none was asked
	NICs         []NIC             // in PCI order
}

// PublicKey is a named SSH public key.
type PublicKey struct {
	Name, Data string
}

// NIC is one of the instance's ports with its network's addressing.
type NIC struct {
	PortID    string
	MAC       string // lower-case, colon-separated
	NetworkID string
	Address   netip.Prefix // the fixed address with the subnet's prefix length; invalid: none
	Gateway   netip.Addr   // invalid: the network has none
	DNS       []netip.Addr
	MTU       int // 0: the default
}

// ReadyURL is where cloud-init's phone_home posts when the guest is up (the metadata service).
const ReadyURL = "http://169.254.169.254/cloudlet/ready"
