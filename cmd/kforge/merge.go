package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"kforge/build"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"kforge/configs"
	"kforge/datasets"
	"kforge/pipeline"
	"kforge/sinks/hub"
	"kforge/sinks/release"
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

	complete, missing, err := collectShards(fs.Args())
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
		return fmt.Errorf("no complete shard to merge")
	}

	// The release's lineage is the shards' own (what they were built from):
	// the same a one-shard build passes, so both give the same manifest.
	lineage, err := shardsLineage(complete)
	if err != nil {
		return err
	}
	dataset, err := mergeDataset(cfg, lineage)
	if err != nil {
		return err
	}
	stats := pipeline.NewStats()
	for _, d := range complete {
		if err := mergeShardStats(stats, d); err != nil {
			return err
		}
	}
	dir := *cacheDir
	if dir == "" && cfg != nil {
		dir = cfg.CacheDir
	}
	if dir == "" {
		dir = filepath.Join(filepath.Dir(filepath.Clean(*out)), "cache")
	}
	cache, err := pipeline.OpenDirCache(dir)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}

	log.Info("merging shards", "shards", len(complete), "out", *out)
	sum, err := writeRelease(ctx, e, log, release.Options{
		Shards:  complete,
		Out:     *out,
		Dataset: dataset,
		Lineage: lineage,
		Cache:   cache,
		Stats:   stats,
		Log:     log,
		Repo:    publishRepo(cfg),
	})
	if err != nil {
		return err
	}
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

// shardsLineage reads the lineage of every shard and checks that they agree:
// shards built from different commits, models or settings do not make one
// release. A build without lineage files gives nil.
func shardsLineage(dirs []string) (map[string]any, error) {
	var first map[string]any
	var firstRaw []byte
	for i, d := range dirs {
		var m map[string]any
		b, err := os.ReadFile(filepath.Join(d, LineageFile))
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("shard lineage: %w", err)
		default:
			if err := json.Unmarshal(b, &m); err != nil {
				return nil, fmt.Errorf("shard lineage %s: %w", filepath.Join(d, LineageFile), err)
			}
		}
		// encoding/json sorts map keys: equal maps encode equally.
		raw, _ := json.Marshal(m)
		if i == 0 {
			first, firstRaw = m, raw
			continue
		}
		if !bytes.Equal(raw, firstRaw) {
			return nil, fmt.Errorf("shards %s and %s were built from different inputs (lineage differs in %s): rebuild them from the same recipe and sources",
				dirs[0], d, strings.Join(lineageDiff(first, m), ", "))
		}
	}
	return first, nil
}

// lineageDiff names the top-level keys on which two lineages differ.
func lineageDiff(a, b map[string]any) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var diff []string
	for _, k := range keys {
		x, _ := json.Marshal(a[k])
		y, _ := json.Marshal(b[k])
		if !bytes.Equal(x, y) {
			diff = append(diff, k)
		}
	}
	if len(diff) == 0 {
		diff = []string{"(presence)"}
	}
	return diff
}

// mergeDataset is the dataset section the release is made with: the recipe's
// when one is given (-c), else the one the shards were built with (their
// lineage), else the defaults.
func mergeDataset(cfg *configs.Config, lineage map[string]any) (datasets.Config, error) {
	if cfg != nil {
		return cfg.Dataset, nil
	}
	var d datasets.Config
	if err := configs.ApplyDefaults(&d); err != nil {
		return d, err
	}
	if v, ok := lineage["dataset"]; ok {
		b, _ := json.Marshal(v)
		if err := json.Unmarshal(b, &d); err != nil {
			return d, fmt.Errorf("dataset section in the shards' lineage: %w", err)
		}
	}
	return d, nil
}

// mergeShardStats adds a complete shard's stats.json to stats.
func mergeShardStats(stats *pipeline.Stats, dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, datasets.StatsFile))
	if err != nil {
		return fmt.Errorf("shard stats: %w", err)
	}
	var snap pipeline.Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return fmt.Errorf("shard stats %s: %w", filepath.Join(dir, datasets.StatsFile), err)
	}
	stats.Merge(snap)
	return nil
}

// collectShards turns the arguments into complete and missing shard
// directories. A build directory (one holding shards/ and no DONE of its own)
// stands for the shard directories in it.
func collectShards(args []string) (complete, missing []string, err error) {
	var dirs []string
	for _, a := range args {
		a = filepath.Clean(a)
		fi, err := os.Stat(a)
		if err != nil {
			// A named shard directory that does not exist is a missing
			// shard, not a usage error: its job may have died early.
			if errors.Is(err, os.ErrNotExist) && shardNameRe.MatchString(filepath.Base(a)) {
				dirs = append(dirs, a)
				continue
			}
			return nil, nil, fmt.Errorf("shard directory: %w", err)
		}
		if !fi.IsDir() {
			return nil, nil, fmt.Errorf("%s is not a directory", a)
		}
		if isBuildDir(a) {
			found, err := buildShards(a)
			if err != nil {
				return nil, nil, err
			}
			dirs = append(dirs, found...)
			continue
		}
		dirs = append(dirs, a)
	}
	complete, missing, err = checkShards(dirs)
	if err != nil {
		return nil, nil, err
	}
	if dup := firstDup(complete); dup != "" {
		return nil, nil, fmt.Errorf("shard %s is given twice", dup)
	}
	// The release must not depend on the order shards were named in.
	slices.Sort(complete)
	return complete, missing, nil
}

func isBuildDir(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, datasets.DoneFile)); err == nil {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, "shards"))
	return err == nil && fi.IsDir()
}

// buildShards lists the shard directories of a build directory.
func buildShards(dir string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(dir, "shards"))
	if err != nil {
		return nil, fmt.Errorf("build directory: %w", err)
	}
	var dirs []string
	for _, e := range ents {
		if e.IsDir() && shardNameRe.MatchString(e.Name()) {
			dirs = append(dirs, filepath.Join(dir, "shards", e.Name()))
		}
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("build directory %s has no shard directories (I-of-N) under shards/", dir)
	}
	return dirs, nil
}

// shardNameRe matches shard directory names, I-of-N (pipeline.Shard.Name
// writes them zero-padded).
var shardNameRe = regexp.MustCompile(`^([0-9]+)-of-([0-9]+)$`)

// checkShards sorts shard directories into complete (DONE present) and
// missing. Directories named I-of-N must agree on N, and every index 0..N-1
// must be present: an absent index is reported missing, under the folder of
// the others. Directories with other names count by their DONE marker only.
func checkShards(dirs []string) (complete, missing []string, err error) {
	n := 0
	seen := map[int]string{}
	parent := ""
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, datasets.DoneFile)); err == nil {
			complete = append(complete, d)
		} else {
			missing = append(missing, d)
		}
		m := shardNameRe.FindStringSubmatch(filepath.Base(d))
		if m == nil {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		c, _ := strconv.Atoi(m[2])
		switch {
		case c < 1 || i >= c:
			return nil, nil, fmt.Errorf("shard %s: index %d is not below the count %d", d, i, c)
		case n != 0 && c != n:
			return nil, nil, fmt.Errorf("shards of different counts (%d and %d: %s): a task may be in both; merge one build's shards", n, c, d)
		}
		if prev, ok := seen[i]; ok {
			return nil, nil, fmt.Errorf("shard %d/%d is given twice: %s and %s", i, c, prev, d)
		}
		n, seen[i] = c, d
		if parent == "" {
			parent = filepath.Dir(d)
		}
	}
	for i := range n {
		if _, ok := seen[i]; !ok {
			missing = append(missing, filepath.Join(parent, pipeline.Shard{I: i, N: n}.Name()))
		}
	}
	slices.Sort(missing)
	return complete, missing, nil
}

func firstDup(xs []string) string {
	s := slices.Clone(xs)
	slices.Sort(s)
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			return s[i]
		}
	}
	return ""
}
