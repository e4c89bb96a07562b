package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"kforge/build"
	"kforge/configs"
	"kforge/datasets"
	"kforge/filters/verify"
	"kforge/pipeline"
	"kforge/sinks/hub"
	"kforge/sinks/release"
	"kforge/sources/model"
	"kforge/sources/repos"
)

// LineageFile is written into each shard directory: what the shard was built
// from (sources and commits, model and digest, toolchain, device, config), for
// the release manifest.
const LineageFile = "lineage.json"

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
	if *out != "" {
		cfg.Out = *out
	}
	if *cacheDir != "" {
		cfg.CacheDir = *cacheDir
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = filepath.Join(cfg.Out, "cache")
	}
	if *logFormat != "" {
		cfg.Log.Format = *logFormat
	}
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

// release writes the release from the (single) complete shard.
func (b *builder) release(ctx context.Context, stats *pipeline.Stats) error {
	lin, _ := readLineage(b.shardDir())
	cache, err := pipeline.OpenDirCache(b.cfg.CacheDir) // replay downloads live there
	if err != nil {
		return err
	}
	sum, err := writeRelease(ctx, b.e, b.log, release.Options{
		Cache:   cache,
		Shards:  []string{b.shardDir()},
		Out:     filepath.Join(b.cfg.Out, "release"),
		Dataset: b.cfg.Dataset,
		Lineage: lin,
		Stats:   stats,
		Log:     b.log,
		Repo:    publishRepo(b.cfg),
	})
	if errors.Is(err, release.ErrCanceled) {
		return errors.New("release: canceled; the shard is complete and any earlier release is untouched: rerun the same command to write it")
	}
	if err != nil {
		return err // release errors name themselves
	}
	b.log.Info("release written", "dir", filepath.Join(b.cfg.Out, "release"), "rows", sum.Rows)
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

// shardFiles is the shard directory of b's build.
type shardFiles struct{ b *builder }

func (s shardFiles) Path() string { return s.b.shardDir() }

func (s shardFiles) Clean() error { return removeTempFiles(s.b.shardDir()) }

func (s shardFiles) Recorded() (pipeline.Snapshot, bool, error) {
	dir := s.b.shardDir()
	var snap pipeline.Snapshot
	if _, err := os.Stat(filepath.Join(dir, datasets.DoneFile)); err != nil {
		return snap, false, nil
	}
	raw, err := os.ReadFile(filepath.Join(dir, datasets.StatsFile))
	if err != nil {
		return snap, false, fmt.Errorf("complete shard without stats: %w", err)
	}
	if err := json.Unmarshal(raw, &snap); err != nil {
		return snap, false, fmt.Errorf("%s: %w", filepath.Join(dir, datasets.StatsFile), err)
	}
	return snap, true, nil
}

func (s shardFiles) Failures() ([]datasets.Failure, error) {
	return datasets.ReadFailures(s.b.shardDir())
}

func (s shardFiles) Reopen() error {
	return os.Remove(filepath.Join(s.b.shardDir(), datasets.DoneFile))
}

func (s shardFiles) Write(data *datasets.ShardData, stats *pipeline.Stats, failures []datasets.Failure) error {
	b := s.b
	lin, err := redactLineage(b.e.redact, b.lineage(b.mined, b.gen, b.ver))
	if err != nil {
		return err
	}
	return b.writeShard(b.shardDir(), data, stats, failures, lin)
}

// writeShard writes the shard's files in canonical order, each atomically,
// and the DONE marker last: a shard with DONE is complete.
func (b *builder) writeShard(dir string, data *datasets.ShardData, stats *pipeline.Stats, failures []datasets.Failure, lineage map[string]any) error {
	data.Sort()
	files := []struct {
		name  string
		write func(*os.File) error
	}{
		{datasets.TasksFile, func(f *os.File) error { return datasets.WriteJSONL(f, data.Tasks) }},
		{datasets.VariantsFile, func(f *os.File) error { return datasets.WriteJSONL(f, data.Variants) }},
		{datasets.VerdictsFile, func(f *os.File) error { return datasets.WriteJSONL(f, data.Verdicts) }},
		{LineageFile, func(f *os.File) error { return writeJSON(f, lineage) }},
		{datasets.StatsFile, func(f *os.File) error { return writeJSON(f, stats.Snapshot()) }},
		{datasets.FailuresFile, func(f *os.File) error { datasets.SortFailures(failures); return datasets.WriteJSONL(f, failures) }},
		{datasets.DoneFile, func(f *os.File) error { _, err := f.WriteString(b.shard.String() + "\n"); return err }},
	}
	for _, f := range files {
		if err := pipeline.WriteAtomic(filepath.Join(dir, f.name), 0o644, f.write); err != nil {
			return err
		}
	}
	b.log.Info("shard written", "dir", dir, "tasks", len(data.Tasks), "variants", len(data.Variants), "verdicts", len(data.Verdicts))
	return nil
}

// lineage is what the shard was built from. Deterministic: no timestamps,
// no host names, so identical inputs give identical releases.
func (b *builder) lineage(mined *repos.Result, gen *model.Generator, ver *verify.Verifier) map[string]any {
	m := b.cfg.Model
	prompts := map[string]string{}
	for _, kind := range []string{datasets.KindCKExample, datasets.KindCKTile, datasets.KindHIPProgram} {
		if v, err := gen.PromptVersion(kind); err == nil {
			prompts[kind] = v
		}
	}
	// What this run happened to find in its caches, and how long it took, is
	// not lineage: shards and reruns of the same inputs must agree.
	sources := slices.Clone(mined.Repos)
	for i := range sources {
		sources[i].Cached, sources[i].Seconds = 0, 0
	}
	return map[string]any{
		"build":    b.cfg.Name,
		"sources":  sources,
		"skipped":  mined.Skipped,
		"model":    gen.Model(),
		"sampling": map[string]any{"samples": m.Samples, "rounds": m.Rounds, "temperature": m.Temperature, "top_p": m.TopP, "seed": m.Seed, "num_ctx": m.NumCtx, "max_tokens": m.MaxTokens},
		"prompts":  prompts,
		"verify":   map[string]any{"backend": b.cfg.Verify.Backend, "device": ver.Device(), "min_speedup": b.cfg.Verify.MinSpeedup, "max_speedup": b.cfg.Verify.MaxSpeedup, "repetitions": b.cfg.Verify.Repetitions},
		"dataset":  b.cfg.Dataset,
		"kforge":   versionString(),
	}
}

func readLineage(dir string) (map[string]any, error) {
	raw, err := os.ReadFile(filepath.Join(dir, LineageFile))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(raw, &m)
}

func writeJSON(f *os.File, v any) error {
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// publish publishes a release at the end of a build.
func publish(ctx context.Context, e *env, dir string, cfg hub.Config, dryRun bool, log *slog.Logger) error {
	_, err := hub.Publish(ctx, hub.Options{Dir: dir, Config: cfg, DryRun: dryRun, Out: e.stdout, Log: log, Getenv: e.getenv, UserAgent: "kforge/" + versionString()})
	return err
}

// removeTempFiles removes what killed runs left in a shard directory (the
// temporary files of atomic writes). A shard has one writer at a time.
func removeTempFiles(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if release.IsTempName(e.Name()) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// publishRepo is the Hub repository the recipe publishes to ("" when it does
// not publish): the card's usage examples name it.
func publishRepo(cfg *configs.Config) string {
	if cfg == nil || cfg.Publish == nil {
		return ""
	}
	return cfg.Publish.Repo
}
