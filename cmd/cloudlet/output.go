package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
)

// printJSON writes v indented, for -o json.
func (g *globals) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err = fmt.Fprintf(g.stdout, "%s\n", b)
	return err
}

// printTable writes a header and rows aligned in columns.
func (g *globals) printTable(header []string, rows [][]string) error {
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	return w.Flush()
}

// print writes v as JSON with -o json, else as the given table.
func (g *globals) print(v any, header []string, rows [][]string) error {
	if g.output == "json" {
		return g.printJSON(v)
	}
	return g.printTable(header, rows)
}
