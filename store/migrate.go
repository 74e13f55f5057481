package store

import (
	"fmt"
	"strconv"

	"go.etcd.io/bbolt"
)

// migration moves the catalog from version-1 to version. apply runs in the same transaction that
// records the new version, so a crash leaves the catalog at one version or the other.
type migration struct {
	version int
	name    string
	apply   func(*bbolt.Tx) error
}

// migrations returns cloudlet's schema history, oldest first. Append; never edit a released entry.
func migrations() []migration {
	return []migration{
		{version: 1, name: "create buckets", apply: createBuckets},
		{version: 2, name: "create the holds table", apply: createHoldBuckets},
		{version: 3, name: "create the instance secrets table", apply: createInstanceSecrets},
		{version: 4, name: "create the webhooks tables", apply: createWebhooks},
	}
}

// createBuckets is migration 1: the meta and events buckets and every record bucket.
func createBuckets(tx *bbolt.Tx) error {
	for _, b := range []string{bucketMeta, bucketEvents} {
		if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
			return fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	for _, b := range Buckets() {
		if err := createKindBuckets(tx, b); err != nil {
			return err
		}
	}
	return nil
}

// createInstanceSecrets is migration 3: the instance_secrets record bucket (a new catalog's migration 1
// made it already: creating it again changes nothing).
func createInstanceSecrets(tx *bbolt.Tx) error { return createKindBuckets(tx, BucketInstanceSecrets) }

// createWebhooks is migration 4: the webhooks and webhook_secrets record buckets (idempotent, as
// migration 3).
func createWebhooks(tx *bbolt.Tx) error {
	for _, b := range []string{BucketWebhooks, BucketWebhookSecrets} {
		if err := createKindBuckets(tx, b); err != nil {
			return err
		}
	}
	return nil
}

// validMigrations insists on versions 1, 2, 3, ... with no gaps: a programming error otherwise.
func validMigrations(migs []migration) error {
	for i, m := range migs {
		if m.version != i+1 || m.apply == nil {
			return fmt.Errorf("migration list is broken at entry %d (version %d, %q)", i, m.version, m.name)
		}
	}
	return nil
}

const keySchemaVersion = "schema_version"

// readVersion returns the schema version; 0 means the catalog was never migrated.
func readVersion(tx *bbolt.Tx) (int, error) {
	meta := tx.Bucket([]byte(bucketMeta))
	if meta == nil {
		return 0, nil
	}
	raw := meta.Get([]byte(keySchemaVersion))
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 1 {
		return 0, faultf(ErrCorrupt, "bad schema version %q in bucket meta", raw)
	}
	return v, nil
}

func writeVersion(tx *bbolt.Tx, v int) error {
	meta, err := tx.CreateBucketIfNotExists([]byte(bucketMeta))
	if err != nil {
		return err
	}
	return meta.Put([]byte(keySchemaVersion), []byte(strconv.Itoa(v)))
}

// migrate applies every migration newer than from, each in its own transaction.
func (db *DB) migrate(from int, migs []migration) error {
	for _, m := range migs[from:] {
		err := db.bolt.Update(func(tx *bbolt.Tx) error {
			if err := m.apply(tx); err != nil {
				return err
			}
			return writeVersion(tx, m.version)
		})
		if err != nil {
			return fmt.Errorf("migrate to schema version %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}
