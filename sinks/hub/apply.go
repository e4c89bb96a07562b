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

	"kforge/internal/hubclient"
)

// applier carries out one plan.
type applier struct {
	c   *Client
	cfg Config
	log *slog.Logger
	pl  *Plan
	res *Result
}

// Apply carries out a plan made by this publisher: it creates the
// repository or the branch when the plan says so, uploads the LFS content
// of new and changed files (several at a time), makes the one commit
// against the plan's parent, then tags it. A plan whose modes were guessed
// because the repository did not exist is refreshed from the Hub once the
// repository exists. On a failure before the commit the repository is left
// as it was (a created repository or branch stays).
func (p *Publisher) Apply(ctx context.Context, pl *Plan) (res *Result, err error) {
	defer func() { err = p.c.RedactErr(err) }()
	switch {
	case p.opt.DryRun:
		return nil, errors.New("publish: a dry-run publisher does not apply plans")
	case pl.Offline:
		return nil, errors.New("publish: the plan was made without the Hub; plan again")
	case pl.Repo != p.cfg.Repo || pl.Revision != p.cfg.Revision || pl.Tag != p.cfg.Tag || pl.byP == nil:
		return nil, errors.New("publish: the plan was not made by this publisher")
	}
	if err := pl.TagConflict(); err != nil {
		return nil, err
	}
	c, cfg := p.c, p.cfg
	a := &applier{c: c, cfg: cfg, log: p.log, pl: pl, res: &Result{Repo: cfg.Repo, Revision: cfg.Revision, Tag: cfg.Tag,
		RepoExists: pl.RepoExists, Parent: pl.Parent, Files: append([]FileAction(nil), pl.Files...)}}
	tagged := pl.TagAt != ""
	switch {
	case pl.CreateRepo:
		if a.res.Created, err = c.CreateRepo(ctx, cfg.Repo, cfg.Private); err != nil {
			return nil, fmt.Errorf("publish: create %s: %w", cfg.Repo, err)
		}
		a.res.RepoExists = true
		state, head, err := c.Head(ctx, cfg.Repo, cfg.Revision)
		if err != nil {
			return nil, fmt.Errorf("publish: read %s@%s: %w", cfg.Repo, cfg.Revision, err)
		}
		if state == hubclient.RepoMissing {
			return nil, fmt.Errorf("publish: %s still missing after creating it (check the token's write access)", cfg.Repo)
		}
		if state == hubclient.RepoEmpty && cfg.Revision != "main" {
			if err := c.CreateBranch(ctx, cfg.Repo, cfg.Revision); err != nil {
				return nil, fmt.Errorf("publish: create branch %s: %w", cfg.Revision, err)
			}
			if _, head, err = c.Head(ctx, cfg.Repo, cfg.Revision); err != nil {
				return nil, fmt.Errorf("publish: read %s@%s: %w", cfg.Repo, cfg.Revision, err)
			}
		}
		// The plan's modes were guesses: ask the Hub now that it can answer.
		a.res.Parent = head
		if a.res.Files, err = p.remoteFiles(ctx, pl.files, cfg.Revision, head); err != nil {
			return nil, err
		}
	case pl.CreateBranch:
		// The branch starts at main's head; the commit names the head the
		// plan compared with, so a main that moved meanwhile is refused.
		if err := c.CreateBranch(ctx, cfg.Repo, cfg.Revision); err != nil {
			return nil, fmt.Errorf("publish: create branch %s: %w", cfg.Revision, err)
		}
	}

	if a.res.Changes() == 0 {
		a.res.Head = a.res.Parent
		a.log.Info("hub: release already on the branch; nothing to upload", "repo", cfg.Repo, "head", a.res.Head)
	} else {
		if err := a.upload(ctx); err != nil {
			return nil, err
		}
		if err := a.commit(ctx, a.res.Parent); err != nil {
			return nil, err
		}
	}
	if !tagged {
		if err := c.CreateTag(ctx, cfg.Repo, a.res.Head, cfg.Tag, "kforge release "+cfg.Tag); err != nil {
			if StatusOf(err) != http.StatusConflict {
				return a.res, fmt.Errorf("publish: committed %s but tagging failed (rerun publish to tag it): %w", short(a.res.Head), err)
			}
			// 409: a tag appeared meanwhile; fine only if it points at our commit.
			tags, terr := c.Tags(ctx, cfg.Repo)
			if terr != nil || tags[cfg.Tag] != a.res.Head {
				return a.res, fmt.Errorf("publish: tag %s was created by someone else meanwhile: %w", cfg.Tag, err)
			}
		} else {
			a.res.Tagged = true
		}
	}
	return a.res, nil
}

// upload sends the LFS content of new and changed files.
func (a *applier) upload(ctx context.Context) error {
	var lfs []*hubclient.LFSObject
	for _, fa := range a.res.Files {
		if fa.Mode == "lfs" && (fa.State == StateNew || fa.State == StateChanged) {
			f := a.pl.byP[fa.Path]
			lfs = append(lfs, &hubclient.LFSObject{Path: f.Path, Abs: f.Abs, Size: f.Size, SHA256: f.SHA256})
		}
	}
	if len(lfs) == 0 {
		return nil
	}
	if len(lfs) > maxLFSPerCommit {
		return fmt.Errorf("publish: %d LFS files, over the Hub's %d per commit; nothing uploaded", len(lfs), maxLFSPerCommit)
	}
	st, err := a.c.UploadLFS(ctx, a.cfg.Repo, a.cfg.Revision, lfs)
	a.res.UploadedFiles, a.res.UploadedBytes = st.Objects, st.Bytes
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
func (a *applier) commitBody(parent string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	header := map[string]any{
		"summary":     "Publish " + a.cfg.Tag,
		"description": fmt.Sprintf("kforge release %s: %d files changed.", a.cfg.Tag, a.res.Changes()),
	}
	if parent != "" {
		header["parentCommit"] = parent
	}
	if err := enc.Encode(map[string]any{"key": "header", "value": header}); err != nil {
		return nil, err
	}
	var regular int64
	for _, fa := range a.res.Files {
		var line map[string]any
		switch {
		case fa.State == StateDelete:
			line = map[string]any{"key": "deletedFile", "value": map[string]any{"path": fa.Path}}
		case fa.State != StateNew && fa.State != StateChanged:
			continue
		case fa.Mode == "lfs":
			f := a.pl.byP[fa.Path]
			line = map[string]any{"key": "lfsFile", "value": map[string]any{"path": fa.Path, "algo": "sha256", "oid": f.SHA256, "size": f.Size}}
		default:
			f := a.pl.byP[fa.Path]
			data, err := os.ReadFile(f.Abs)
			if err != nil {
				return nil, err
			}
			if lf, err := hashFile(f.Abs, f.Path, a.c.NewTokenScan()); err != nil || lf.SHA256 != f.SHA256 {
				return nil, fmt.Errorf("%s changed since it was planned", f.Path)
			}
			regular += int64(len(data))
			if regular > maxRegularPayload {
				return nil, fmt.Errorf("regular files exceed %d MiB in one commit", maxRegularPayload>>20)
			}
			line = map[string]any{"key": "file", "value": map[string]any{"path": fa.Path, "content": base64.StdEncoding.EncodeToString(data), "encoding": "base64"}}
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
func (a *applier) commit(ctx context.Context, parent string) error {
	c, cfg := a.c, a.cfg
	body, err := a.commitBody(parent)
	if err != nil {
		return fmt.Errorf("publish: nothing committed: %w", err)
	}
	rp := c.RetryPolicy()
	for attempt := 1; ; attempt++ {
		cr, err := c.Commit(ctx, cfg.Repo, cfg.Revision, body)
		if err == nil {
			a.res.Commit, a.res.CommitURL, a.res.Head = cr.CommitOID, cr.CommitURL, cr.CommitOID
			a.log.Info("hub: committed", "repo", cfg.Repo, "commit", cr.CommitOID, "files", a.res.Changes())
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
		a.log.Warn("hub: commit answer lost or failed; checking the branch", "err", err)
		landed, now, cerr := a.landed(ctx, parent)
		if cerr != nil {
			return fmt.Errorf("publish: commit outcome unknown (%v); check %s@%s before rerunning: %w", cerr, cfg.Repo, cfg.Revision, err)
		}
		if landed {
			a.res.Commit, a.res.Head = now, now
			a.log.Info("hub: the commit landed despite the lost answer", "commit", now)
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
func (a *applier) landed(ctx context.Context, parent string) (bool, string, error) {
	c, cfg := a.c, a.cfg
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
	for _, fa := range a.res.Files {
		e, ok := remote[fa.Path]
		switch fa.State {
		case StateDelete:
			if ok {
				return false, head, nil
			}
		case StateNew, StateChanged, StateUnchanged:
			f := a.pl.byP[fa.Path]
			if !ok || !(e.OID == f.GitSHA1 || (e.LFS != nil && e.LFS.OID == f.SHA256)) {
				return false, head, nil
			}
		}
	}
	return true, head, nil
}

// PrintSummary writes one line on what was published.
func (r *Result) PrintSummary(w io.Writer) {
	if r.Commit == "" {
		fmt.Fprintf(w, "published %s: unchanged at %s (nothing uploaded, no commit)", r.Repo, short(r.Head))
	} else {
		fmt.Fprintf(w, "published %s: commit %s, %d files changed, %d LFS objects (%s) uploaded", r.Repo, short(r.Commit), r.Changes(), r.UploadedFiles, HumanBytes(r.UploadedBytes))
	}
	if r.Tagged {
		fmt.Fprintf(w, "; tagged %s\n", r.Tag)
	} else {
		fmt.Fprintf(w, "; tag %s already there\n", r.Tag)
	}
}
