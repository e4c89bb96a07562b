// Package release turns shard outputs (tasks, variants, verdicts) into a
// release: Parquet datasets, the dataset card, the manifest and plots.
package release

import (
	"context"
	"errors"
	"log/slog"

	"kforge/datasets"
	"kforge/pipeline"
)

// Options say what to build a release from and where.
type Options struct {
	Shards  []string // shard directories, each with tasks.jsonl, variants.jsonl, verdicts.jsonl, stats.json, DONE
	Out     string   // release directory (README.md, manifest.json, data/…)
	Dataset datasets.Config
	// Lineage is written into manifest.json as is (sources, model, config, …).
	Lineage map[string]any
	Cache   pipeline.Cache // for replay downloads
	Stats   *pipeline.Stats
	Log     *slog.Logger
}

// Summary is what a release holds.
type Summary struct {
	Files []string         `json:"files"`
	Rows  map[string]int64 `json:"rows"` // by config/split
}

// Build writes the release from the shards. Same inputs and config give
// byte-identical files.
func Build(ctx context.Context, opt Options) (*Summary, error) {
	return nil, errors.New("the release writer is not built yet")
}
