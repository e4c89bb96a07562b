// Package build is the product loop of one shard: the resume check, the
// rounds of generation and verification (with the collector that closes a
// round and decides the next), writing the shard, and the decision whether
// to write the release and publish it.
//
// The generator and the verifier sit behind the small interfaces Generator
// and Verifier; the shard directory, the release and the publishing are
// reached through ShardDir and function values. cmd/kforge wires the real
// ones; tests drive the same loop with fakes.
package build

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"kforge/configs"
	"kforge/datasets"
	"kforge/pipeline"
	"kforge/sinks/hub"
	"kforge/sources/repos"
)

// ShardDir is the shard's directory as a build uses it.
type ShardDir interface {
	// Path names the directory in logs.
	Path() string
	// Clean removes what killed runs left there (temporary files).
	Clean() error
	// Recorded returns the stats of a complete shard (one with DONE);
	// complete is false when the shard is not complete.
	Recorded() (snap pipeline.Snapshot, complete bool, err error)
	// Failures returns the failed items the shard recorded.
	Failures() ([]datasets.Failure, error)
	// Reopen makes a complete shard incomplete (DONE goes first), so a run
	// killed while building it again leaves a shard the next run resumes.
	Reopen() error
	// Write writes the shard's files, each atomically, and DONE last.
	Write(data *datasets.ShardData, stats *pipeline.Stats, failures []datasets.Failure) error
}

// Inputs is what a build's preflight and mining give it.
type Inputs struct {
	Generator Generator
	Verifier  Verifier
	Mined     *repos.Result // every task mined (all shards') and the sources read
}

// Result is a finished build's outcome: its failed items (exit 3 when
// any, no publishing).
type Result struct {
	Failed int64
}

// NotPublishedError is a build that finished and wrote its release but did
// not publish it: its failed items are over the publish budget.
type NotPublishedError struct{ Reason string }

func (e *NotPublishedError) Error() string { return "not publishing: " + e.Reason }

// MaxFailedError is a build with more failed items than run.max_failed_items.
type MaxFailedError struct {
	Failed int64
	Max    int
}

func (e *MaxFailedError) Error() string {
	return fmt.Sprintf("%d items failed, more than run.max_failed_items=%d", e.Failed, e.Max)
}

// Build is one shard's build.
type Build struct {
	Config *configs.Config
	Shard  pipeline.Shard
	Log    *slog.Logger
	Dir    ShardDir
	// Start runs the preflight (backend, model server) and mining, counting
	// into stats; it is called only when the shard has work to do.
	Start func(ctx context.Context, stats *pipeline.Stats) (*Inputs, error)
	// Progress shows the rounds' progress until its context is done (nil:
	// none); total is the number of tasks.
	Progress func(ctx context.Context, stats *pipeline.Stats, total int64)
	// Release writes the release from the complete shard (unsharded builds).
	Release func(ctx context.Context, stats *pipeline.Stats) error
	// Publish publishes the written release (recipes with a publish section).
	Publish func(ctx context.Context) error
}

// Run builds the shard, resuming what an earlier run left: a complete shard
// without failed items goes straight to the release decision, one with
// failed items is reopened and built again (everything but them comes from
// the cache). The error is the run's failure; failed items are counted in
// the result.
func (b *Build) Run(ctx context.Context) (Result, error) {
	if err := b.Dir.Clean(); err != nil {
		return Result{}, err
	}
	snap, complete, err := b.Dir.Recorded()
	if err != nil {
		return Result{}, err
	}
	if complete {
		// Its recorded stats still decide the exit code and whether to publish.
		stats := pipeline.NewStats()
		stats.Merge(snap)
		if stats.Failed() == 0 {
			b.Log.Info("shard already complete; nothing to do", "dir", b.Dir.Path())
			return b.finish(ctx, stats)
		}
		if err := b.retryFailed(stats.Failed()); err != nil {
			return Result{}, err
		}
	}
	stats := pipeline.NewStats()
	in, err := b.Start(ctx, stats)
	if err != nil {
		return Result{}, err
	}
	tasks, failures := b.selectTasks(stats, in)
	cfg := b.Config
	arch := ""
	if len(cfg.Verify.Archs) > 0 {
		arch = cfg.Verify.Archs[0]
	}
	r := Rounds{Samples: cfg.Model.Samples, Rounds: cfg.Model.Rounds, CompileWorkers: cfg.Verify.CompileWorkers, Arch: arch}
	var progress func(context.Context)
	if b.Progress != nil {
		progress = func(ctx context.Context) { b.Progress(ctx, stats, int64(len(tasks))) }
	}
	out, err := r.Run(ctx, stats, tasks, in.Generator, in.Verifier, progress)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, errors.New("interrupted: finished work is in the cache; rerun the same command to resume")
		}
		return Result{}, err
	}
	failures = append(failures, out.Failures...)
	if err := b.Dir.Write(out.Data, stats, failures); err != nil {
		return Result{}, err
	}
	return b.finish(ctx, stats)
}

// selectTasks picks this shard's tasks that the verifier's compiler can
// build (the others are skipped with their reason) and records the sources
// mining could not read.
func (b *Build) selectTasks(stats *pipeline.Stats, in *Inputs) ([]*datasets.Task, []datasets.Failure) {
	mined := in.Mined
	var tasks []*datasets.Task
	skipped := 0
	for i := range mined.Tasks {
		if !b.Shard.Owns(mined.Tasks[i].ID) {
			continue
		}
		// A task whose recorded toolchain needs this compiler does not meet
		// is skipped with its reason before any candidate is generated.
		if skip := in.Verifier.Unbuildable(&mined.Tasks[i]); skip != nil {
			stats.Reject("skipped", skip.Reason)
			b.Log.Info("task skipped", "task", mined.Tasks[i].Name, "reason", skip.Detail)
			skipped++
			continue
		}
		tasks = append(tasks, &mined.Tasks[i])
	}
	stats.Add("mined", int64(len(tasks)+skipped))
	if skipped > 0 {
		b.Log.Warn("tasks the compiler cannot build were skipped", "count", skipped)
	}
	b.Log.Info("mined", "tasks", len(mined.Tasks), "in_shard", len(tasks), "skipped", mined.Skipped)
	return tasks, b.sourceFailures(stats, mined)
}

// sourceFailures records the repositories mining could not read: failed
// items (exit 3, no publish) unless the recipe allows a partial build, and
// named in the shard's failures either way.
func (b *Build) sourceFailures(stats *pipeline.Stats, mined *repos.Result) []datasets.Failure {
	var failures []datasets.Failure
	for _, r := range mined.Repos {
		if r.Error == "" {
			continue
		}
		f := datasets.Failure{Stage: "mine", Source: r.URL, Error: r.Error, Allowed: b.Config.Sources.AllowPartial}
		failures = append(failures, f)
		if f.Allowed {
			b.Log.Warn("source unreadable; building without it (sources.allow_partial)", "source", r.URL, "err", r.Error)
			continue
		}
		stats.Fail("mine", fmt.Errorf("source %s unreadable: %s", r.URL, r.Error))
		b.Log.Error("source unreadable: a failed item (set sources.allow_partial to build without it)", "source", r.URL, "err", r.Error)
	}
	return failures
}

// retryFailed reopens a shard that finished with failed items, so this run
// builds it again: every finished model call, compile and measurement comes
// from the cache, and only the failed items are tried again.
func (b *Build) retryFailed(failed int64) error {
	fails, err := b.Dir.Failures()
	if err != nil {
		return err
	}
	b.Log.Info("shard finished with failed items; retrying exactly those, everything else comes from the cache", "dir", b.Dir.Path(), "failed_items", failed)
	for i, f := range fails {
		if i == 20 {
			b.Log.Info("retrying failed items", "more", len(fails)-i)
			break
		}
		if f.Source != "" {
			b.Log.Info("retrying source", "source", f.Source, "err", f.Error)
		} else {
			b.Log.Info("retrying failed item", "stage", f.Stage, "task", f.TaskID, "round", f.Round, "sample", f.Sample, "err", f.Error)
		}
	}
	if err := b.Dir.Reopen(); err != nil {
		return fmt.Errorf("reopen shard: %w", err)
	}
	return nil
}

// finish builds the release when this build is the whole job (one shard) and
// publishes it when the recipe says so and the failed items allow. A sharded
// build leaves that to merge.
func (b *Build) finish(ctx context.Context, stats *pipeline.Stats) (Result, error) {
	snap := stats.Snapshot()
	for stage, m := range snap.Failures {
		for reason, n := range m {
			b.Log.Warn("failed items", "stage", stage, "reason", reason, "count", n)
		}
	}
	failed := stats.Failed()
	var unread []string
	fails, err := b.Dir.Failures()
	if err != nil {
		return Result{}, err
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
	b.Log.Info("shard done", attrs...)
	res := Result{Failed: failed}
	if m := b.Config.Run.MaxFailedItems; m >= 0 && failed > int64(m) {
		return res, &MaxFailedError{Failed: failed, Max: m}
	}
	if b.Shard.N > 1 {
		b.Log.Info("sharded build: run 'kforge merge' once every shard is done")
		return res, nil
	}
	if b.Release != nil {
		if err := b.Release(ctx, stats); err != nil {
			return res, err
		}
	}
	if b.Config.Publish != nil {
		if why := PublishBlocked(*b.Config.Publish, stats); why != "" {
			return res, &NotPublishedError{Reason: why}
		}
		if b.Publish != nil {
			if err := b.Publish(ctx); err != nil {
				return res, fmt.Errorf("publish: %w", err)
			}
		}
	}
	return res, nil
}

// PublishBlocked says why a release with these stats may not be published
// under p's budget for failed items (publish.max_failed_items and
// publish.max_failed_fraction), or "" when it may.
func PublishBlocked(p hub.Config, stats *pipeline.Stats) string {
	failed := stats.Failed()
	if failed == 0 {
		return ""
	}
	if p.MaxFailedItems >= 0 && failed > int64(p.MaxFailedItems) {
		return fmt.Sprintf("%d items failed, more than publish.max_failed_items=%d", failed, p.MaxFailedItems)
	}
	frac := float64(failed) / float64(stats.Get("generated")+failed)
	if frac > p.MaxFailedFraction {
		return fmt.Sprintf("%d items failed (%.3g of the items), more than publish.max_failed_fraction=%g", failed, frac, p.MaxFailedFraction)
	}
	return ""
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }
