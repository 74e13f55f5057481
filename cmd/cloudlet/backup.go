package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"cloudlet/store"
)

func newBackupCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "write an online copy of the daemon's catalog to FILE",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return backup(g, args[0])
		},
	}
}

// backup streams the catalog into a temp file beside dest, checks it opens as a consistent catalog,
// then renames it into place. A failed or truncated copy never replaces dest.
func backup(g *globals, dest string) error {
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".cloudlet-backup-*")
	if err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	defer os.Remove(tmp.Name())
	n, err := fetchBackup(g, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	if err := verifyCatalog(tmp.Name()); err != nil {
		return fmt.Errorf("backup to %s: the copy does not check out: %w", dest, err)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	fmt.Fprintf(g.stdout, "catalog backed up to %s (%d bytes)\n", dest, n)
	return nil
}

func fetchBackup(g *globals, w *os.File) (int64, error) {
	body, err := g.client().Stream(context.Background(), "GET", "/api/v1/backup")
	if err != nil {
		return 0, err
	}
	defer body.Close()
	n, err := io.Copy(w, body)
	if err != nil {
		return n, err
	}
	return n, w.Sync()
}

func verifyCatalog(path string) error {
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	return db.Close()
}
