package guest

import "net/netip"

// testInstance is a guest with every field set: two NICs, a key, metadata, a password hash.
func testInstance() Instance {
	return Instance{
		ID: "0b0e7a8c-3d7e-4c4b-9a55-6d1f2e3a4b5c", Name: "web", Hostname: "web-1", ProjectID: "proj-1",
		InstanceType: "m1.small", ImageID: "img-123456789012",
		UserData:     []byte("#!/bin/sh\necho hello\n"),
		PublicKeys:   []PublicKey{{Name: "mykey", Data: "ssh-ed25519 AAAAC3Nza mykey@host"}},
		Metadata:     map[string]string{"role": "db"},
		PasswordHash: "$6$saltsalt$hash",
		NICs: []NIC{
			{PortID: "port-aaaaaaaaaaaa", MAC: "52:54:00:00:00:01", NetworkID: "net-1",
				Address: netip.MustParsePrefix("10.0.0.5/24"), Gateway: netip.MustParseAddr("10.0.0.1"),
				DNS: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, MTU: 1500},
			{PortID: "port-bbbbbbbbbbbb", MAC: "52:54:00:00:00:02", NetworkID: "net-2",
				Address: netip.MustParsePrefix("192.168.7.9/28"), Gateway: netip.MustParseAddr("192.168.7.1")},
		},
	}
}
