package openstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"cloudlet/web/client"
)

// gcFlow is what the gophercloud flow's steps share: the site, the member's /api/v1 client for
// checking each result in cloudlet's own API, and gophercloud's service clients from the catalog.
type gcFlow struct {
	s                                *site
	api                              *client.Client
	provider                         *gophercloud.ProviderClient
	compute, image, network, storage *gophercloud.ServiceClient
	imageID, flavorID                string // the test guest and m1.tiny, read from the flavor and image lists
}

// TestGophercloudCoreFlow: gophercloud v2 authenticates as the demo member (version discovery at
// /identity, password scoped to project demo of domain Default), finds the compute, image, network
// and block-storage services in the catalog, and lists flavors, images and networks, each answer
// matching what cloudlet's own API shows the member; then coreFlowAfterMerge: network and subnet
// create, server create and delete, volume create and delete.
func TestGophercloudCoreFlow(t *testing.T) {
	s := newSite(t)
	f := newGCFlow(t, s)
	f.listFlavors(t)
	f.listImages(t)
	f.listNetworks(t)
	coreFlowAfterMerge(t, f)
}

// coreFlowAfterMerge is the core flow's second half, written against research/openstack-api.md's
// shapes: network and subnet create, a server of the test guest on it (ACTIVE, then deleted until
// 404), a volume (available, then deleted until 404), then the subnet and network deleted (the
// nova, neutron and novx branches' writes).
func coreFlowAfterMerge(t *testing.T, f *gcFlow) {
	netID := f.createNetwork(t)
	serverID := f.createServer(t, netID)
	f.deleteServer(t, serverID)
	f.volumeLifecycle(t)
	f.deleteNetwork(t, netID)
}

// newGCFlow authenticates with gophercloud and makes its service clients from the token's catalog.
func newGCFlow(t *testing.T, s *site) *gcFlow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: "http://" + s.d.Listen + "/identity", Username: "member", Password: sitePassword,
		DomainName: "Default", TenantName: siteProject})
	if err != nil {
		t.Fatalf("gophercloud authentication: %v", err)
	}
	f := &gcFlow{s: s, api: s.as("member"), provider: provider}
	var projects []struct{ Name string }
	tokenAPI := client.New(client.Options{URL: "http://" + s.d.Listen, Token: provider.Token(), Timeout: 30 * time.Second})
	if err := tokenAPI.Do(ctx, "GET", "/api/v1/auth/projects", nil, &projects); err != nil {
		t.Fatalf("gophercloud's token on /api/v1: %v (it is a cloudlet token)", err)
	}
	eo := gophercloud.EndpointOpts{Region: region}
	for _, c := range []struct {
		typ string
		dst **gophercloud.ServiceClient
		new func(*gophercloud.ProviderClient, gophercloud.EndpointOpts) (*gophercloud.ServiceClient, error)
	}{
		{"compute", &f.compute, openstack.NewComputeV2},
		{"image", &f.image, openstack.NewImageV2},
		{"network", &f.network, openstack.NewNetworkV2},
		{"block-storage", &f.storage, openstack.NewBlockStorageV3},
	} {
		sc, err := c.new(provider, eo)
		if err != nil {
			t.Fatalf("gophercloud %s client from the catalog: %v", c.typ, err)
		}
		*c.dst = sc
	}
	return f
}

// region is the catalog's one region.
const region = "RegionOne"

// stepCtx is a context for one step's calls, bounded by d.
func stepCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// listFlavors: the flavors' detail list is cloudlet's flavors, by id, name and size.
func (f *gcFlow) listFlavors(t *testing.T) {
	pages, err := flavors.ListDetail(f.compute, nil).AllPages(stepCtx(t, time.Minute))
	if err != nil {
		t.Fatalf("gophercloud flavors list: %v", err)
	}
	got, err := flavors.ExtractFlavors(pages)
	if err != nil {
		t.Fatalf("gophercloud flavors extract: %v", err)
	}
	var want []struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		RAMMiB int    `json:"ram_mib"`
		VCPUs  int    `json:"vcpus"`
	}
	if err := f.api.Do(stepCtx(t, time.Minute), "GET", "/api/v1/flavors", nil, &want); err != nil {
		t.Fatalf("cloudlet's flavors: %v", err)
	}
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("gophercloud flavors = %+v, cloudlet's = %+v", got, want)
	}
	for _, w := range want {
		i := slices.IndexFunc(got, func(g flavors.Flavor) bool { return g.ID == w.ID })
		if i < 0 || got[i].Name != w.Name || got[i].RAM != w.RAMMiB || got[i].VCPUs != w.VCPUs {
			t.Errorf("gophercloud lacks or misreads flavor %+v: %+v", w, got)
			continue
		}
		if w.Name == "m1.tiny" {
			f.flavorID = w.ID
		}
	}
}

// listImages: the image list holds the public test guest, active, with cloudlet's id.
func (f *gcFlow) listImages(t *testing.T) {
	pages, err := images.List(f.image, images.ListOpts{}).AllPages(stepCtx(t, time.Minute))
	if err != nil {
		t.Fatalf("gophercloud images list: %v", err)
	}
	got, err := images.ExtractImages(pages)
	if err != nil {
		t.Fatalf("gophercloud images extract: %v", err)
	}
	var tg struct{ ID string }
	if err := f.api.Do(stepCtx(t, time.Minute), "GET", "/api/v1/images/"+guestImage, nil, &tg); err != nil {
		t.Fatalf("cloudlet's image %s: %v", guestImage, err)
	}
	i := slices.IndexFunc(got, func(img images.Image) bool { return img.ID == tg.ID })
	if i < 0 || got[i].Name != guestImage || got[i].Status != images.ImageStatusActive || got[i].Visibility != images.ImageVisibilityPublic {
		t.Fatalf("gophercloud images = %+v, want %s (%s) active and public", got, guestImage, tg.ID)
	}
	f.imageID = tg.ID
}

// listNetworks: the network list is the networks cloudlet shows the member (one made through
// /api/v1 first), by id and name, ACTIVE.
func (f *gcFlow) listNetworks(t *testing.T) {
	if err := f.api.Do(stepCtx(t, time.Minute), "POST", "/api/v1/networks", map[string]any{"name": "gc-listed",
		"subnet": map[string]any{"cidr": "10.96.0.0/24"}}, nil); err != nil {
		t.Fatalf("create the member's network gc-listed: %v", err)
	}
	pages, err := networks.List(f.network, networks.ListOpts{}).AllPages(stepCtx(t, time.Minute))
	if err != nil {
		t.Fatalf("gophercloud networks list: %v", err)
	}
	got, err := networks.ExtractNetworks(pages)
	if err != nil {
		t.Fatalf("gophercloud networks extract: %v", err)
	}
	var want []struct{ ID, Name string }
	if err := f.api.Do(stepCtx(t, time.Minute), "GET", "/api/v1/networks", nil, &want); err != nil {
		t.Fatalf("cloudlet's networks: %v", err)
	}
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("gophercloud networks = %+v, cloudlet's = %+v", got, want)
	}
	for _, w := range want {
		i := slices.IndexFunc(got, func(n networks.Network) bool { return n.ID == w.ID })
		if i < 0 || got[i].Name != w.Name || got[i].Status != "ACTIVE" {
			t.Errorf("gophercloud lacks or misreads network %+v: %+v", w, got)
		}
	}
}

// createNetwork makes a network and its IPv4 subnet as a Neutron client does (network, then subnet)
// and checks cloudlet's network has that subnet.
func (f *gcFlow) createNetwork(t *testing.T) string {
	ctx := stepCtx(t, time.Minute)
	n, err := networks.Create(ctx, f.network, networks.CreateOpts{Name: "gc-net"}).Extract()
	if err != nil {
		t.Fatalf("gophercloud network create: %v", err)
	}
	sub, err := subnets.Create(ctx, f.network, subnets.CreateOpts{NetworkID: n.ID, Name: "gc-subnet",
		IPVersion: gophercloud.IPv4, CIDR: "10.97.0.0/24"}).Extract()
	if err != nil {
		t.Fatalf("gophercloud subnet create: %v", err)
	}
	var got struct {
		ID, Name string
		Subnet   struct{ CIDR string }
	}
	if err := f.api.Do(ctx, "GET", "/api/v1/networks/"+n.ID, nil, &got); err != nil {
		t.Fatalf("cloudlet's network %s: %v", n.ID, err)
	}
	if got.Name != "gc-net" || got.Subnet.CIDR != "10.97.0.0/24" || sub.NetworkID != n.ID {
		t.Fatalf("cloudlet's network = %+v, subnet %+v; want gc-net on 10.97.0.0/24", got, sub)
	}
	return n.ID
}

// createServer boots the test guest on network netID with m1.tiny, waits until Nova says ACTIVE
// and checks cloudlet's instance is active on that image.
func (f *gcFlow) createServer(t *testing.T, netID string) string {
	ctx := stepCtx(t, guestBoot)
	srv, err := servers.Create(ctx, f.compute, servers.CreateOpts{Name: "gc-vm", ImageRef: f.imageID,
		FlavorRef: f.flavorID, Networks: []servers.Network{{UUID: netID}}}, nil).Extract()
	if err != nil {
		t.Fatalf("gophercloud server create: %v", err)
	}
	err = gophercloud.WaitFor(ctx, func(ctx context.Context) (bool, error) {
		cur, err := servers.Get(ctx, f.compute, srv.ID).Extract()
		if err == nil && cur.Status == "ERROR" {
			return false, fmt.Errorf("server %s is ERROR: %+v", srv.ID, cur.Fault)
		}
		return err == nil && cur.Status == "ACTIVE", err
	})
	if err != nil {
		t.Fatalf("gophercloud server %s never ACTIVE: %v", srv.ID, err)
	}
	var inst struct {
		Name    string `json:"name"`
		ImageID string `json:"image_id"`
		VMState string `json:"vm_state"`
	}
	if err := f.api.Do(ctx, "GET", "/api/v1/instances/"+srv.ID, nil, &inst); err != nil {
		t.Fatalf("cloudlet's instance %s: %v", srv.ID, err)
	}
	if inst.Name != "gc-vm" || inst.ImageID != f.imageID || inst.VMState != "active" {
		t.Fatalf("cloudlet's instance = %+v, want gc-vm active on %s", inst, f.imageID)
	}
	return srv.ID
}

// deleteServer deletes server id and waits until Nova answers 404, then checks cloudlet's API
// does too.
func (f *gcFlow) deleteServer(t *testing.T, id string) {
	ctx := stepCtx(t, guestBoot)
	if err := servers.Delete(ctx, f.compute, id).ExtractErr(); err != nil {
		t.Fatalf("gophercloud server delete: %v", err)
	}
	waitGone(t, ctx, "server "+id, func(ctx context.Context) error { return servers.Get(ctx, f.compute, id).Err })
	f.checkGone(t, "/api/v1/instances/"+id)
}

// volumeLifecycle creates a 1 GiB volume, waits until available, checks cloudlet's volume, deletes
// it and waits for 404.
func (f *gcFlow) volumeLifecycle(t *testing.T) {
	ctx := stepCtx(t, 2*time.Minute)
	v, err := volumes.Create(ctx, f.storage, volumes.CreateOpts{Size: 1, Name: "gc-vol"}, nil).Extract()
	if err != nil {
		t.Fatalf("gophercloud volume create: %v", err)
	}
	if err := volumes.WaitForStatus(ctx, f.storage, v.ID, "available"); err != nil {
		t.Fatalf("gophercloud volume %s never available: %v", v.ID, err)
	}
	var got struct {
		Name    string `json:"name"`
		SizeGiB int    `json:"size_gib"`
		Status  string `json:"status"`
	}
	if err := f.api.Do(ctx, "GET", "/api/v1/volumes/"+v.ID, nil, &got); err != nil {
		t.Fatalf("cloudlet's volume %s: %v", v.ID, err)
	}
	if got.Name != "gc-vol" || got.SizeGiB != 1 || got.Status != "available" {
		t.Fatalf("cloudlet's volume = %+v, want gc-vol, 1 GiB, available", got)
	}
	if err := volumes.Delete(ctx, f.storage, v.ID, nil).ExtractErr(); err != nil {
		t.Fatalf("gophercloud volume delete: %v", err)
	}
	waitGone(t, ctx, "volume "+v.ID, func(ctx context.Context) error { return volumes.Get(ctx, f.storage, v.ID).Err })
	f.checkGone(t, "/api/v1/volumes/"+v.ID)
}

// deleteNetwork deletes the network (its subnet with it, as Neutron does) and waits for 404.
func (f *gcFlow) deleteNetwork(t *testing.T, id string) {
	ctx := stepCtx(t, time.Minute)
	if err := networks.Delete(ctx, f.network, id).ExtractErr(); err != nil {
		t.Fatalf("gophercloud network delete: %v", err)
	}
	waitGone(t, ctx, "network "+id, func(ctx context.Context) error { return networks.Get(ctx, f.network, id).Err })
	f.checkGone(t, "/api/v1/networks/"+id)
}

// waitGone polls get until it answers 404; any other error ends the test.
func waitGone(t *testing.T, ctx context.Context, what string, get func(context.Context) error) {
	t.Helper()
	err := gophercloud.WaitFor(ctx, func(ctx context.Context) (bool, error) {
		err := get(ctx)
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		t.Fatalf("gophercloud: %s not gone: %v", what, err)
	}
}

// checkGone checks cloudlet's API answers 404 for path.
func (f *gcFlow) checkGone(t *testing.T, path string) {
	t.Helper()
	var ae *client.Error
	if err := f.api.Do(stepCtx(t, time.Minute), "GET", path, nil, nil); !errors.As(err, &ae) || ae.Code != http.StatusNotFound {
		t.Errorf("cloudlet's GET %s after the delete = %v, want 404", path, err)
	}
}
