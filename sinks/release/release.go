// Package release writes a release: the Parquet datasets, the dataset card,
// the manifest and the speedup plot. What the release holds is decided by
// package assemble (the plan, then the rows); this package only writes it,
// into a temporary directory swapped in whole.
package release

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"kforge/assemble"
	"kforge/datasets"
	"kforge/datasets/tokenizer"
	"kforge/pipeline"
	"kforge/shards"
	pq "kforge/sinks/parquet"

	"github.com/apache/arrow-go/v18/arrow"
)

// Options say what to build a release from and where.
type Options struct {
	Shards  []string // complete shard directories (see package shards)
	Out     string   // release directory (README.md, manifest.json, data/…)
	Dataset datasets.Config
	// Lineage is written into manifest.json as is (sources, model, config, …).
	Lineage *shards.Lineage
	// Stats, when set, gets the release's counts (release.rows, …).
	Stats *pipeline.Stats
	Log   *slog.Logger

	// Replay reads the dataset section's replay sources; nil fails a
	// section that has any.
	Replay assemble.Replay
	// RowGroupBytes bounds Parquet row groups, uncompressed (default 8 MB:
	// up to eight writers are open at once, each holding a row group being
	// built and one being encoded).
	RowGroupBytes int64
	// MaxShardBytes, when > 0, overrides Dataset.MaxShardMB (tests, small shards).
	MaxShardBytes int64
	// Repo is the Hub dataset id (ORG/NAME) the release will be published
	// to, for the card's code; empty writes a placeholder users must set.
	Repo string
	// Tokenizer counts the card's tokens; nil loads Dataset.Tokenizer as a
	// local path (none: estimated).
	Tokenizer tokenizer.Counter
	// Progress, when set, is told how many tasks have been read (see
	// assemble.Input.Progress).
	Progress func(stage string, done, total int64)
}

// Summary is what a release holds.
type Summary struct {
	Files []string         `json:"files"`
	Rows  map[string]int64 `json:"rows"` // by config/split
	// Replay is the replay mix realised in sft/train.
	Replay assemble.ReplayReport `json:"replay"`
	// Filtered counts rows removed by each filter.
	Filtered assemble.Filtered `json:"filtered"`
}

// Build writes the release from the shards. Same inputs and config give
// byte-identical files.
//
// The release is written into a temporary directory beside Out and renamed
// into place when it is whole, so a reader, or a run killed at any point,
// sees either the old release or the new one, never a mix. What killed runs
// left behind (temporary directories, hidden temporary files) is removed
// first. A canceled ctx gives an error matching ErrCanceled and leaves the
// old release as it was.
func Build(ctx context.Context, opt Options) (*Summary, error) {
	if opt.Out == "" {
		return nil, errors.New("release: no output directory")
	}
	if len(opt.Shards) == 0 {
		return nil, errors.New("release: no shards to build from")
	}
	final := filepath.Clean(opt.Out)
	if err := RemoveLeftovers(final); err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), tempPrefix(final))
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	opt.Out = tmp
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	sum, err := build(ctx, opt)
	if err == nil {
		if hook := testHookBeforeSwap; hook != nil {
			hook(tmp)
		}
		err = ctx.Err()
	}
	if err == nil {
		err = swapIn(tmp, final)
	}
	if err != nil {
		os.RemoveAll(tmp)
		if ctx.Err() != nil {
			return nil, canceled{ctx.Err()}
		}
		return nil, err
	}
	opt.Log.Info("release written", "out", final, "files", len(sum.Files), "rows", sumRows(sum.Rows),
		"replay_fraction", sum.Replay.Realised)
	return sum, nil
}

func build(ctx context.Context, opt Options) (*Summary, error) {
	set, err := shards.Check(opt.Shards)
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	plan, err := assemble.NewPlan(ctx, assemble.Input{Shards: set.Dirs, Dataset: opt.Dataset, Replay: opt.Replay, Log: opt.Log, Progress: opt.Progress})
	if err != nil {
		return nil, err
	}
	b := &builder{opt: opt, plan: plan, ds: plan.Dataset, formats: plan.Formats, stats: set.Stats, failures: set.Failures,
		sum: &Summary{Rows: map[string]int64{}}, tok: tokenizer.Estimate{}, tokens: map[string]*tokenCounts{}}
	if opt.Tokenizer != nil {
		b.tok = opt.Tokenizer
	} else if plan.Dataset.Tokenizer != "" {
		t, err := tokenizer.Load(plan.Dataset.Tokenizer)
		if err != nil {
			return nil, fmt.Errorf("release: dataset.tokenizer: %w", err)
		}
		b.tok = t
	}
	files, err := b.write(ctx)
	if err != nil {
		return nil, err
	}
	if err := b.finish(ctx, files); err != nil {
		return nil, err
	}
	return b.sum, nil
}

// builder writes one release from its plan.
type builder struct {
	opt     Options
	plan    *assemble.Plan
	rep     *assemble.Report
	ds      datasets.Config
	formats []string
	stats   *pipeline.Stats // merged stats.json of the shards
	// failures are the shards' failed items and unreadable sources.
	failures []datasets.Failure
	sum      *Summary
	parquet  []pq.File
	// tok counts the tokens of the card's statistics; tokens holds them
	// per config, one entry per row.
	tok    tokenizer.Counter
	tokens map[string]*tokenCounts
}

// schema is the schema a config is written with.
func (b *builder) schema(config string) *arrow.Schema {
	return pq.SchemaWith(config, pq.SchemaOptions{Verl: b.ds.Verl})
}

// write makes the plan's rows and writes them into every config's Parquet
// shards.
func (b *builder) write(ctx context.Context) ([]pq.File, error) {
	writers := map[string]*pq.Writer{}
	popt := pq.Options{MaxShardBytes: int64(max(1, b.ds.MaxShardMB)) << 20, RowGroupBytes: b.opt.RowGroupBytes}
	if b.opt.MaxShardBytes > 0 {
		popt.MaxShardBytes = b.opt.MaxShardBytes
	}
	if popt.RowGroupBytes <= 0 {
		popt.RowGroupBytes = 8 << 20
	}
	if popt.RowGroupBytes > popt.MaxShardBytes {
		popt.RowGroupBytes = popt.MaxShardBytes
	}
	abort := func() {
		for _, w := range writers {
			w.Abort()
		}
	}
	rep, err := b.plan.Rows(ctx, func(config, split string, r datasets.Row) error {
		key := config + "/" + split
		w, ok := writers[key]
		if !ok {
			w = pq.NewWriter(b.opt.Out, config, split, b.schema(config), popt)
			writers[key] = w
		}
		b.countTokens(config, r)
		return w.Append(r)
	})
	if err != nil {
		abort()
		return nil, err
	}
	b.rep = rep
	b.sum.Rows = rep.Rows
	b.sum.Replay = rep.Replay
	b.sum.Filtered = b.plan.Filtered

	var files []pq.File
	for _, key := range slices.Sorted(maps.Keys(writers)) {
		fs, err := writers[key].Close()
		if err != nil {
			abort()
			return nil, err
		}
		files = append(files, fs...)
	}
	return files, nil
}
