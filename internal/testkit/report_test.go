package testkit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// A report lands as <name>.json (the report, indented, ending in a newline) and <name>.md in $BENCH_OUT.
func TestWriteReportWritesJSONAndMarkdownIntoBenchOut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	t.Setenv("BENCH_OUT", dir)
	WriteReport(t, "b9", map[string]float64{"ratio": 1.5}, "| a | b |\n")
	raw, err := os.ReadFile(filepath.Join(dir, "b9.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]float64
	if err := json.Unmarshal(raw, &got); err != nil || got["ratio"] != 1.5 || raw[len(raw)-1] != '\n' {
		t.Errorf("b9.json = %q (%v), want the report", raw, err)
	}
	if md, err := os.ReadFile(filepath.Join(dir, "b9.md")); err != nil || string(md) != "| a | b |\n" {
		t.Errorf("b9.md = %q (%v), want the markdown", md, err)
	}
}

// Without $BENCH_OUT, reports go to bench-out at the module's root, wherever in the module the test runs.
func TestBenchOutDirIsBenchOutAtTheModuleRoot(t *testing.T) {
	t.Setenv("BENCH_OUT", "")
	got, err := BenchOutDir()
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("../..")
	if got != filepath.Join(root, "bench-out") {
		t.Errorf("BenchOutDir() = %s, want %s/bench-out", got, root)
	}
}
