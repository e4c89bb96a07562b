package hub

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"time"

	"kforge/internal/hubclient"
)

// Options say what to publish and how.
type Options struct {
	Dir    string // release directory (README.md, manifest.json, data/…)
	Config Config
	// DryRun makes Publish print the plan and stop. A dry-run publisher
	// plans leniently: it reads the repository when it can (anonymously if
	// there is no token, from the local files alone when the Hub is not
	// reachable) and it never applies.
	DryRun bool
	Out    io.Writer // Publish's plan (dry run) or summary; nil discards
	Log    *slog.Logger

	// Client settings; zero values take the defaults (environment token,
	// HF_ENDPOINT or the public Hub, standard retries).
	Getenv         func(string) string
	HTTP           *http.Client
	Retry          RetryPolicy
	AttemptTimeout time.Duration
	UserAgent      string
	Now            func() time.Time // for the default tag; nil means time.Now
	// OnUploaded is called with an LFS object's size as each finishes
	// uploading (progress; from several goroutines).
	OnUploaded func(bytes int64)
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

// Result is what Apply did (or, for a dry run, what the plan would do).
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

// Publisher plans and applies the publishing of one release directory.
type Publisher struct {
	c   *Client
	cfg Config // defaults filled in
	opt Options
	log *slog.Logger
}

// NewPublisher checks the settings (a *UsageError when they are bad) and
// sets up the Hub client. It makes no request.
func NewPublisher(opt Options) (*Publisher, error) {
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
	c, err := hubclient.NewClient(hubclient.ClientOptions{
		Endpoint: cfg.Endpoint, Getenv: getenv, HTTP: opt.HTTP, Log: log, UserAgent: opt.UserAgent,
		Retry: retry, AttemptTimeout: opt.AttemptTimeout, Anonymous: opt.DryRun,
		OnUploaded: opt.OnUploaded,
	})
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	return &Publisher{c: c, cfg: cfg, opt: opt, log: c.Log()}, nil
}

// Publish uploads the release in opt.Dir to the dataset repository as one
// commit on the branch, then tags that commit: NewPublisher, Plan, then
// Apply, or for a dry run the printed plan. Files the branch already holds
// are not sent; a release already published makes no commit. On any
// failure before the commit the repository is left as it was.
func Publish(ctx context.Context, opt Options) (*Result, error) {
	out := opt.Out
	if out == nil {
		out = io.Discard
	}
	p, err := NewPublisher(opt)
	if err != nil {
		return nil, err
	}
	plan, err := p.Plan(ctx)
	if err != nil {
		return nil, err
	}
	if opt.DryRun {
		return plan.Result(), plan.PrintDryRun(out)
	}
	res, err := p.Apply(ctx, plan)
	if err != nil {
		return res, err
	}
	res.PrintSummary(out)
	return res, nil
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

// HumanBytes writes n bytes with a binary unit: 512 B, 1.5 MiB.
func HumanBytes(n int64) string {
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
