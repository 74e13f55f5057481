package store

import (
	"fmt"

	"go.etcd.io/bbolt"
)

// The record buckets: one top-level bucket per kind of record, all created by migration 1.
const (
	BucketInstances      = "instances"
	BucketFlavors        = "flavors"
	BucketImages         = "images"
	BucketVolumes        = "volumes"
	BucketSnapshots      = "snapshots"
	BucketPools          = "pools"
	BucketNetworks       = "networks"
	BucketSubnets        = "subnets"
	BucketPorts          = "ports"
	BucketSecurityGroups = "security_groups"
	BucketFloatingIPs    = "floating_ips"
	BucketPortForwards   = "port_forwards"
	BucketProjects       = "projects"
	BucketUsers          = "users"
	BucketRoles          = "roles"
	BucketTokens         = "tokens"
	BucketCredentials    = "credentials"
	BucketKeypairs       = "keypairs"
	BucketQuotas         = "quotas"
	BucketAudit          = "audit"
	// BucketInstanceSecrets holds what a guest is given that no list may show (user-data, the password
	// hash), one unnamed record per instance with the instance's ID, apart from the instances bucket
	// whose records lists copy verbatim. Created by migration 3.
	BucketInstanceSecrets = "instance_secrets"
	// BucketWebhooks holds the projects' webhooks (URL, event patterns); BucketWebhookSecrets their
	// signing secrets, one record per webhook with its ID, apart as instance secrets are. Created by
	// migration 4.
	BucketWebhooks       = "webhooks"
	BucketWebhookSecrets = "webhook_secrets"
)

// The special top-level buckets.
const (
	bucketMeta   = "meta"   // schema_version
	bucketEvents = "events" // the event log
)

// The sub-buckets of every record bucket.
const (
	subRecords  = "records"  // id → JSON record
	subNames    = "names"    // scopeKey \x00 name → id
	subProjects = "projects" // projectID \x00 id → empty
)

// Buckets returns the names of the record buckets, in a stable order.
func Buckets() []string {
	return []string{
		BucketInstances, BucketFlavors, BucketImages, BucketVolumes, BucketSnapshots, BucketPools,
		BucketNetworks, BucketSubnets, BucketPorts, BucketSecurityGroups, BucketFloatingIPs,
		BucketPortForwards, BucketProjects, BucketUsers, BucketRoles, BucketTokens,
		BucketCredentials, BucketKeypairs, BucketQuotas, BucketAudit, BucketInstanceSecrets,
		BucketWebhooks, BucketWebhookSecrets,
	}
}

// scopeOf returns the name scope of a record bucket and whether bucket is one. The scope is part
// of the layout (it decides the names index keys), so it is fixed here, not by callers. Pools are
// host resources (admin-managed, like flavors), so their names are global.
func scopeOf(bucket string) (Scope, bool) {
	switch bucket {
	case BucketUsers, BucketProjects, BucketFlavors, BucketPools:
		return ScopeGlobal, true
	}
	for _, b := range Buckets() {
		if b == bucket {
			return ScopeProject, true
		}
	}
	return 0, false
}

// noun turns a bucket name into the singular noun used in messages ("security_groups" →
// "security group").
func noun(bucket string) string {
	b := []byte(bucket)
	if n := len(b); n > 1 && b[n-1] == 's' {
		b = b[:n-1]
	}
	for i, c := range b {
		if c == '_' {
			b[i] = ' '
		}
	}
	return string(b)
}

// tables are the three sub-buckets of one kind inside a transaction.
type tables struct {
	records, names, projects *bbolt.Bucket
}

// kindTables finds the sub-buckets of bucket; a missing one means the schema was never migrated.
func kindTables(tx *bbolt.Tx, bucket string) (tables, error) {
	top := tx.Bucket([]byte(bucket))
	if top == nil {
		return tables{}, faultf(ErrCorrupt, "catalog has no bucket %q (not migrated?)", bucket)
	}
	t := tables{
		records:  top.Bucket([]byte(subRecords)),
		names:    top.Bucket([]byte(subNames)),
		projects: top.Bucket([]byte(subProjects)),
	}
	if t.records == nil || t.names == nil || t.projects == nil {
		return tables{}, faultf(ErrCorrupt, "catalog bucket %q lacks a records, names or projects sub-bucket", bucket)
	}
	return t, nil
}

// createKindBuckets creates a record bucket and its sub-buckets (idempotent).
func createKindBuckets(tx *bbolt.Tx, bucket string) error {
	top, err := tx.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	for _, sub := range []string{subRecords, subNames, subProjects} {
		if _, err := top.CreateBucketIfNotExists([]byte(sub)); err != nil {
			return fmt.Errorf("create bucket %s/%s: %w", bucket, sub, err)
		}
	}
	return nil
}
