package repos

import (
	"context"
	"errors"
	"log/slog"

	"kforge/datasets"
)

// Options are what mining needs beyond the recipe.
type Options struct {
	CacheDir string       // mirrors live under <CacheDir>/git
	Archs    []string     // default target archs for tasks
	Log      *slog.Logger // never nil
}

// RepoInfo is what was mined from one repository, for the manifest.
type RepoInfo struct {
	URL    string `json:"url"`
	Ref    string `json:"ref"`
	Commit string `json:"commit"`
	Subdir string `json:"subdir,omitempty"`
	Tasks  int    `json:"tasks"`
}

// Result is the outcome of mining: tasks in a deterministic order (by id),
// and what was skipped, by reason.
type Result struct {
	Tasks   []datasets.Task  `json:"-"`
	Repos   []RepoInfo       `json:"repos"`
	Skipped map[string]int64 `json:"skipped"`
}

// Mine mirrors every configured repository and mines its tasks.
func Mine(ctx context.Context, cfg Config, opt Options) (*Result, error) {
	return nil, errors.New("mining is not built yet")
}

// Checkout returns a read-only checkout of src's repository at src.Commit,
// from the mirror in the cache, for builds that need the repository's files.
func Checkout(ctx context.Context, cacheDir string, src datasets.Source) (string, error) {
	return "", errors.New("checkout is not built yet")
}
