package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"kforge/build"
	"kforge/configs"
	"kforge/pipeline"
	"kforge/shards"
	"kforge/sinks/hub"
)

const mergeUsage = `usage: kforge merge --out DIR [--allow-missing] [-c FILE] [--cache-dir DIR] SHARD_DIR...

Makes the release from the outputs of every shard of a build: dedup,
decontamination, splits and replay across all shards. SHARD_DIR is a shard
directory (BUILD/shards/00003-of-00016) or a whole build directory (BUILD).
Refuses while a shard is missing or unfinished (no DONE marker), and names it.
With -c and a recipe that has a publish section, publishes the release when
the failed items of all shards are within publish.max_failed_items and
publish.max_failed_fraction (exit 3 when any item failed, published or not).

flags:
`

// cmdMerge is `kforge merge`.
func cmdMerge(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), mergeUsage); fs.PrintDefaults() }
	out := fs.String("out", "", "release directory to write (required)")
	allowMissing := fs.Bool("allow-missing", false, "make the release from the complete shards even when others are missing")
	recipe := fs.String("c", "", "recipe whose dataset section (splits, dedup, replay) makes the release (default: the one the shards were built with)")
	cacheDir := fs.String("cache-dir", "", "cache directory for replay data (default: the recipe's cache_dir, else the release's parent/cache)")
	noPublish := fs.Bool("no-publish", false, "write the release only, even when the recipe has a publish section")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		return &usageError{err: errors.New("--out and at least one SHARD_DIR are needed"), usage: fs.Usage}
	}

	var cfg *configs.Config
	logFormat, logLevel := "text", "info"
	if *recipe != "" {
		c, err := configs.Load(*recipe)
		if err != nil {
			return &usageError{err: err}
		}
		e.redact.Add(e.getenv(c.Model.APIKeyEnv))
		cfg, logFormat, logLevel = c, c.Log.Format, c.Log.Level
	}
	log := newLogger(e.stderr, logFormat, logLevel)

	complete, missing, err := shards.Find(fs.Args())
	if err != nil {
		return &usageError{err: err}
	}
	if len(missing) > 0 {
		if !*allowMissing {
			msg := fmt.Sprintf("%d shard(s) missing or unfinished (rerun them, or pass --allow-missing):", len(missing))
			for _, m := range missing {
				msg += "\n  " + m
			}
			return errors.New(msg)
		}
		log.Warn("merging without missing shards", "missing", missing)
	}
	if len(complete) == 0 {
		return errors.New("no complete shard to merge")
	}
	dir := *cacheDir
	if dir == "" && cfg != nil {
		dir = cfg.CacheDir
	}
	if dir == "" {
		dir = filepath.Join(filepath.Dir(filepath.Clean(*out)), "cache")
	}

	log.Info("merging shards", "shards", len(complete), "out", *out)
	sum, set, err := makeRelease(ctx, e, log, releaseInput{shards: complete, cfg: cfg, out: *out, cacheDir: dir, repo: publishRepo(cfg)})
	if err != nil {
		return err
	}
	stats := set.Stats
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sum); err != nil {
		return err
	}
	if len(missing) > 0 {
		if cfg != nil && cfg.Publish != nil && !*noPublish {
			log.Warn("not publishing: shards are missing", "missing", len(missing))
		}
		return &failedItemsError{n: int64(len(missing))}
	}
	failed := stats.Failed()
	if cfg != nil && cfg.Publish != nil && !*noPublish {
		if why := overBudget(*cfg.Publish, stats); why != "" {
			return &failedItemsError{n: failed, err: fmt.Errorf("not publishing: %s; the release is in %s (rerun the shards with failed items to retry exactly those, then merge again)", why, *out)}
		}
		if failed > 0 {
			log.Warn("publishing within the failure budget", "failed_items", failed)
		}
		if err := publish(ctx, e, *out, *cfg.Publish, false, log); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	return failedItems(failed)
}

// overBudget says why a release whose build has these stats may not be
// published under the publish section's failure budget, or "" when it may.
func overBudget(p hub.Config, stats *pipeline.Stats) string {
	return build.PublishBlocked(p, stats)
}
