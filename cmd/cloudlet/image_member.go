package main

import (
	"net/url"

	"github.com/spf13/cobra"

	"cloudlet/images"
)

// imageMember is one membership as the members routes answer it.
type imageMember struct {
	ImageID   string `json:"image_id"`
	ProjectID string `json:"project_id"`
	Status    string `json:"status"`
}

// newImageMemberCmd is `cloudlet image member add|remove|list|accept|reject`: the owner shares an
// image with named projects; each recipient accepts (or rejects) it before it shows in its list.
func newImageMemberCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "member", Short: "share images with other projects, and answer shares (pending → accepted or rejected)"}
	cmd.AddCommand(
		newImageShareCmd(g, "add", "POST"), newImageShareCmd(g, "remove", "DELETE"),
		&cobra.Command{Use: "list IMAGE", Short: "list an image's members (a recipient sees only its own)", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error { return imageMemberList(g, a[0]) }},
		newImageAnswerCmd(g, "accept", images.MemberAccepted), newImageAnswerCmd(g, "reject", images.MemberRejected))
	return cmd
}

// newImageAnswerCmd answers a share: PROJECT is the caller's own project (by ID or name), as in
// Glance's member-update; IMAGE an ID, or a name among the images shared with it.
func newImageAnswerCmd(g *globals, verb, status string) *cobra.Command {
	short := "accept an image shared with your project: it joins your image list"
	if verb == "reject" {
		short = "reject an image shared with your project: it leaves your image list (still usable by ID)"
	}
	return &cobra.Command{Use: verb + " IMAGE PROJECT", Short: short, Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, a []string) error {
			var m imageMember
			err := g.call("PUT", imagePath(a[0])+"/members/"+url.PathEscape(a[1]), map[string]string{"status": status}, &m)
			if err != nil {
				return err
			}
			return g.print(m, imageMemberHeader, [][]string{imageMemberRow(&m)})
		}}
}

var imageMemberHeader = []string{"IMAGE", "PROJECT", "STATUS"}

func imageMemberRow(m *imageMember) []string { return []string{m.ImageID, m.ProjectID, m.Status} }

func imageMemberList(g *globals, ref string) error {
	var out []*imageMember
	if err := g.call("GET", imagePath(ref)+"/members", nil, &out); err != nil {
		return err
	}
	rows := make([][]string, 0, len(out))
	for _, m := range out {
		rows = append(rows, imageMemberRow(m))
	}
	return g.print(out, imageMemberHeader, rows)
}
