package main

import (
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// listResource GETs a collection and prints it: row makes the table, -o json prints the answer as is.
func listResource[T any](g *globals, path string, header []string, row func(*T) []string) error {
	var items []T
	raw, err := g.fetch("GET", path, nil, &items)
	if err != nil {
		return err
	}
	rows := make([][]string, 0, len(items))
	for i := range items {
		rows = append(rows, row(&items[i]))
	}
	return g.print(raw, header, rows)
}

// showResource does a request whose answer is one T and prints it.
func showResource[T any](g *globals, method, path string, in any, header []string, row func(*T) []string) error {
	var v T
	raw, err := g.fetch(method, path, in, &v)
	if err != nil {
		return err
	}
	return g.print(raw, header, [][]string{row(&v)})
}

// crudCommands are the list, show and delete verbs of a collection at path.
func crudCommands[T any](g *globals, noun, path string, header []string, row func(*T) []string) []*cobra.Command {
	upper := strings.ToUpper(noun)
	return []*cobra.Command{
		{Use: "list", Short: "list " + noun + "s", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error { return listResource(g, path, header, row) }},
		{Use: "show " + upper, Short: "show one " + noun + " (by name or ID)", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				return showResource(g, "GET", itemPath(path, a[0]), nil, header, row)
			}},
		{Use: "delete " + upper, Short: "delete a " + noun, Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error { return g.call("DELETE", itemPath(path, a[0]), nil, nil) }},
	}
}

func itemPath(collection, ref string) string { return collection + "/" + url.PathEscape(ref) }

// when formats an optional time for tables.
func when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	return t.Local().Format(time.RFC3339)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
