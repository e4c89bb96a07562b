package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"kforge/build"
	"kforge/configs"
	"kforge/datasets"
	"kforge/filters/verify"
	"kforge/pipeline"
	"kforge/shards"
	"kforge/sinks/hub"
	"kforge/sinks/release"
	"kforge/sources/model"
	"kforge/sources/repos"
)

func cmdBuild(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: kforge build -c FILE [--out DIR] [--cache-dir DIR] [--shard I/N] [--log-format text|json] [--no-pull]\n\nflags:")
		fs.PrintDefaults()
	}
	cfgPath := fs.String("c", "", "recipe `FILE` (required)")
	out := fs.String("out", "", "build `DIR` (default: the recipe's out)")
	cacheDir := fs.String("cache-dir", "", "cache `DIR` (default: the recipe's cache_dir, else <out>/cache)")
	shardFlag := fs.String("shard", "", "build only shard `I/N` (default: from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX, else 0/1)")
	logFormat := fs.String("log-format", "", "log format: text or json (default: the recipe's)")
	noPull := fs.Bool("no-pull", false, "fail instead of pulling a model the server lacks")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *cfgPath == "" || fs.NArg() > 0 {
		return showUsage(fs.Usage)
	}
	cfg, err := configs.Load(*cfgPath)
	if err != nil {
		return &configError{err}
	}
	e.redact.Add(e.getenv(cfg.Model.APIKeyEnv))
	overrideRun(cfg, *out, *cacheDir, *logFormat)
	if *noPull {
		cfg.Model.Pull = false
	}
	shard := pipeline.All
	if *shardFlag != "" {
		if shard, err = pipeline.ParseShard(*shardFlag); err != nil {
			return &usageError{err: err}
		}
	} else if s, ok, err := pipeline.ShardFromEnv(e.getenv, cfg.Run.Shards); err != nil {
		return &usageError{err: err}
	} else if ok {
		shard = s
	}
	log := newLogger(e.stderr, cfg.Log.Format, cfg.Log.Level).With("build", cfg.Name, "shard", shard.String())
	b := &builder{cfg: cfg, shard: shard, log: log, e: e}
	res, err := b.build().Run(ctx)
	if err == nil {
		return failedItems(res.Failed)
	}
	// build reports through its logger (a JSON log stays JSON).
	log.Error("build failed", "err", err)
	if np := (*build.NotPublishedError)(nil); errors.As(err, &np) {
		return &silentError{&failedItemsError{n: res.Failed, err: err}}
	}
	return &silentError{err}
}

// overrideRun applies the flags every long-running command shares (--out,
// --cache-dir, --log-format; empty keeps the recipe's) and fills in the
// cache directory's default, <out>/cache.
func overrideRun(cfg *configs.Config, out, cacheDir, logFormat string) {
	if out != "" {
		cfg.Out = out
	}
	if cacheDir != "" {
		cfg.CacheDir = cacheDir
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = filepath.Join(cfg.Out, "cache")
	}
	if logFormat != "" {
		cfg.Log.Format = logFormat
	}
}

// builder holds one build's wiring: the build package runs the loop, the
// builder gives it the verifier, the model, the mined tasks, the shard
// directory and the release.
type builder struct {
	cfg   *configs.Config
	shard pipeline.Shard
	log   *slog.Logger
	e     *env
	// Set by start, for the shard's lineage.
	mined *repos.Result
	gen   *model.Generator
	ver   *verify.Verifier
}

func (b *builder) shardDir() string {
	return filepath.Join(b.cfg.Out, "shards", b.shard.Name())
}

// build is the build of b's shard with its wiring.
func (b *builder) build() *build.Build {
	return &build.Build{
		Config:   b.cfg,
		Shard:    b.shard,
		Log:      b.log,
		Dir:      shardFiles{b},
		Start:    b.start,
		Progress: b.progress,
		Release:  b.release,
		Publish: func(ctx context.Context) error {
			return publish(ctx, b.e, filepath.Join(b.cfg.Out, "release"), *b.cfg.Publish, false, b.log)
		},
	}
}

// start is the preflight (everything that can be missing is checked before
// any work) and mining.
func (b *builder) start(ctx context.Context, stats *pipeline.Stats) (*build.Inputs, error) {
	cfg := b.cfg
	cache, err := pipeline.OpenDirCache(cfg.CacheDir)
	if err != nil {
		return nil, err
	}
	cache.Log = b.log // entries found under another key's name
	ver, err := verify.New(cfg.Verify, verify.Options{
		Cache:   cache,
		Stats:   stats,
		Log:     b.log,
		WorkDir: filepath.Join(cfg.Out, "work", b.shard.Name()),
		Checkout: func(ctx context.Context, src datasets.Source) (string, error) {
			return repos.Checkout(ctx, cfg.CacheDir, src)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("verification backend %s cannot run here: %w (run 'kforge doctor')", cfg.Verify.Backend, err)
	}
	gen, err := model.New(cfg.Model, cache, stats, b.log)
	if err != nil {
		return nil, err
	}
	if err := gen.Prepare(ctx); err != nil {
		// A signal cancels ctx, which fails the model check too: that is
		// the user stopping the build, not a server that is down.
		if ctx.Err() != nil {
			return nil, errors.New("interrupted during preflight (checking the model server): nothing was started; rerun the same command to start")
		}
		if ep := model.CheckEndpoint(ctx, cfg.Model, b.e.getenv); !ep.Reachable {
			return nil, fmt.Errorf("model server %s is %s (model %s)", ep.URL, ep.Note, cfg.Model.Model)
		}
		return nil, fmt.Errorf("model %s at %s: %w", cfg.Model.Model, cfg.Model.Provider, err)
	}

	mined, err := repos.Mine(ctx, cfg.Sources, repos.Options{CacheDir: cfg.CacheDir, Archs: cfg.Verify.Archs, Log: b.log})
	if err != nil {
		if ctx.Err() != nil {
			return nil, errors.New("interrupted while mining: mirrors fetched so far are in the cache; rerun the same command to resume")
		}
		return nil, fmt.Errorf("mining: %w", err)
	}
	b.mined, b.gen, b.ver = mined, gen, ver
	return &build.Inputs{Generator: gen, Verifier: buildVerifier{ver}, Mined: mined}, nil
}

// progress shows the rounds' progress until ctx is done: on a terminal the
// shared bar (which keeps log lines off it), else periodic log lines.
func (b *builder) progress(ctx context.Context, stats *pipeline.Stats, total int64) {
	if t, ok := b.e.term(); ok && t.tty != nil {
		prog := b.e.startProgress("tasks", total)
		defer prog.Stop()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			prog.Set(stats.Get("tasks_done"))
			prog.Describe(stats.FunnelLine())
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}
	p := &pipeline.Progress{
		Stats: stats, Out: b.e.stderr, Log: b.log,
		Total:    func() int64 { return total },
		Done:     func() int64 { return stats.Get("tasks_done") },
		Interval: b.cfg.Run.ProgressInterval,
	}
	p.Run(ctx)
}

// release writes the release from the (single) complete shard, through
// the same release path as export and merge (replay downloads live in the
// cache).
func (b *builder) release(ctx context.Context, stats *pipeline.Stats) error {
	out := filepath.Join(b.cfg.Out, "release")
	sum, _, err := makeRelease(ctx, b.e, b.log, releaseInput{shards: []string{b.shardDir()}, cfg: b.cfg,
		out: out, cacheDir: b.cfg.CacheDir, repo: publishRepo(b.cfg)})
	if errors.Is(err, release.ErrCanceled) {
		return errors.New("release: canceled; the shard is complete and any earlier release is untouched: rerun the same command to write it")
	}
	if err != nil {
		return err // release errors name themselves
	}
	b.log.Info("release written", "dir", out, "rows", sum.Rows)
	return nil
}

// buildVerifier is the verifier as the build package sees it.
type buildVerifier struct{ v *verify.Verifier }

func (bv buildVerifier) Qualify(ctx context.Context, t *datasets.Task) error {
	return qualifyForBuild(ctx, bv.v, t)
}

func (bv buildVerifier) Unbuildable(t *datasets.Task) *verify.SkipError { return bv.v.Unbuildable(t) }

func (bv buildVerifier) Prepare(ctx context.Context, t *datasets.Task, c *datasets.Variant) (build.Prepared, error) {
	p, err := bv.v.Prepare(ctx, t, c)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (bv buildVerifier) Measure(ctx context.Context, p build.Prepared) (datasets.Verdict, error) {
	return bv.v.Measure(ctx, p.(*verify.Prepared))
}

func (bv buildVerifier) GPUs() int { return bv.v.GPUs() }

// qualifyForBuild qualifies t on a measuring backend when it carries no
// qualification from that backend and toolchain (a dry run's is replaced
// by a real one), then says whether the build may use it: an error wrapping
// verify.ErrTask, with the reason, when qualification dropped it.
func qualifyForBuild(ctx context.Context, ver *verify.Verifier, t *datasets.Task) error {
	if ver.Measures() {
		q := t.Qualification
		dev := ver.Device()
		if q == nil || q.Backend != ver.Backend() || q.Toolchain != dev.Toolchain || q.Arch != dev.Arch {
			nq, _, err := ver.Qualify(ctx, t)
			if err != nil {
				return err
			}
			t.Qualification = nq
		}
	}
	return usableTask(t)
}

// usableTask says why a build may not use t: its qualification dropped it,
// or left it fewer than verify.MinQualifiedSizes sizes (all of them, for a
// task recorded with fewer). A task never
// qualified is used with all its sizes.
func usableTask(t *datasets.Task) error {
	q := t.Qualification
	if q == nil {
		return nil
	}
	if !t.Usable() {
		return fmt.Errorf("%w: task %s dropped by qualification on %s (%s): %s", verify.ErrTask, t.ID, q.Backend, q.Rule, q.Reason)
	}
	if n, need := len(t.UsableSizes()), min(verify.MinQualifiedSizes, len(t.Sizes)); n < need || n == 0 {
		return fmt.Errorf("%w: task %s has %d qualified sizes, fewer than %d", verify.ErrTask, t.ID, n, need)
	}
	return nil
}

// shardFiles is the shard directory of b's build, kept by package shards.
type shardFiles struct{ b *builder }

func (s shardFiles) Path() string { return s.b.shardDir() }

func (s shardFiles) Clean() error { return shards.RemoveTemp(s.b.shardDir()) }

func (s shardFiles) Recorded() (pipeline.Snapshot, bool, error) {
	dir := s.b.shardDir()
	if !shards.Complete(dir) {
		return pipeline.Snapshot{}, false, nil
	}
	stats, err := shards.ReadStats(dir)
	if err != nil {
		return pipeline.Snapshot{}, false, err
	}
	return stats.Snapshot(), true, nil
}

func (s shardFiles) Failures() ([]datasets.Failure, error) {
	return shards.ReadFailures(s.b.shardDir())
}

func (s shardFiles) Reopen() error { return shards.Reopen(s.b.shardDir()) }

func (s shardFiles) Write(data *datasets.ShardData, stats *pipeline.Stats, failures []datasets.Failure) error {
	b := s.b
	lin, err := redactLineage(b.e.redact, b.lineage(b.mined, b.gen, b.ver))
	if err != nil {
		return err
	}
	dir := b.shardDir()
	if err := shards.Write(dir, shards.Output{Shard: b.shard, Data: data, Stats: stats.Snapshot(), Lineage: lin, Failures: failures}); err != nil {
		return err
	}
	b.log.Info("shard written", "dir", dir, "tasks", len(data.Tasks), "variants", len(data.Variants), "verdicts", len(data.Verdicts))
	return nil
}

// lineage is what the shard was built from. Deterministic: no timestamps,
// no host names, so identical inputs give identical releases.
func (b *builder) lineage(mined *repos.Result, gen *model.Generator, ver *verify.Verifier) *shards.Lineage {
	m := b.cfg.Model
	prompts := map[string]string{}
	for _, kind := range []string{datasets.KindCKExample, datasets.KindCKTile, datasets.KindHIPProgram} {
		if v, err := gen.PromptVersion(kind); err == nil {
			prompts[kind] = v
		}
	}
	// What this run happened to find in its caches, and how long it took, is
	// not lineage: shards and reruns of the same inputs must agree.
	var sources []shards.SourceRef
	for _, r := range mined.Repos {
		sources = append(sources, shards.SourceRef{URL: r.URL, Ref: r.Ref, Commit: r.Commit, Subdir: r.Subdir, Tasks: r.Tasks,
			Kinds: r.Kinds, Files: r.Files, Programs: r.Programs, Error: r.Error})
	}
	mi := gen.Model()
	ds := b.cfg.Dataset
	return &shards.Lineage{
		Build:   b.cfg.Name,
		Sources: sources,
		Skipped: mined.Skipped,
		Model: &shards.ModelRef{Provider: mi.Provider, Host: mi.Host, Model: mi.Model, Digest: mi.Digest, Family: mi.Family,
			ParamSize: mi.ParamSize, Quantization: mi.Quantization, Parameters: mi.Parameters, Capabilities: mi.Capabilities},
		Sampling: &shards.Sampling{Samples: m.Samples, Rounds: m.Rounds, Temperature: m.Temperature, TopP: m.TopP, Seed: m.Seed,
			NumCtx: m.NumCtx, MaxTokens: m.MaxTokens},
		Prompts: prompts,
		Verify: &shards.VerifyRef{Backend: b.cfg.Verify.Backend, Device: ver.Device(), MinSpeedup: b.cfg.Verify.MinSpeedup,
			MaxSpeedup: b.cfg.Verify.MaxSpeedup, Repetitions: b.cfg.Verify.Repetitions},
		Dataset: &ds,
		Kforge:  versionString(),
	}
}

// publish publishes a release at the end of a build.
func publish(ctx context.Context, e *env, dir string, cfg hub.Config, dryRun bool, log *slog.Logger) error {
	_, err := hub.Publish(ctx, hub.Options{Dir: dir, Config: cfg, DryRun: dryRun, Out: e.stdout, Log: log, Getenv: e.getenv, UserAgent: "kforge/" + versionString()})
	return err
}

// publishRepo is the Hub repository the recipe publishes to ("" when it does
// not publish): the card's usage examples name it.
func publishRepo(cfg *configs.Config) string {
	if cfg == nil || cfg.Publish == nil {
		return ""
	}
	return cfg.Publish.Repo
}
