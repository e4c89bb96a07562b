package hub

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"kforge/internal/hubclient"
)

// Options say what to publish and how.
type Options struct {
	Dir    string // release directory (README.md, manifest.json, data/…)
	Config Config
	// DryRun prints the plan and writes nothing to the Hub. It reads the
	// repository when it can (anonymously if there is no token).
	DryRun bool
	Out    io.Writer // the plan and the summary; nil discards
	Log    *slog.Logger

	// Client settings; zero values take the defaults (environment token,
	// HF_ENDPOINT or the public Hub, standard retries).
	Getenv         func(string) string
	HTTP           *http.Client
	Retry          RetryPolicy
	AttemptTimeout time.Duration
	UserAgent      string
	Now            func() time.Time // for the default tag; nil means time.Now
}

// File states in a plan.
const (
	StateNew       = "new"
	StateChanged   = "changed"
	StateUnchanged = "unchanged"
	StateDelete    = "delete"
	StateIgnored   = "ignored" // the repo's .gitignore excludes it
)

// FileAction is one line of the plan.
type FileAction struct {
	Path  string `json:"path"`
	Size  int64  `json:"size"`
	Mode  string `json:"mode"`  // "lfs" or "regular"; "" for a delete
	State string `json:"state"` // new, changed, unchanged, delete, ignored
	// Guessed is true when the mode is kforge's guess because the Hub could
	// not be asked (dry run on a missing or unreadable repository).
	Guessed bool `json:"guessed,omitempty"`
}

// Result is what Publish did (or, for a dry run, would do).
type Result struct {
	Repo          string       `json:"repo"`
	Revision      string       `json:"revision"`
	Tag           string       `json:"tag"`
	DryRun        bool         `json:"dry_run"`
	RepoExists    bool         `json:"repo_exists"`
	Created       bool         `json:"created"`        // the repository was created
	Parent        string       `json:"parent"`         // branch head before publishing
	Commit        string       `json:"commit"`         // the new commit, "" when nothing changed
	CommitURL     string       `json:"commit_url"`     //
	Head          string       `json:"head"`           // branch head after publishing (the tagged commit)
	Tagged        bool         `json:"tagged"`         // the tag was created now
	Files         []FileAction `json:"files"`          //
	UploadedFiles int          `json:"uploaded_files"` // LFS objects sent
	UploadedBytes int64        `json:"uploaded_bytes"` // LFS bytes sent
}

// Changes counts the files the commit would add, change or delete.
func (r *Result) Changes() int {
	n := 0
	for _, f := range r.Files {
		if f.State == StateNew || f.State == StateChanged || f.State == StateDelete {
			n++
		}
	}
	return n
}

// UsageError is a bad publish setting (repo name, tag), as opposed to a
// failure while publishing.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

var tagRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// lfsGuessSize is the size from which a dry run without the Hub's answer
// guesses LFS (the Hub's own rule is about 10 MB, or any binary file).
const lfsGuessSize = 10 << 20

// deletePrefix is the part of the repository a release owns: remote files
// there that the release lacks are deleted (old shard counts). Files
// elsewhere (extra docs, images) are left alone.
const deletePrefix = "data/"

// Publish uploads the release in opt.Dir to the dataset repository as one
// commit on the branch, then tags that commit. Files the branch already
// holds are not sent; a release already published makes no commit. On any
// failure before the commit the repository is left as it was.
func Publish(ctx context.Context, opt Options) (res *Result, err error) {
	cfg := opt.Config
	if cfg.Revision == "" {
		cfg.Revision = "main"
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	if cfg.Tag == "" {
		cfg.Tag = "v" + now().UTC().Format("2006.01.02")
	}
	out := opt.Out
	if out == nil {
		out = io.Discard
	}
	if _, _, err := hubclient.SplitRepo(cfg.Repo); err != nil {
		return nil, &UsageError{err}
	}
	if !tagRe.MatchString(cfg.Tag) {
		return nil, &UsageError{fmt.Errorf("tag %q: want letters, digits, '.', '_', '-'", cfg.Tag)}
	}
	getenv := opt.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	retry := opt.Retry
	if opt.DryRun && retry.Attempts == 0 {
		retry.Attempts = 3 // a dry run offline should not wait long to say so
	}
	c, err := NewClient(ClientOptions{
		Endpoint: cfg.Endpoint, Getenv: getenv, HTTP: opt.HTTP, Log: log, UserAgent: opt.UserAgent,
		Retry: retry, AttemptTimeout: opt.AttemptTimeout, Anonymous: opt.DryRun,
	})
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	defer func() { err = c.RedactErr(err) }()
	p := &publisher{c: c, cfg: cfg, opt: opt, out: out, log: c.Log()}
	return p.run(ctx)
}

type publisher struct {
	c     *Client
	cfg   Config
	opt   Options
	out   io.Writer
	log   *slog.Logger
	files []*localFile
	byP   map[string]*localFile
	res   Result
	// offline is set when a dry run could not reach the Hub.
	offline bool
	tagAt   string // where the tag points already, "" if nowhere
}

func (p *publisher) run(ctx context.Context) (*Result, error) {
	c, cfg := p.c, p.cfg
	p.res = Result{Repo: cfg.Repo, Revision: cfg.Revision, Tag: cfg.Tag, DryRun: p.opt.DryRun}
	files, err := scanRelease(p.opt.Dir, c.NewTokenScan)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	p.files = files
	p.byP = map[string]*localFile{}
	paths := make([]string, len(files))
	for i, f := range files {
		p.byP[f.Path] = f
		paths[i] = f.Path
	}
	readme, err := os.ReadFile(p.byP["README.md"].Abs)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	if err := ValidateCard(readme, paths); err != nil {
		return nil, fmt.Errorf("publish: card %s: %w", filepath.Join(p.opt.Dir, "README.md"), err)
	}

	state, head, err := c.Head(ctx, cfg.Repo, cfg.Revision)
	if err != nil && p.opt.DryRun && ctx.Err() == nil {
		// Offline: the plan can still be made from the files alone.
		p.log.Warn("hub: not reachable; planning from the local files", "err", err)
		p.offline = true
		p.localPlan()
		p.printPlan()
		return &p.res, nil
	}
	if err != nil {
		return nil, fmt.Errorf("publish: read %s@%s: %w", cfg.Repo, cfg.Revision, err)
	}
	p.res.RepoExists = state != hubclient.RepoMissing
	if err := p.validateOnline(ctx, string(readme)); err != nil {
		return nil, err
	}
	if state == hubclient.RepoMissing && p.opt.DryRun {
		p.localPlan()
		p.printPlan()
		return &p.res, nil
	}
	if state == hubclient.RepoMissing {
		if p.res.Created, err = c.CreateRepo(ctx, cfg.Repo, cfg.Private); err != nil {
			return nil, fmt.Errorf("publish: create %s: %w", cfg.Repo, err)
		}
		p.res.RepoExists = true
		if state, head, err = c.Head(ctx, cfg.Repo, cfg.Revision); err != nil {
			return nil, fmt.Errorf("publish: read %s@%s: %w", cfg.Repo, cfg.Revision, err)
		}
		if state == hubclient.RepoMissing {
			return nil, fmt.Errorf("publish: %s still missing after creating it (check the token's write access)", cfg.Repo)
		}
	}
	if state == hubclient.RepoEmpty && cfg.Revision != "main" && !p.opt.DryRun {
		// Commits need an existing branch; start it from the default one.
		if err := c.CreateBranch(ctx, cfg.Repo, cfg.Revision); err != nil {
			return nil, fmt.Errorf("publish: create branch %s: %w", cfg.Revision, err)
		}
		if _, head, err = c.Head(ctx, cfg.Repo, cfg.Revision); err != nil {
			return nil, fmt.Errorf("publish: read %s@%s: %w", cfg.Repo, cfg.Revision, err)
		}
	}
	p.res.Parent = head
	if err := p.remotePlan(ctx, head); err != nil {
		return nil, err
	}
	var tagAt string
	var tagged bool
	if head != "" {
		tags, err := c.Tags(ctx, cfg.Repo)
		if err != nil {
			return nil, fmt.Errorf("publish: %w", err)
		}
		tagAt, tagged = tags[cfg.Tag]
	}
	p.tagAt = tagAt
	if p.opt.DryRun {
		p.printPlan()
		if tagged && (p.res.Changes() > 0 || tagAt != head) {
			return &p.res, fmt.Errorf("publish: tag %s already exists at %s; choose another --tag", cfg.Tag, short(tagAt))
		}
		return &p.res, nil
	}
	if tagged && (p.res.Changes() > 0 || tagAt != head) {
		return nil, fmt.Errorf("publish: tag %s already exists at %s and the release differs from it; choose another --tag", cfg.Tag, short(tagAt))
	}

	if p.res.Changes() == 0 {
		p.res.Head = head
		p.log.Info("hub: release already on the branch; nothing to upload", "repo", cfg.Repo, "head", head)
	} else {
		if err := p.upload(ctx); err != nil {
			return nil, err
		}
		if err := p.commit(ctx, head); err != nil {
			return nil, err
		}
	}
	if !tagged {
		if err := c.CreateTag(ctx, cfg.Repo, p.res.Head, cfg.Tag, "kforge release "+cfg.Tag); err != nil {
			if StatusOf(err) != http.StatusConflict {
				return &p.res, fmt.Errorf("publish: committed %s but tagging failed (rerun publish to tag it): %w", short(p.res.Head), err)
			}
			// 409: a tag appeared meanwhile; fine only if it points at our commit.
			tags, terr := c.Tags(ctx, cfg.Repo)
			if terr != nil || tags[cfg.Tag] != p.res.Head {
				return &p.res, fmt.Errorf("publish: tag %s was created by someone else meanwhile: %w", cfg.Tag, err)
			}
		} else {
			p.res.Tagged = true
		}
	}
	p.printSummary()
	return &p.res, nil
}

// validateOnline asks the Hub's validate-yaml endpoint. Only a definite
// rejection stops a dry run; a real publish needs the check to pass.
func (p *publisher) validateOnline(ctx context.Context, readme string) error {
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

// localPlan is the plan when the Hub cannot be asked: every file is new.
func (p *publisher) localPlan() {
	for _, f := range p.files {
		mode := "regular"
		if f.Size >= lfsGuessSize || bytes.IndexByte(f.Sample, 0) >= 0 || strings.HasSuffix(f.Path, ".parquet") {
			mode = "lfs"
		}
		p.res.Files = append(p.res.Files, FileAction{Path: f.Path, Size: f.Size, Mode: mode, State: StateNew, Guessed: true})
	}
}

// remotePlan asks the Hub how each file goes and what it already holds.
func (p *publisher) remotePlan(ctx context.Context, head string) error {
	c, cfg := p.c, p.cfg
	req := make([]hubclient.PreuploadFile, len(p.files))
	for i, f := range p.files {
		req[i] = hubclient.PreuploadFile{Path: f.Path, Sample: base64.StdEncoding.EncodeToString(f.Sample), Size: f.Size}
	}
	pre, err := c.Preupload(ctx, cfg.Repo, cfg.Revision, req)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	for _, f := range p.files {
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
		p.res.Files = append(p.res.Files, FileAction{Path: f.Path, Size: f.Size, Mode: mode, State: st})
	}
	if head == "" {
		return nil
	}
	tree, err := c.Tree(ctx, cfg.Repo, head)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	for _, e := range tree {
		if e.Type == "file" && strings.HasPrefix(e.Path, deletePrefix) && p.byP[e.Path] == nil {
			p.res.Files = append(p.res.Files, FileAction{Path: e.Path, Size: e.Size, State: StateDelete})
		}
	}
	return nil
}

// upload sends the LFS content of new and changed files.
func (p *publisher) upload(ctx context.Context) error {
	var lfs []*hubclient.LFSObject
	for _, a := range p.res.Files {
		if a.Mode == "lfs" && (a.State == StateNew || a.State == StateChanged) {
			f := p.byP[a.Path]
			lfs = append(lfs, &hubclient.LFSObject{Path: f.Path, Abs: f.Abs, Size: f.Size, SHA256: f.SHA256})
		}
	}
	if len(lfs) == 0 {
		return nil
	}
	if len(lfs) > maxLFSPerCommit {
		return fmt.Errorf("publish: %d LFS files, over the Hub's %d per commit; nothing uploaded", len(lfs), maxLFSPerCommit)
	}
	st, err := p.c.UploadLFS(ctx, p.cfg.Repo, p.cfg.Revision, lfs)
	p.res.UploadedFiles, p.res.UploadedBytes = st.Objects, st.Bytes
	if err != nil {
		return fmt.Errorf("publish: nothing committed; %w", err)
	}
	return nil
}

// maxLFSPerCommit is the Hub's limit on LFS files in one commit.
const maxLFSPerCommit = 25000

// maxRegularPayload keeps the commit under the Hub's 1 GB regular-file limit.
const maxRegularPayload = 900 << 20

// commitBody is the NDJSON commit: header, then one line per operation.
func (p *publisher) commitBody(parent string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	header := map[string]any{
		"summary":     "Publish " + p.cfg.Tag,
		"description": fmt.Sprintf("kforge release %s: %d files changed.", p.cfg.Tag, p.res.Changes()),
	}
	if parent != "" {
		header["parentCommit"] = parent
	}
	if err := enc.Encode(map[string]any{"key": "header", "value": header}); err != nil {
		return nil, err
	}
	var regular int64
	for _, a := range p.res.Files {
		var line map[string]any
		switch {
		case a.State == StateDelete:
			line = map[string]any{"key": "deletedFile", "value": map[string]any{"path": a.Path}}
		case a.State != StateNew && a.State != StateChanged:
			continue
		case a.Mode == "lfs":
			f := p.byP[a.Path]
			line = map[string]any{"key": "lfsFile", "value": map[string]any{"path": a.Path, "algo": "sha256", "oid": f.SHA256, "size": f.Size}}
		default:
			f := p.byP[a.Path]
			data, err := os.ReadFile(f.Abs)
			if err != nil {
				return nil, err
			}
			if lf, err := hashFile(f.Abs, f.Path, p.c.NewTokenScan()); err != nil || lf.SHA256 != f.SHA256 {
				return nil, fmt.Errorf("%s changed since it was planned", f.Path)
			}
			regular += int64(len(data))
			if regular > maxRegularPayload {
				return nil, fmt.Errorf("regular files exceed %d MiB in one commit", maxRegularPayload>>20)
			}
			line = map[string]any{"key": "file", "value": map[string]any{"path": a.Path, "content": base64.StdEncoding.EncodeToString(data), "encoding": "base64"}}
		}
		if err := enc.Encode(line); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// commit posts the one commit. The commit POST is never repeated blindly:
// after a lost or failed answer the branch head is read first; if it moved
// and holds exactly the release's files, the commit landed.
func (p *publisher) commit(ctx context.Context, parent string) error {
	c, cfg := p.c, p.cfg
	body, err := p.commitBody(parent)
	if err != nil {
		return fmt.Errorf("publish: nothing committed: %w", err)
	}
	rp := c.RetryPolicy()
	for attempt := 1; ; attempt++ {
		cr, err := c.Commit(ctx, cfg.Repo, cfg.Revision, body)
		if err == nil {
			p.res.Commit, p.res.CommitURL, p.res.Head = cr.CommitOID, cr.CommitURL, cr.CommitOID
			p.log.Info("hub: committed", "repo", cfg.Repo, "commit", cr.CommitOID, "files", p.res.Changes())
			return nil
		}
		if st := StatusOf(err); st/100 == 4 && !hubclient.Retryable(st) {
			if st == http.StatusPreconditionFailed || st == http.StatusConflict {
				return fmt.Errorf("publish: %s moved since %s (another writer); nothing committed, rerun publish: %w", cfg.Revision, short(parent), err)
			}
			return fmt.Errorf("publish: commit refused, nothing committed: %w", err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("publish: commit interrupted; check %s@%s before rerunning: %w", cfg.Repo, cfg.Revision, err)
		}
		p.log.Warn("hub: commit answer lost or failed; checking the branch", "err", err)
		landed, now, cerr := p.landed(ctx, parent)
		if cerr != nil {
			return fmt.Errorf("publish: commit outcome unknown (%v); check %s@%s before rerunning: %w", cerr, cfg.Repo, cfg.Revision, err)
		}
		if landed {
			p.res.Commit, p.res.Head = now, now
			p.log.Info("hub: the commit landed despite the lost answer", "commit", now)
			return nil
		}
		if now != parent {
			return fmt.Errorf("publish: %s moved to %s without our files (another writer); nothing committed: %w", cfg.Revision, short(now), err)
		}
		if attempt >= rp.Attempts {
			return fmt.Errorf("publish: commit failed %d times, nothing committed: %w", attempt, err)
		}
		wait := min(rp.Base<<(attempt-1), rp.Max)
		var he *Error
		if errors.As(err, &he) && he.RetryAfter > 0 {
			wait = min(he.RetryAfter, rp.MaxWait)
		}
		if serr := rp.Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("publish: nothing committed: %w", err)
		}
	}
}

// landed reports whether the branch moved past parent to a state holding
// every file of the plan (and none of the deleted ones), and the head.
func (p *publisher) landed(ctx context.Context, parent string) (bool, string, error) {
	c, cfg := p.c, p.cfg
	_, head, err := c.Head(ctx, cfg.Repo, cfg.Revision)
	if err != nil {
		return false, "", err
	}
	if head == parent {
		return false, head, nil
	}
	tree, err := c.Tree(ctx, cfg.Repo, head)
	if err != nil {
		return false, head, err
	}
	remote := map[string]hubclient.TreeEntry{}
	for _, e := range tree {
		if e.Type == "file" {
			remote[e.Path] = e
		}
	}
	for _, a := range p.res.Files {
		e, ok := remote[a.Path]
		switch a.State {
		case StateDelete:
			if ok {
				return false, head, nil
			}
		case StateNew, StateChanged, StateUnchanged:
			f := p.byP[a.Path]
			if !ok || !(e.OID == f.GitSHA1 || (e.LFS != nil && e.LFS.OID == f.SHA256)) {
				return false, head, nil
			}
		}
	}
	return true, head, nil
}

func short(oid string) string {
	if len(oid) > 12 {
		return oid[:12]
	}
	if oid == "" {
		return "(none)"
	}
	return oid
}

// printPlan writes the dry-run plan.
func (p *publisher) printPlan() {
	r := &p.res
	fmt.Fprintf(p.out, "publish plan: %s -> datasets/%s@%s, tag %s\n", p.opt.Dir, r.Repo, r.Revision, r.Tag)
	switch {
	case p.offline:
		fmt.Fprintln(p.out, "repository: Hub not reachable; every file shown as new; modes are guesses")
	case !r.RepoExists:
		vis := "public"
		if p.cfg.Private {
			vis = "private"
		}
		fmt.Fprintf(p.out, "repository: missing or not readable; would be created (%s); modes are guesses\n", vis)
	case r.Parent == "":
		fmt.Fprintf(p.out, "repository: exists; branch %s missing, would be created\n", r.Revision)
	default:
		fmt.Fprintf(p.out, "repository: exists, head %s\n", short(r.Parent))
	}
	tw := tabwriter.NewWriter(p.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STATE\tMODE\tSIZE\tPATH")
	var upFiles, lfsFiles, unchanged, deletes int
	var upBytes int64
	for _, a := range r.Files {
		mode := a.Mode
		if mode == "" {
			mode = "-"
		} else if a.Guessed {
			mode += "?"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", a.State, mode, humanBytes(a.Size), a.Path)
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
	fmt.Fprintf(p.out, "send: %d files, %s (%d by LFS); unchanged: %d; delete: %d\n", upFiles, humanBytes(upBytes), lfsFiles, unchanged, deletes)
	switch {
	case r.Changes() == 0 && p.tagAt == r.Parent:
		fmt.Fprintf(p.out, "commit: none (the branch already holds this release); tag %s already on %s\n", r.Tag, short(r.Parent))
	case r.Changes() == 0:
		fmt.Fprintf(p.out, "commit: none (the branch already holds this release); tag %s on %s\n", r.Tag, short(r.Parent))
	default:
		fmt.Fprintf(p.out, "commit: one commit of %d operations on %s; then tag %s on it\n", r.Changes(), r.Revision, r.Tag)
	}
	fmt.Fprintln(p.out, "dry run: nothing written")
}

func (p *publisher) printSummary() {
	r := &p.res
	if r.Commit == "" {
		fmt.Fprintf(p.out, "published %s: unchanged at %s (nothing uploaded, no commit)", r.Repo, short(r.Head))
	} else {
		fmt.Fprintf(p.out, "published %s: commit %s, %d files changed, %d LFS objects (%s) uploaded", r.Repo, short(r.Commit), r.Changes(), r.UploadedFiles, humanBytes(r.UploadedBytes))
	}
	if r.Tagged {
		fmt.Fprintf(p.out, "; tagged %s\n", r.Tag)
	} else {
		fmt.Fprintf(p.out, "; tag %s already there\n", r.Tag)
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
