// Package splice puts a candidate region into its task's program. Only
// Task.Region changes; every other byte of every file stays identical, and a
// candidate that would change anything else is rejected.
package splice

import (
	"fmt"
	"strings"

	"kforge/datasets"
)

// Rule names of splice rejections.
const (
	RuleTaskRegion    = "task-region"    // the task itself is inconsistent (not the candidate's fault)
	RuleOutsideRegion = "outside-region" // the candidate changes code outside the region
	RuleUnchanged     = "unchanged"      // the candidate is the reference
)

// Rejection is a failed splice.
type Rejection struct {
	Rule   string
	Detail string
}

func (r *Rejection) Error() string { return "splice: " + r.Rule + ": " + r.Detail }

// minHarnessLine is the length from which a harness line copied into a
// candidate counts as an attempt to supply more than the region.
const minHarnessLine = 16

// CheckTask reports whether t's region is consistent with its files.
func CheckTask(t *datasets.Task) error {
	// One file per path: the region and the rewrites name files by path.
	seen := make(map[string]bool, len(t.Files))
	for _, g := range t.Files {
		if seen[g.Path] {
			return &Rejection{RuleTaskRegion, fmt.Sprintf("file %q is listed twice", g.Path)}
		}
		seen[g.Path] = true
	}
	f := file(t)
	if f == nil {
		return &Rejection{RuleTaskRegion, fmt.Sprintf("region file %q is not among the task's files", t.Region.File)}
	}
	r := t.Region
	if r.Start < 0 || r.End < r.Start || r.End > len(f.Content) {
		return &Rejection{RuleTaskRegion, fmt.Sprintf("region [%d,%d) is outside %s (%d bytes)", r.Start, r.End, f.Path, len(f.Content))}
	}
	if f.Content[r.Start:r.End] != r.Text {
		return &Rejection{RuleTaskRegion, fmt.Sprintf("region text differs from %s[%d:%d]", f.Path, r.Start, r.End)}
	}
	last := map[string]int{}
	for i, w := range t.Build.Rewrites {
		var g *datasets.File
		for j := range t.Files {
			if t.Files[j].Path == w.File {
				g = &t.Files[j]
			}
		}
		switch {
		case g == nil:
			return &Rejection{RuleTaskRegion, fmt.Sprintf("rewrite %d: file %q is not among the task's files", i, w.File)}
		case w.Start < last[w.File] || w.End < w.Start || w.End > len(g.Content):
			return &Rejection{RuleTaskRegion, fmt.Sprintf("rewrite %d: [%d,%d) of %s is out of range or out of order", i, w.Start, w.End, w.File)}
		case g.Content[w.Start:w.End] != w.Text:
			return &Rejection{RuleTaskRegion, fmt.Sprintf("rewrite %d: text differs from %s[%d:%d]", i, w.File, w.Start, w.End)}
		case w.File == r.File && w.Start < r.End && w.End > r.Start,
			w.File == r.File && w.Start == w.End && w.Start > r.Start && w.Start < r.End:
			return &Rejection{RuleTaskRegion, fmt.Sprintf("rewrite %d: [%d,%d) overlaps the region", i, w.Start, w.End)}
		}
		last[w.File] = w.End
	}
	return nil
}

// Rewritten applies the task's build rewrites to files: t's files, or the
// files Splice made of them (a rewrite after the region moves with the
// region's change of length). Call CheckTask first.
func Rewritten(t *datasets.Task, files []datasets.File) []datasets.File {
	if len(t.Build.Rewrites) == 0 {
		return files
	}
	out := make([]datasets.File, len(files))
	copy(out, files)
	orig := map[string]int{}
	for _, f := range t.Files {
		orig[f.Path] = len(f.Content)
	}
	for i := range out {
		f := &out[i]
		shift := 0
		if f.Path == t.Region.File {
			shift = len(f.Content) - orig[f.Path]
		}
		var sb strings.Builder
		at := 0
		for _, w := range t.Build.Rewrites {
			if w.File != f.Path {
				continue
			}
			start, end := w.Start, w.End
			if f.Path == t.Region.File && start >= t.Region.End {
				start, end = start+shift, end+shift
			}
			sb.WriteString(f.Content[at:start])
			sb.WriteString(w.With)
			at = end
		}
		sb.WriteString(f.Content[at:])
		f.Content = sb.String()
	}
	return out
}

func file(t *datasets.Task) *datasets.File {
	for i := range t.Files {
		if t.Files[i].Path == t.Region.File {
			return &t.Files[i]
		}
	}
	return nil
}

// Extract returns the region part of candidate. A candidate is normally the
// region text alone; a whole region file is accepted when everything outside
// the region is byte-identical to the task's, and rejected otherwise. A region
// text that carries harness lines is taken as an attempt to rewrite the
// harness and rejected.
func Extract(t *datasets.Task, candidate string) (string, error) {
	if err := CheckTask(t); err != nil {
		return "", err
	}
	f := file(t)
	pre, post := f.Content[:t.Region.Start], f.Content[t.Region.End:]
	if strings.HasPrefix(candidate, pre) && strings.HasSuffix(candidate, post) && len(candidate) >= len(pre)+len(post) && (pre != "" || post != "") {
		return candidate[len(pre) : len(candidate)-len(post)], nil
	}
	refLines := lineSet(t.Region.Text)
	harness := lineSet(pre + "\n" + post)
	for _, l := range strings.Split(candidate, "\n") {
		k := strings.TrimSpace(l)
		if len(k) >= minHarnessLine && harness[k] && !refLines[k] {
			return "", &Rejection{RuleOutsideRegion, fmt.Sprintf("the candidate carries harness code %q: only the region may change", clip(k))}
		}
	}
	return candidate, nil
}

func lineSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(s, "\n") {
		m[strings.TrimSpace(l)] = true
	}
	return m
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// Splice returns a copy of t's files with the region replaced by region, and
// checks that nothing else changed.
func Splice(t *datasets.Task, region string) ([]datasets.File, error) {
	if err := CheckTask(t); err != nil {
		return nil, err
	}
	out := make([]datasets.File, len(t.Files))
	copy(out, t.Files)
	for i := range out {
		if out[i].Path != t.Region.File {
			continue
		}
		c := out[i].Content
		out[i].Content = c[:t.Region.Start] + region + c[t.Region.End:]
	}
	if err := Outside(t, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Outside checks that files differ from t's only inside the region: same
// paths in the same order, other files identical, and the region file equal
// outside the region span.
func Outside(t *datasets.Task, files []datasets.File) error {
	if len(files) != len(t.Files) {
		return &Rejection{RuleOutsideRegion, fmt.Sprintf("%d files, the task has %d", len(files), len(t.Files))}
	}
	for i, f := range files {
		o := t.Files[i]
		if f.Path != o.Path {
			return &Rejection{RuleOutsideRegion, fmt.Sprintf("file %d is %q, the task's is %q", i, f.Path, o.Path)}
		}
		if f.Path != t.Region.File {
			if f.Content != o.Content {
				return &Rejection{RuleOutsideRegion, fmt.Sprintf("%s changed and holds no region", f.Path)}
			}
			continue
		}
		pre, post := o.Content[:t.Region.Start], o.Content[t.Region.End:]
		if len(f.Content) < len(pre)+len(post) || f.Content[:len(pre)] != pre || f.Content[len(f.Content)-len(post):] != post {
			return &Rejection{RuleOutsideRegion, fmt.Sprintf("%s changed outside the region", f.Path)}
		}
	}
	return nil
}
