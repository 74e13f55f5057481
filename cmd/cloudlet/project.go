package main

import (
	"errors"

	"github.com/spf13/cobra"

	"cloudlet/appliance/identity"
)

const projectsPath = "/api/v1/projects"

var projectHeader = []string{"ID", "NAME", "ENABLED", "DESCRIPTION"}

func projectRow(p *identity.Project) []string {
	return []string{p.ID, p.Name, yesNo(p.Enabled), p.Description}
}

func newProjectCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "project", Short: "projects (tenants): who owns instances, volumes, networks"}
	cmd.AddCommand(newProjectCreateCmd(g), newProjectSetCmd(g))
	cmd.AddCommand(crudCommands(g, "project", projectsPath, projectHeader, projectRow)...)
	return cmd
}

func newProjectCreateCmd(g *globals) *cobra.Command {
	var description string
	cmd := &cobra.Command{Use: "create NAME [--description TEXT]", Short: "create a project", Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			in := map[string]string{"name": a[0], "description": description}
			return showResource(g, "POST", projectsPath, in, projectHeader, projectRow)
		}}
	cmd.Flags().StringVar(&description, "description", "", "what the project is for")
	return cmd
}

func newProjectSetCmd(g *globals) *cobra.Command {
	var description string
	var enable, disable bool
	cmd := &cobra.Command{Use: "set PROJECT [--description TEXT] [--enable|--disable]",
		Short: "change a project; a disabled project's tokens stop working", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, a []string) error {
			in := map[string]any{}
			if c.Flags().Changed("description") {
				in["description"] = description
			}
			if enable || disable {
				in["enabled"] = enable
			}
			if len(in) == 0 {
				return errors.New("give --description, --enable or --disable")
			}
			return showResource(g, "PATCH", itemPath(projectsPath, a[0]), in, projectHeader, projectRow)
		}}
	cmd.Flags().StringVar(&description, "description", "", "what the project is for")
	cmd.Flags().BoolVar(&enable, "enable", false, "enable the project")
	cmd.Flags().BoolVar(&disable, "disable", false, "disable the project")
	cmd.MarkFlagsMutuallyExclusive("enable", "disable")
	return cmd
}
