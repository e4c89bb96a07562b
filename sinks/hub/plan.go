package hub

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"kforge/internal/hubclient"
)

// Plan is what publishing a release will do, computed from the release
// directory and the repository's state, without writing anything: whether
// the repository or the branch is created, each file's fate (new, changed,
// unchanged, delete, ignored; LFS or regular), the commit's parent, and
// whether the tag is created. Apply carries it out.
type Plan struct {
	Dir      string `json:"dir"`
	Repo     string `json:"repo"`
	Revision string `json:"revision"`
	Tag      string `json:"tag"`
	Private  bool   `json:"private"` // visibility of a repository created now

	// Offline: the Hub could not be reached (dry run only); every file is
	// shown as new and the modes are guesses. Such a plan cannot be applied.
	Offline    bool `json:"offline,omitempty"`
	RepoExists bool `json:"repo_exists"`
	// CreateRepo: the repository is missing (or not readable) and is
	// created first; the file modes are guesses until it exists.
	CreateRepo bool `json:"create_repo,omitempty"`
	// CreateBranch: the repository exists without Revision, which is
	// created from main; the files are compared with main's head.
	CreateBranch bool `json:"create_branch,omitempty"`
	// Parent is the head the commit goes on ("" when the branch has no
	// commit yet or the repository is created).
	Parent string       `json:"parent"`
	Files  []FileAction `json:"files"`
	// TagAt is the commit the tag already names, "" if the tag is new.
	TagAt string `json:"tag_at,omitempty"`

	files []*localFile
	byP   map[string]*localFile
}

// Changes counts the files the commit would add, change or delete.
func (pl *Plan) Changes() int { return changes(pl.Files) }

// UploadBytes is how many bytes of LFS content applying the plan may send
// (new and changed LFS files; objects the Hub already stores are skipped).
func (pl *Plan) UploadBytes() int64 {
	var n int64
	for _, fa := range pl.Files {
		if fa.Mode == "lfs" && (fa.State == StateNew || fa.State == StateChanged) {
			n += fa.Size
		}
	}
	return n
}

func changes(files []FileAction) int {
	n := 0
	for _, f := range files {
		if f.State == StateNew || f.State == StateChanged || f.State == StateDelete {
			n++
		}
	}
	return n
}

// TagConflict is the error when the tag already names another commit than
// the one this release would end at.
func (pl *Plan) TagConflict() error {
	if pl.TagAt != "" && (pl.Changes() > 0 || pl.TagAt != pl.Parent) {
		return fmt.Errorf("publish: tag %s already exists at %s and the release differs from it; choose another --tag", pl.Tag, short(pl.TagAt))
	}
	return nil
}

// Result is the plan as a Result with nothing done (a dry run's answer).
func (pl *Plan) Result() *Result {
	return &Result{Repo: pl.Repo, Revision: pl.Revision, Tag: pl.Tag, DryRun: true, RepoExists: pl.RepoExists,
		Parent: pl.Parent, Files: append([]FileAction(nil), pl.Files...)}
}

// Plan reads the release directory and the repository and says what
// publishing would do. It writes nothing. The card is checked locally,
// then by the Hub (a dry-run publisher only warns when the Hub cannot
// check it, and plans from the files alone when the Hub is not reachable).
func (p *Publisher) Plan(ctx context.Context) (pl *Plan, err error) {
	defer func() { err = p.c.RedactErr(err) }()
	c, cfg := p.c, p.cfg
	files, err := scanRelease(p.opt.Dir, c.NewTokenScan)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	pl = &Plan{Dir: p.opt.Dir, Repo: cfg.Repo, Revision: cfg.Revision, Tag: cfg.Tag, Private: cfg.Private,
		files: files, byP: map[string]*localFile{}}
	paths := make([]string, len(files))
	for i, f := range files {
		pl.byP[f.Path] = f
		paths[i] = f.Path
	}
	readme, err := os.ReadFile(pl.byP["README.md"].Abs)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	if err := ValidateCard(readme, paths); err != nil {
		return nil, fmt.Errorf("publish: card %s: %w", filepath.Join(p.opt.Dir, "README.md"), err)
	}

	state, head, err := c.Head(ctx, cfg.Repo, cfg.Revision)
	if err != nil && p.opt.DryRun && ctx.Err() == nil {
		p.log.Warn("hub: not reachable; planning from the local files", "err", err)
		pl.Offline = true
		pl.Files = guessFiles(files)
		return pl, nil
	}
	if err != nil {
		return nil, fmt.Errorf("publish: read %s@%s: %w", cfg.Repo, cfg.Revision, err)
	}
	pl.RepoExists = state != hubclient.RepoMissing
	if err := p.validateOnline(ctx, string(readme)); err != nil {
		return nil, err
	}
	if state == hubclient.RepoMissing {
		pl.CreateRepo = true
		pl.Files = guessFiles(files)
		return pl, nil
	}
	base := cfg.Revision
	if state == hubclient.RepoEmpty && cfg.Revision != "main" {
		// The branch will start at main's head: compare with that.
		pl.CreateBranch = true
		base = "main"
		if _, head, err = c.Head(ctx, cfg.Repo, base); err != nil {
			return nil, fmt.Errorf("publish: read %s@%s: %w", cfg.Repo, base, err)
		}
	}
	pl.Parent = head
	if pl.Files, err = p.remoteFiles(ctx, pl.files, base, head); err != nil {
		return nil, err
	}
	if head != "" {
		tags, err := c.Tags(ctx, cfg.Repo)
		if err != nil {
			return nil, fmt.Errorf("publish: %w", err)
		}
		pl.TagAt = tags[cfg.Tag]
	}
	return pl, nil
}

// validateOnline asks the Hub's validate-yaml endpoint. Only a definite
// rejection stops a dry run; a real publish needs the check to pass.
func (p *Publisher) validateOnline(ctx context.Context, readme string) error {
	err := p.c.ValidateYAML(ctx, readme)
	if err == nil {
		return nil
	}
	var he *Error
	if errors.As(err, &he) && (p.opt.DryRun || he.Status == http.StatusNotFound) {
		// A dry run may lack a token; a Hub mirror may not offer the check.
		p.log.Warn("hub: could not validate the card online", "err", err)
		return nil
	}
	return fmt.Errorf("publish: %w", err)
}

// guessFiles is the plan when the Hub cannot be asked: every file is new.
func guessFiles(files []*localFile) []FileAction {
	var out []FileAction
	for _, f := range files {
		mode := "regular"
		if f.Size >= lfsGuessSize || bytes.IndexByte(f.Sample, 0) >= 0 || strings.HasSuffix(f.Path, ".parquet") {
			mode = "lfs"
		}
		out = append(out, FileAction{Path: f.Path, Size: f.Size, Mode: mode, State: StateNew, Guessed: true})
	}
	return out
}

// remoteFiles asks the Hub how each file goes and what rev already holds,
// and lists the files under data/ at head that the release lacks.
func (p *Publisher) remoteFiles(ctx context.Context, files []*localFile, rev, head string) ([]FileAction, error) {
	c, cfg := p.c, p.cfg
	req := make([]hubclient.PreuploadFile, len(files))
	byP := map[string]bool{}
	for i, f := range files {
		req[i] = hubclient.PreuploadFile{Path: f.Path, Sample: base64.StdEncoding.EncodeToString(f.Sample), Size: f.Size}
		byP[f.Path] = true
	}
	pre, err := c.Preupload(ctx, cfg.Repo, rev, req)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	var out []FileAction
	for _, f := range files {
		r := pre[f.Path]
		mode := r.UploadMode
		if f.Size == 0 {
			mode = "regular" // LFS storage refuses empty objects
		}
		st := StateNew
		switch {
		case r.ShouldIgnore:
			st = StateIgnored
		case r.OID != nil && (*r.OID == f.SHA256 || *r.OID == f.GitSHA1):
			st = StateUnchanged
		case r.OID != nil:
			st = StateChanged
		}
		out = append(out, FileAction{Path: f.Path, Size: f.Size, Mode: mode, State: st})
	}
	if head == "" {
		return out, nil
	}
	tree, err := c.Tree(ctx, cfg.Repo, head)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	for _, e := range tree {
		if e.Type == "file" && strings.HasPrefix(e.Path, deletePrefix) && !byP[e.Path] {
			out = append(out, FileAction{Path: e.Path, Size: e.Size, State: StateDelete})
		}
	}
	return out, nil
}

// Print writes the plan: the repository, one line per file, the totals,
// and the commit and tag to come.
func (pl *Plan) Print(w io.Writer) {
	fmt.Fprintf(w, "publish plan: %s -> datasets/%s@%s, tag %s\n", pl.Dir, pl.Repo, pl.Revision, pl.Tag)
	switch {
	case pl.Offline:
		fmt.Fprintln(w, "repository: Hub not reachable; every file shown as new; modes are guesses")
	case pl.CreateRepo:
		vis := "public"
		if pl.Private {
			vis = "private"
		}
		fmt.Fprintf(w, "repository: missing or not readable; would be created (%s); modes are guesses\n", vis)
	case pl.CreateBranch:
		fmt.Fprintf(w, "repository: exists; branch %s missing, would be created from main at %s\n", pl.Revision, short(pl.Parent))
	case pl.Parent == "":
		fmt.Fprintf(w, "repository: exists; branch %s missing, would be created\n", pl.Revision)
	default:
		fmt.Fprintf(w, "repository: exists, head %s\n", short(pl.Parent))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STATE\tMODE\tSIZE\tPATH")
	var upFiles, lfsFiles, unchanged, deletes int
	var upBytes int64
	for _, a := range pl.Files {
		mode := a.Mode
		if mode == "" {
			mode = "-"
		} else if a.Guessed {
			mode += "?"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", a.State, mode, HumanBytes(a.Size), a.Path)
		switch a.State {
		case StateNew, StateChanged:
			upFiles++
			upBytes += a.Size
			if a.Mode == "lfs" {
				lfsFiles++
			}
		case StateUnchanged:
			unchanged++
		case StateDelete:
			deletes++
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "send: %d files, %s (%d by LFS); unchanged: %d; delete: %d\n", upFiles, HumanBytes(upBytes), lfsFiles, unchanged, deletes)
	switch {
	case pl.Changes() == 0 && pl.TagAt == pl.Parent:
		fmt.Fprintf(w, "commit: none (the branch already holds this release); tag %s already on %s\n", pl.Tag, short(pl.Parent))
	case pl.Changes() == 0:
		fmt.Fprintf(w, "commit: none (the branch already holds this release); tag %s on %s\n", pl.Tag, short(pl.Parent))
	default:
		fmt.Fprintf(w, "commit: one commit of %d operations on %s; then tag %s on it\n", pl.Changes(), pl.Revision, pl.Tag)
	}
}

// PrintDryRun is the whole of a dry run: the plan, the note that nothing
// was written, and the tag conflict the real publish would stop at.
func (pl *Plan) PrintDryRun(w io.Writer) error {
	pl.Print(w)
	fmt.Fprintln(w, "dry run: nothing written")
	return pl.TagConflict()
}
