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
	"kforge/shards"
)

// cmdExport rebuilds a release from a build directory's shards: tasks,
// variants and verdicts already on disk, so no model is called and no GPU
// runs. Change a threshold or the replay fraction and export again.
func cmdExport(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("kforge export", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	from := fs.String("from", "", "build directory holding shards/*/ (required)")
	out := fs.String("out", "", "release directory to write (required)")
	cfgPath := fs.String("c", "", "recipe whose dataset section to use (default: the one the shards were built with, else built-in defaults)")
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

	var cfg *configs.Config
	cacheDir := filepath.Join(*from, "cache")
	if *cfgPath != "" {
		c, err := configs.Load(*cfgPath)
		if err != nil {
			return &usageError{err: err}
		}
		e.redact.Add(e.getenv(c.Model.APIKeyEnv))
		cfg = c
		if *repo == "" {
			*repo = publishRepo(cfg)
		}
		if cfg.CacheDir != "" {
			cacheDir = cfg.CacheDir
		}
	}

	complete, missing, err := shards.Find([]string{*from})
	if err != nil {
		return err
	}
	if len(missing) > 0 && !*partial {
		return fmt.Errorf("%d shard(s) are not complete (no %s): %s\n(rerun them, or pass --partial)",
			len(missing), shards.DoneFile, strings.Join(missing, ", "))
	}
	if len(complete) == 0 {
		return fmt.Errorf("no complete shard under %s", filepath.Join(*from, "shards"))
	}
	sum, _, err := makeRelease(ctx, e, log, releaseInput{shards: complete, cfg: cfg, out: *out, cacheDir: cacheDir, repo: *repo})
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
