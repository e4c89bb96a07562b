package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"kforge/configs"
	"kforge/internal/sched"
	"kforge/pipeline"
	"kforge/shards"
)

const slurmUsage = `usage: kforge slurm submit -c FILE --shards N [flags]

Submits a sharded build as a Slurm job array (one task per shard, each a
kforge build --shard I/N step) and a merge job that runs once every task has
finished, whatever its exit code (--dependency=afterany), and writes
OUT/release. A shard with failed items exits 3 and is DONE: the merge still
runs, and publishes only within the recipe's publish.max_failed_items and
publish.max_failed_fraction. The merge refuses while a shard is not DONE.

Slurm sends each shard SIGUSR1 120 s before its time limit: kforge stops
cleanly (exit 143) and the task is requeued to resume from the cache (at most
3 times); --requeue covers preemption. The merge job asks for no GPU and runs
on --merge-partition (recipe slurm.merge_partition; default: the cluster's).

Rerun chosen shards with --indices 3,7 (or --indices failed: every shard
that is not DONE or finished with failed items) and the same --out: only
those run, then a new merge. The scripts are kept in OUT/slurm/, the job logs
in OUT/slurm/logs/. OUT and the cache must be on a filesystem every node shares.

flags:
`

// cmdSlurm is `kforge slurm`.
func cmdSlurm(ctx context.Context, e *env, args []string) error {
	var err error
	switch {
	case len(args) > 0 && args[0] == "submit":
		err = slurmSubmit(ctx, e, args[1:], sched.Exec)
	case isHelp(args):
		err = slurmSubmit(ctx, e, []string{"-h"}, sched.Exec)
	default:
		return showUsage(func() { fmt.Fprint(e.stderr, slurmUsage) })
	}
	if err != nil {
		return &cmdError{cmd: "slurm submit", err: err}
	}
	return nil
}

// slurmSubmit is `kforge slurm submit`; run runs sbatch.
func slurmSubmit(ctx context.Context, e *env, args []string, run sched.Runner) error {
	fs := flag.NewFlagSet("slurm submit", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), slurmUsage); fs.PrintDefaults() }
	recipe := fs.String("c", "", "recipe file (required)")
	shards := fs.Int("shards", 0, "number of shards, one array task each (default: the recipe's run.shards)")
	partition := fs.String("partition", "", "Slurm partition of the shards (default: the recipe's slurm.partition, else the cluster's default)")
	mergePartition := fs.String("merge-partition", "", "Slurm partition of the merge job, which needs no GPU (default: the recipe's slurm.merge_partition, else the cluster's default)")
	indices := fs.String("indices", "", "run only these shards, e.g. 3,7, or \"failed\" for those not DONE or with failed items (default: all)")
	gpus := fs.Int("gpus-per-task", -1, "GPUs per shard (default: 1 for the rocm and cuda backends, 0 otherwise)")
	cpus := fs.Int("cpus-per-task", 0, "CPUs per shard (0: the cluster's default)")
	limit := fs.String("time", "", "time limit per shard, Slurm syntax: MINUTES, H:MM:SS or D-HH:MM:SS (default: the partition's)")
	throttle := fs.Int("throttle", 0, "most shards running at once (0: no limit)")
	out := fs.String("out", "", "build directory on a shared filesystem (default: the recipe's out)")
	cacheDir := fs.String("cache-dir", "", "shared cache directory (default: the recipe's cache_dir, else OUT/cache)")
	kforge := fs.String("kforge", "", "kforge binary as the compute nodes see it (default: this binary)")
	name := fs.String("name", "", "job name (default: the recipe's name)")
	dryRun := fs.Bool("dry-run", false, "print both scripts and the sbatch commands; write and submit nothing")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *recipe == "" || fs.NArg() > 0 {
		return &usageError{err: errors.New("-c FILE is needed, and no other arguments"), usage: fs.Usage}
	}
	// Check the recipe now: a bad one would fail every array task later.
	cfg, err := configs.Load(*recipe)
	if err != nil {
		return &usageError{err: err}
	}
	if *shards == 0 {
		*shards = cfg.Run.Shards
	}
	if *shards < 1 {
		return usagef("--shards N is needed (or run.shards in the recipe)")
	}
	if *gpus < 0 {
		*gpus = 0
		if cfg.Verify.Backend == "rocm" || cfg.Verify.Backend == "cuda" {
			*gpus = 1
		}
	}
	if *out == "" {
		*out = cfg.Out
	}
	if *partition == "" {
		*partition = cfg.Slurm.Partition
	}
	if *mergePartition == "" {
		*mergePartition = cfg.Slurm.MergePartition
	}
	if *kforge == "" {
		if *kforge, err = os.Executable(); err != nil {
			return fmt.Errorf("cannot find this binary (pass --kforge): %w", err)
		}
	}
	if *name == "" {
		*name = jobName(cfg.Name)
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	job := sched.SlurmJob{
		Name:        *name,
		Kforge:      abs(wd, *kforge),
		Config:      abs(wd, *recipe),
		Out:         abs(wd, *out),
		CacheDir:    abs(wd, *cacheDir),
		Workdir:     wd,
		Shards:      *shards,
		Partition:   *partition,
		GPUsPerTask: *gpus,
		CPUsPerTask: *cpus,
		Time:        *limit,
		Throttle:    *throttle,

		MergePartition: *mergePartition,
	}
	switch *indices {
	case "":
	case "failed":
		job.Indices, err = unfinishedShards(job)
		if err != nil {
			return err
		}
		if len(job.Indices) == 0 {
			fmt.Fprintf(e.stderr, "kforge slurm submit: every shard of %s is DONE without failed items; nothing to rerun (run the merge: sbatch --parsable %s)\n", job.Out, job.MergeScriptPath())
			return nil
		}
		fmt.Fprintf(e.stderr, "kforge slurm submit: rerunning shards %s\n", job.ArraySpec())
	default:
		if job.Indices, err = parseIndices(*indices); err != nil {
			return usagef("--indices: %v", err)
		}
	}
	if err := job.Validate(); err != nil {
		return &usageError{err: err}
	}

	// A complete shard without failed items is not rebuilt: say so before
	// queueing jobs that would do nothing. One with failed items retries
	// exactly those.
	if clean := cleanShards(job); len(clean) > 0 {
		fmt.Fprintf(e.stderr, "kforge slurm submit: warning: %d of %d shards to run in %s are already complete and will not be rebuilt (rerun others with --indices; use a new --out for a new build: the shared cache keeps it cheap)\n",
			len(clean), job.Tasks(), job.Out)
	}

	if *dryRun {
		array, _ := job.ArrayScript()
		merge, _ := job.MergeScript()
		cmds := job.SubmitCommands("<array job id>")
		fmt.Fprintf(e.stdout, "# %s\n%s\n# %s\n%s\n# submit:\n", job.ArrayScriptPath(), array, job.MergeScriptPath(), merge)
		for _, c := range cmds {
			fmt.Fprintln(e.stdout, strings.Join(c, " "))
		}
		return nil
	}

	s, err := sched.Submit(ctx, run, job)
	if err != nil {
		return err
	}
	if len(job.Indices) == 0 {
		fmt.Fprintf(e.stdout, "array job %s: %d shards of %s, logs in %s\n", s.ArrayJob, job.Shards, job.Config, job.LogDir())
	} else {
		fmt.Fprintf(e.stdout, "array job %s: shards %s of %d of %s, logs in %s\n", s.ArrayJob, job.ArraySpec(), job.Shards, job.Config, job.LogDir())
	}
	fmt.Fprintf(e.stdout, "merge job %s: release in %s once job %s has finished\n", s.MergeJob, job.ReleaseDir(), s.ArrayJob)
	return nil
}

var jobNameBad = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// jobName makes a Slurm job name from a recipe name.
func jobName(s string) string {
	s = strings.Trim(jobNameBad.ReplaceAllString(s, "-"), "-")
	if s == "" {
		return "kforge"
	}
	return "kforge-" + s
}

// abs makes p absolute against wd; empty stays empty.
func abs(wd, p string) string {
	switch {
	case p == "":
		return ""
	case filepath.IsAbs(p):
		return filepath.Clean(p)
	}
	return filepath.Join(wd, p)
}

// parseIndices reads "3,7,10" (ranges "4-6" too).
func parseIndices(s string) ([]int, error) {
	var idx []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("%q: want shard indices like 3,7 or 4-6, or failed", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("%q: bad range %q", s, part)
			}
		}
		for i := a; i <= b; i++ {
			idx = append(idx, i)
		}
	}
	return idx, nil
}

// shardDir is the directory of shard i of the job.
func shardDir(j sched.SlurmJob, i int) string {
	return filepath.Join(j.Out, "shards", pipeline.Shard{I: i, N: j.Shards}.Name())
}

// unfinishedShards lists the shards of the job that are not DONE or are
// DONE with failed items: those a rerun has work for.
func unfinishedShards(j sched.SlurmJob) ([]int, error) {
	var idx []int
	for i := range j.Shards {
		done, failed, err := shards.State(shardDir(j, i))
		if err != nil {
			return nil, err
		}
		if !done || failed > 0 {
			idx = append(idx, i)
		}
	}
	return idx, nil
}

// cleanShards lists the shards the job would run that are DONE without
// failed items: their tasks would do nothing.
func cleanShards(j sched.SlurmJob) []int {
	var clean []int
	for _, i := range j.Run() {
		if done, failed, err := shards.State(shardDir(j, i)); done && err == nil && failed == 0 {
			clean = append(clean, i)
		}
	}
	return clean
}
