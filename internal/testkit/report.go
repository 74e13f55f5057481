package testkit

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// WriteReport writes a benchmark's report as <name>.json (report, indented) and <name>.md (markdown)
// into BenchOutDir. It fails the benchmark if it cannot.
func WriteReport(b testing.TB, name string, report any, markdown string) {
	b.Helper()
	dir, err := BenchOutDir()
	if err != nil {
		b.Fatalf("benchmark output dir: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatalf("create %s: %v", dir, err)
	}
	data, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		b.Fatalf("encode %s report: %v", name, err)
	}
	for file, content := range map[string][]byte{name + ".json": append(data, '\n'), name + ".md": []byte(markdown)} {
		if err := os.WriteFile(filepath.Join(dir, file), content, 0o644); err != nil {
			b.Fatalf("write %s: %v", file, err)
		}
	}
	b.Logf("wrote %s.json and %s.md to %s", name, name, dir)
}

// BenchOutDir is where benchmark reports go: $BENCH_OUT, or bench-out at the root of the module (the
// nearest directory above the working directory that holds go.mod).
func BenchOutDir() (string, error) {
	if dir := os.Getenv("BENCH_OUT"); dir != "" {
		return dir, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "bench-out"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory; set BENCH_OUT")
		}
		dir = parent
	}
}
