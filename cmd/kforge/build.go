package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"time"

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

func cmdBuild(ctx context.Context, e *env, args []string) int {
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
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	if *cfgPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	cfg, err := configs.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitUsage
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
			fmt.Fprintln(e.stderr, "kforge build:", err)
			return exitUsage
		}
	} else if s, ok, err := pipeline.ShardFromEnv(e.getenv, cfg.Run.Shards); err != nil {
		fmt.Fprintln(e.stderr, "kforge build:", err)
		return exitUsage
	} else if ok {
		shard = s
	}
	log := newLogger(e.stderr, cfg.Log.Format, cfg.Log.Level).With("build", cfg.Name, "shard", shard.String())
	b := &builder{cfg: cfg, shard: shard, log: log, e: e}
	code, err := b.run(ctx)
	if err != nil {
		log.Error("build failed", "err", err)
	}
	return code
}

// builder holds one build's wiring.
type builder struct {
	cfg   *configs.Config
	shard pipeline.Shard
	log   *slog.Logger
	e     *env
	// failures are this run's failed items and unreadable sources, written
	// to the shard's failures.jsonl; touched by the collector only.
	failures []datasets.Failure
}

func (b *builder) shardDir() string {
	return filepath.Join(b.cfg.Out, "shards", b.shard.Name())
}

func (b *builder) run(ctx context.Context) (int, error) {
	cfg := b.cfg
	dir := b.shardDir()
	if err := shards.RemoveTemp(dir); err != nil {
		return exitFailed, err
	}
	if shards.Complete(dir) {
		// Its recorded stats still decide the exit code and whether to publish.
		stats, err := shards.ReadStats(dir)
		if err != nil {
			return exitFailed, err
		}
		if stats.Failed() == 0 {
			b.log.Info("shard already complete; nothing to do", "dir", dir)
			return b.finish(ctx, stats)
		}
		if err := b.retryFailed(dir, stats.Failed()); err != nil {
			return exitFailed, err
		}
	}
	cache, err := pipeline.OpenDirCache(cfg.CacheDir)
	if err != nil {
		return exitFailed, err
	}
	cache.Log = b.log // entries found under another key's name
	stats := pipeline.NewStats()

	// Preflight: everything that can be missing is checked before any work.
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
		return exitFailed, fmt.Errorf("verification backend %s cannot run here: %w (run 'kforge doctor')", cfg.Verify.Backend, err)
	}
	gen, err := model.New(cfg.Model, cache, stats, b.log)
	if err != nil {
		return exitFailed, err
	}
	if err := gen.Prepare(ctx); err != nil {
		// A signal cancels ctx, which fails the model check too: that is
		// the user stopping the build, not a server that is down.
		if ctx.Err() != nil {
			return exitFailed, errors.New("interrupted during preflight (checking the model server): nothing was started; rerun the same command to start")
		}
		if ep := model.CheckEndpoint(ctx, cfg.Model, b.e.getenv); !ep.Reachable {
			return exitFailed, fmt.Errorf("model server %s is %s (model %s)", ep.URL, ep.Note, cfg.Model.Model)
		}
		return exitFailed, fmt.Errorf("model %s at %s: %w", cfg.Model.Model, cfg.Model.Provider, err)
	}

	mined, err := repos.Mine(ctx, cfg.Sources, repos.Options{CacheDir: cfg.CacheDir, Archs: cfg.Verify.Archs, Log: b.log})
	if err != nil {
		if ctx.Err() != nil {
			return exitFailed, errors.New("interrupted while mining: mirrors fetched so far are in the cache; rerun the same command to resume")
		}
		return exitFailed, fmt.Errorf("mining: %w", err)
	}
	var tasks []*taskState
	skipped := 0
	for i := range mined.Tasks {
		if !b.shard.Owns(mined.Tasks[i].ID) {
			continue
		}
		// A task whose recorded toolchain needs this compiler does not meet
		// is skipped with its reason before any candidate is generated.
		if skip := ver.Unbuildable(&mined.Tasks[i]); skip != nil {
			stats.Reject("skipped", skip.Reason)
			b.log.Info("task skipped", "task", mined.Tasks[i].Name, "reason", skip.Detail)
			skipped++
			continue
		}
		tasks = append(tasks, &taskState{task: &mined.Tasks[i]})
	}
	stats.Add("mined", int64(len(tasks)+skipped))
	if skipped > 0 {
		b.log.Warn("tasks the compiler cannot build were skipped", "count", skipped)
	}
	b.log.Info("mined", "tasks", len(mined.Tasks), "in_shard", len(tasks), "skipped", mined.Skipped)
	b.sourceFailures(stats, mined)

	data, err := b.chain(ctx, stats, tasks, gen, ver)
	if err != nil {
		if ctx.Err() != nil {
			return exitFailed, errors.New("interrupted: finished work is in the cache; rerun the same command to resume")
		}
		return exitFailed, err
	}
	lin, err := redactLineage(b.e.redact, b.lineage(mined, gen, ver))
	if err != nil {
		return exitFailed, err
	}
	if err := shards.Write(dir, shards.Output{Shard: b.shard, Data: data, Stats: stats.Snapshot(), Lineage: lin, Failures: b.failures}); err != nil {
		return exitFailed, err
	}
	b.log.Info("shard written", "dir", dir, "tasks", len(data.Tasks), "variants", len(data.Variants), "verdicts", len(data.Verdicts))
	return b.finish(ctx, stats)
}

// finish builds the release when this build is the whole job (one shard) and
// publishes it when the recipe says so. A sharded build leaves that to merge.
func (b *builder) finish(ctx context.Context, stats *pipeline.Stats) (int, error) {
	snap := stats.Snapshot()
	for stage, m := range snap.Failures {
		for reason, n := range m {
			b.log.Warn("failed items", "stage", stage, "reason", reason, "count", n)
		}
	}
	failed := stats.Failed()
	var unread []string
	fails, err := shards.ReadFailures(b.shardDir())
	if err != nil {
		return exitFailed, err
	}
	for _, f := range fails {
		if f.Source != "" {
			unread = append(unread, f.Source)
		}
	}
	attrs := []any{"funnel", stats.FunnelLine(), "rejected", snap.Rejections, "failed_items", failed, "seconds", round2(snap.Seconds)}
	if len(unread) > 0 {
		attrs = append(attrs, "unreadable_sources", unread)
	}
	if failed > 0 {
		attrs = append(attrs, "retry", "rerun the same command: only the failed items are retried, everything else comes from the cache")
	}
	b.log.Info("shard done", attrs...)
	if m := b.cfg.Run.MaxFailedItems; m >= 0 && failed > int64(m) {
		return exitFailed, fmt.Errorf("%d items failed, more than run.max_failed_items=%d", failed, m)
	}
	if b.shard.N > 1 {
		b.log.Info("sharded build: run 'kforge merge' once every shard is done")
		return exitCode(failed), nil
	}
	// The same release path as export and merge (replay downloads live in
	// the cache).
	sum, _, err := makeRelease(ctx, b.e, b.log, releaseInput{shards: []string{b.shardDir()}, cfg: b.cfg,
		out: filepath.Join(b.cfg.Out, "release"), cacheDir: b.cfg.CacheDir, repo: publishRepo(b.cfg)})
	if errors.Is(err, release.ErrCanceled) {
		return exitFailed, errors.New("release: canceled; the shard is complete and any earlier release is untouched: rerun the same command to write it")
	}
	if err != nil {
		return exitFailed, err // release errors name themselves
	}
	b.log.Info("release written", "dir", filepath.Join(b.cfg.Out, "release"), "rows", sum.Rows)
	if b.cfg.Publish != nil {
		if why := overBudget(*b.cfg.Publish, stats); why != "" {
			return exitItemsBad, fmt.Errorf("not publishing: %s", why)
		}
		if err := publish(ctx, b.e, filepath.Join(b.cfg.Out, "release"), *b.cfg.Publish, false, b.log); err != nil {
			return exitFailed, fmt.Errorf("publish: %w", err)
		}
	}
	return exitCode(failed), nil
}

func exitCode(failed int64) int {
	if failed > 0 {
		return exitItemsBad
	}
	return exitOK
}

// taskState is one task's progress through its refinement rounds. It is
// touched by one stage at a time: the expand stage before a round's samples
// are sent, the collector after they come back.
type taskState struct {
	task        *datasets.Task
	round       int
	pending     int
	roundBest   *datasets.Verdict
	roundBestV  *datasets.Variant
	best        *datasets.Verdict
	bestVariant *datasets.Variant
}

// unit is one sample of one round of one task as it moves down the chain. A
// failure travels as data (err, stage) so the collector can close the round.
type unit struct {
	st       *taskState
	sample   int
	variant  datasets.Variant
	prepared *verify.Prepared
	verdict  *datasets.Verdict
	err      error
	stage    string
}

// chain is the whole pipeline of one shard:
//
//	tasks ─▶ rounds loop ─▶ expand (N samples) ─▶ generate (model.concurrency)
//	      ─▶ prepare: gate, splice, compile (cores) ─▶ measure (one per GPU)
//	      ─▶ collect (1): record, decide the next round ─┐
//	         ▲───────────────────────────────────────────┘
func (b *builder) chain(ctx context.Context, stats *pipeline.Stats, tasks []*taskState, gen *model.Generator, ver *verify.Verifier) (*datasets.ShardData, error) {
	cfg := b.cfg
	g := pipeline.NewGroup(ctx, stats)
	// Qualification comes first: on a GPU backend each task's reference runs
	// on every size before any candidate (cached), and only qualified tasks
	// with their qualified sizes go on.
	qualified := pipeline.Run(g, pipeline.Stage[*taskState, *taskState]{Name: "qualify", Workers: ver.GPUs(),
		Fn: func(ctx context.Context, st *taskState, emit func(*taskState)) error {
			if err := qualifyForBuild(ctx, ver, st.task); err != nil {
				stats.Add("tasks_done", 1)
				return err
			}
			emit(st)
			return nil
		}}, pipeline.From(g, tasks))
	loop := pipeline.NewLoop(g, qualified)

	expand := pipeline.Run(g, pipeline.Stage[*taskState, unit]{Name: "expand", Workers: 1,
		Fn: func(ctx context.Context, st *taskState, emit func(unit)) error {
			st.pending = cfg.Model.Samples
			st.roundBest, st.roundBestV = nil, nil
			for i := range cfg.Model.Samples {
				emit(unit{st: st, sample: i})
			}
			return nil
		}}, loop.Out())

	arch := ""
	if len(cfg.Verify.Archs) > 0 {
		arch = cfg.Verify.Archs[0]
	}
	generated := pipeline.Map(g, "generate", gen.Concurrency(), expand, func(ctx context.Context, u unit) (unit, error) {
		req := model.Request{Task: u.st.task, Round: u.st.round, Parent: u.st.bestVariant, Verdict: u.st.best, Arch: arch}
		if u.st.best != nil && u.st.best.Timing != nil {
			req.Baseline = u.st.best.Timing.RefMedian
		}
		v, err := gen.Generate(ctx, req, u.sample)
		if err != nil {
			u.err, u.stage = err, "generate"
		}
		u.variant = v
		return u, nil
	})

	compileWorkers := cfg.Verify.CompileWorkers
	if compileWorkers <= 0 {
		compileWorkers = runtime.NumCPU()
	}
	prepared := pipeline.Map(g, "prepare", compileWorkers, generated, func(ctx context.Context, u unit) (unit, error) {
		if u.err != nil || u.variant.Rejected != "" {
			return u, nil
		}
		p, err := ver.Prepare(ctx, u.st.task, &u.variant)
		if err != nil {
			u.err, u.stage = err, "prepare"
		}
		u.prepared = p
		return u, nil
	})

	measured := pipeline.Map(g, "measure", ver.GPUs(), prepared, func(ctx context.Context, u unit) (unit, error) {
		if u.err != nil || u.prepared == nil {
			return u, nil
		}
		v, err := ver.Measure(ctx, u.prepared)
		if err != nil {
			u.err, u.stage = err, "measure"
			return u, nil
		}
		u.verdict = &v
		return u, nil
	})

	data := &datasets.ShardData{}
	pipeline.Drain(g, measured, func(u unit) error {
		st := u.st
		if u.err != nil {
			if ctx.Err() != nil {
				return nil // interrupted: the run is being torn down
			}
			if why := verify.Skipped(u.err); why != "" {
				// The task's recorded toolchain needs exceed this compiler:
				// counted as skipped, not as a failed item.
				stats.Reject("skipped", why)
			} else {
				stats.Fail(u.stage, u.err)
				b.failures = append(b.failures, datasets.Failure{Stage: u.stage, TaskID: st.task.ID, Round: st.round, Sample: u.sample, Error: u.err.Error()})
			}
		}
		if u.variant.ID != "" { // the model source counts generated and extract rejections
			data.Variants = append(data.Variants, u.variant)
		}
		if v := u.verdict; v != nil {
			data.Verdicts = append(data.Verdicts, *v) // the verifier counts the funnel
			// Equal verdicts go to the lower sample, so the parent of the next
			// round (and so its prompts and cache keys) does not depend on the
			// order in which samples finished.
			better := st.roundBest == nil || model.Improved(st.roundBest, v) ||
				(!model.Improved(v, st.roundBest) && u.variant.Sample < st.roundBestV.Sample)
			if better {
				st.roundBest, st.roundBestV = v, &u.variant
			}
		}
		st.pending--
		if st.pending > 0 {
			return nil
		}
		// The round is complete: go on only while it improves on the best.
		improved := st.roundBest != nil && model.Improved(st.best, st.roundBest)
		if improved {
			st.best, st.bestVariant = st.roundBest, st.roundBestV
		}
		if improved && st.round+1 < cfg.Model.Rounds {
			st.round++
			loop.Again(st)
			return nil
		}
		stats.Add("tasks_done", 1)
		loop.Done()
		return nil
	})

	progress := &pipeline.Progress{
		Stats: stats, Out: b.e.stderr, Log: b.log,
		Total:    func() int64 { return int64(len(tasks)) },
		Done:     func() int64 { return stats.Get("tasks_done") },
		Interval: cfg.Run.ProgressInterval,
	}
	pctx, stopProgress := context.WithCancel(ctx)
	progressDone := make(chan struct{})
	if t, ok := b.e.term(); ok && t.tty != nil {
		// On a terminal: the shared bar, which keeps log lines off it.
		go func() {
			defer close(progressDone)
			prog := b.e.startProgress("tasks", int64(len(tasks)))
			defer prog.Stop()
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for {
				prog.Set(stats.Get("tasks_done"))
				prog.Describe(stats.FunnelLine())
				select {
				case <-pctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	} else {
		go func() { progress.Run(pctx); close(progressDone) }()
	}
	err := g.Wait()
	stopProgress()
	<-progressDone
	if err != nil {
		return nil, err
	}
	// Tasks are written with their qualification.
	for _, st := range tasks {
		data.Tasks = append(data.Tasks, *st.task)
	}
	return data, nil
}

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

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

// publish publishes a release at the end of a build.
func publish(ctx context.Context, e *env, dir string, cfg hub.Config, dryRun bool, log *slog.Logger) error {
	_, err := hub.Publish(ctx, hub.Options{Dir: dir, Config: cfg, DryRun: dryRun, Out: e.stdout, Log: log, Getenv: e.getenv, UserAgent: "kforge/" + versionString()})
	return err
}

// sourceFailures records the repositories mining could not read: failed
// items (exit 3, no publish) unless the recipe allows a partial build, and
// named in the shard's failures either way.
func (b *builder) sourceFailures(stats *pipeline.Stats, mined *repos.Result) {
	for _, r := range mined.Repos {
		if r.Error == "" {
			continue
		}
		f := datasets.Failure{Stage: "mine", Source: r.URL, Error: r.Error, Allowed: b.cfg.Sources.AllowPartial}
		b.failures = append(b.failures, f)
		if f.Allowed {
			b.log.Warn("source unreadable; building without it (sources.allow_partial)", "source", r.URL, "err", r.Error)
			continue
		}
		stats.Fail("mine", fmt.Errorf("source %s unreadable: %s", r.URL, r.Error))
		b.log.Error("source unreadable: a failed item (set sources.allow_partial to build without it)", "source", r.URL, "err", r.Error)
	}
}

// retryFailed reopens a shard that finished with failed items, so this run
// builds it again: every finished model call, compile and measurement comes
// from the cache, and only the failed items are tried again.
func (b *builder) retryFailed(dir string, failed int64) error {
	fails, err := shards.ReadFailures(dir)
	if err != nil {
		return err
	}
	b.log.Info("shard finished with failed items; retrying exactly those, everything else comes from the cache", "dir", dir, "failed_items", failed)
	for i, f := range fails {
		if i == 20 {
			b.log.Info("retrying failed items", "more", len(fails)-i)
			break
		}
		if f.Source != "" {
			b.log.Info("retrying source", "source", f.Source, "err", f.Error)
		} else {
			b.log.Info("retrying failed item", "stage", f.Stage, "task", f.TaskID, "round", f.Round, "sample", f.Sample, "err", f.Error)
		}
	}
	return shards.Reopen(dir)
}

// publishRepo is the Hub repository the recipe publishes to ("" when it does
// not publish): the card's usage examples name it.
func publishRepo(cfg *configs.Config) string {
	if cfg == nil || cfg.Publish == nil {
		return ""
	}
	return cfg.Publish.Repo
}
