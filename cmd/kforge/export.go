package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"kforge/configs"
	"kforge/datasets"
	"kforge/pipeline"
	"kforge/sinks/release"
)

// cmdExport rebuilds a release from a build directory's shards: tasks,
// variants and verdicts already on disk, so no model is called and no GPU
// runs. Change a threshold or the replay fraction and export again.
func cmdExport(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("kforge export", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	from := fs.String("from", "", "build directory holding shards/*/ (required)")
	out := fs.String("out", "", "release directory to write (required)")
	cfgPath := fs.String("c", "", "recipe whose dataset section to use (default: built-in defaults)")
	fs.StringVar(cfgPath, "config", "", "same as -c")
	repo := fs.String("repo", "", "Hub dataset id (ORG/NAME) the card's code loads (default: the recipe's publish.repo, else a placeholder)")
	partial := fs.Bool("partial", false, "export from the complete shards even when some lack their DONE marker")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	memLimit := fs.Int64("mem-limit-mb", 300, "soft Go heap limit in MB (GOMEMLIMIT overrides)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: kforge export --from DIR --out DIR [-c FILE] [--partial]\n\n"+
			"Rebuild the release (Parquet, card, manifest) from a build's shards with no model call and no GPU run.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *from == "" || *out == "" || fs.NArg() > 0 {
		return showUsage(fs.Usage)
	}
	log := newLogger(e.stderr, *logFormat, "info")
	// Export streams; a soft heap limit keeps the garbage collector from
	// letting the heap double past what is live (GOMEMLIMIT overrides).
	if e.getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(*memLimit << 20)
	}

	var ds datasets.Config
	lineage := map[string]any{}
	cacheDir := filepath.Join(*from, "cache")
	if *cfgPath != "" {
		cfg, err := configs.Load(*cfgPath)
		if err != nil {
			return &usageError{err: err}
		}
		e.redact.Add(e.getenv(cfg.Model.APIKeyEnv))
		ds = cfg.Dataset
		if *repo == "" && cfg.Publish != nil {
			*repo = cfg.Publish.Repo
		}
		lineage = map[string]any{"recipe": cfg.Name, "sources": cfg.Sources, "model": cfg.Model, "verify": cfg.Verify}
		if cfg.CacheDir != "" {
			cacheDir = cfg.CacheDir
		}
	} else if err := configs.ApplyDefaults(&ds); err != nil {
		return err
	}
	lineage["dataset"] = ds

	complete, missing, err := release.FindShards(*from)
	if err != nil {
		return err
	}
	if len(missing) > 0 && !*partial {
		return fmt.Errorf("%d shard(s) are not complete (no %s): %s\n(rerun them, or pass --partial)",
			len(missing), datasets.DoneFile, strings.Join(missing, ", "))
	}
	if len(complete) == 0 {
		return fmt.Errorf("no complete shard under %s", filepath.Join(*from, "shards"))
	}
	cache, err := pipeline.OpenDirCache(cacheDir)
	if err != nil {
		return err
	}
	sum, err := writeRelease(ctx, e, log, release.Options{
		Shards: complete, Out: *out, Dataset: ds, Lineage: lineage, Cache: cache, Stats: pipeline.NewStats(), Log: log,
		Repo: *repo,
	})
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(sum.Rows)) {
		fmt.Fprintf(e.stdout, "%-18s %d rows\n", k, sum.Rows[k])
	}
	if sum.Replay.Rows > 0 {
		fmt.Fprintf(e.stdout, "replay: %d rows, %.4f of sft/train %s (target %.4f)\n",
			sum.Replay.Rows, sum.Replay.Realised, sum.Replay.Mode, sum.Replay.Target)
	}
	fmt.Fprintf(e.stdout, "wrote %d files to %s\n", len(sum.Files), *out)
	if len(missing) > 0 {
		return &failedItemsError{n: int64(len(missing))}
	}
	return nil
}
