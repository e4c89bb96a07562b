package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"

	"kforge/configs"
	"kforge/datasets"
	"kforge/internal/redact"
	"kforge/pipeline"
	"kforge/shards"
	"kforge/sinks/hub"
	"kforge/sinks/release"
	"kforge/sources/replay"
)

// releaseInput is what a release is made from: complete shards and, when
// given, the recipe whose dataset section decides the rows (else the one the
// shards were built with).
type releaseInput struct {
	shards   []string
	cfg      *configs.Config // nil: the shards' own dataset section
	out      string
	cacheDir string // replay downloads go under it
	repo     string // the Hub dataset id the card's code loads
}

// makeRelease is the one release path build, export and merge share: the
// shards are checked (complete, agreeing lineage, readable stats) and the
// release is a function of them and the recipe alone, so the same shards
// give the same release, manifest included. Hub replay sources are
// downloaded through the same Hub client that publishes (anonymous when
// there is no token, so public datasets work).
func makeRelease(ctx context.Context, e *env, log *slog.Logger, in releaseInput) (*release.Summary, *shards.Set, error) {
	set, err := shards.Check(in.shards)
	if err != nil {
		return nil, nil, err
	}
	ds, err := releaseDataset(in.cfg, set.Lineage)
	if err != nil {
		return nil, nil, err
	}
	lin := set.Lineage
	if lin == nil && in.cfg != nil {
		// Shards without lineage (hand-made, or older than lineage files):
		// the release records the recipe it was made with.
		lin = &shards.Lineage{Recipe: in.cfg.Name, Dataset: &ds}
	}
	if lin, err = redactLineage(e.redact, lin); err != nil {
		return nil, nil, err
	}
	cache, err := pipeline.OpenDirCache(in.cacheDir)
	if err != nil {
		return nil, nil, fmt.Errorf("cache: %w", err)
	}
	rd := replay.Reader{Options: replay.Options{CacheDir: filepath.Join(cache.Dir(), "replay")}}
	if len(ds.Replay.Sources) > 0 {
		c, err := hub.NewClient(hub.ClientOptions{Getenv: e.getenv, Log: log, UserAgent: "kforge/" + versionString(), Anonymous: true})
		if err != nil {
			return nil, nil, err
		}
		rd.Hub = c
	}
	tok, err := loadTokenizer(ctx, e, ds.Tokenizer, cache.Dir())
	if err != nil {
		return nil, nil, err
	}
	prog := e.startProgress("reading shards", 0)
	opt := release.Options{
		Shards: set.Dirs, Out: in.out, Dataset: ds, Lineage: lin, Replay: rd, Stats: set.Stats, Log: log, Repo: in.repo,
		Tokenizer: tok,
		Progress: func(stage string, done, total int64) {
			prog.Describe(stage)
			prog.SetTotal(total)
			prog.Set(done)
		},
	}
	sum, err := release.Build(ctx, opt)
	prog.Stop()
	return sum, set, e.redact.Error(err)
}

// releaseDataset is the dataset section a release is made with: the
// recipe's when one is given, else the one the shards were built with
// (their lineage), else the defaults.
func releaseDataset(cfg *configs.Config, lin *shards.Lineage) (datasets.Config, error) {
	if cfg != nil {
		return cfg.Dataset, nil
	}
	var d datasets.Config
	if err := configs.ApplyDefaults(&d); err != nil {
		return d, err
	}
	if lin != nil {
		if err := lin.DecodeDataset(&d); err != nil {
			return d, fmt.Errorf("dataset section in the shards' lineage: %w", err)
		}
	}
	return d, nil
}

// redactLineage is lineage with every string masked by r (URL userinfo
// such as model.host's user:password, secret values): the one place the
// lineage that build writes into lineage.json and every release writes into
// manifest.json passes through.
func redactLineage(r *redact.Redactor, lin *shards.Lineage) (*shards.Lineage, error) {
	if lin == nil {
		return nil, nil
	}
	b, err := json.Marshal(lin)
	if err != nil {
		return nil, fmt.Errorf("lineage: %w", err)
	}
	var m any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("lineage: %w", err)
	}
	if b, err = json.Marshal(r.Value(m)); err != nil {
		return nil, fmt.Errorf("lineage: %w", err)
	}
	var out shards.Lineage
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("lineage: %w", err)
	}
	return &out, nil
}
