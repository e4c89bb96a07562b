package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"kforge/configs"
	"kforge/datasets"
	"kforge/internal/sched"
)

const slurmUsage = `usage: kforge slurm submit -c FILE --shards N [flags]

Submits a sharded build as a Slurm job array (one task per shard; kforge build
takes its shard from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT) and a merge
job that runs after every task succeeded (--dependency=afterok) and writes
OUT/release. The scripts are kept in OUT/slurm/, the job logs in OUT/slurm/logs/.
OUT and the cache must be on a filesystem every node shares.

flags:
`

// cmdSlurm is `kforge slurm`.
func cmdSlurm(ctx context.Context, e *env, args []string) int {
	switch {
	case len(args) > 0 && args[0] == "submit":
		return slurmSubmit(ctx, e, args[1:], sched.Exec)
	case len(args) > 0 && (args[0] == "-h" || args[0] == "--help"):
		return slurmSubmit(ctx, e, []string{"-h"}, sched.Exec)
	}
	fmt.Fprint(e.stderr, slurmUsage)
	return exitUsage
}

// slurmSubmit is `kforge slurm submit`; run runs sbatch.
func slurmSubmit(ctx context.Context, e *env, args []string, run sched.Runner) int {
	fs := flag.NewFlagSet("slurm submit", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, slurmUsage); fs.PrintDefaults() }
	recipe := fs.String("c", "", "recipe file (required)")
	shards := fs.Int("shards", 0, "number of shards, one array task each (default: the recipe's run.shards)")
	partition := fs.String("partition", "", "Slurm partition (default: the cluster's default)")
	gpus := fs.Int("gpus-per-task", -1, "GPUs per shard (default: 1 for the rocm and cuda backends, 0 otherwise)")
	cpus := fs.Int("cpus-per-task", 0, "CPUs per shard (0: the cluster's default)")
	limit := fs.String("time", "", "time limit per shard, Slurm syntax: MINUTES, H:MM:SS or D-HH:MM:SS (default: the partition's)")
	throttle := fs.Int("throttle", 0, "most shards running at once (0: no limit)")
	out := fs.String("out", "", "build directory on a shared filesystem (default: the recipe's out)")
	cacheDir := fs.String("cache-dir", "", "shared cache directory (default: the recipe's cache_dir, else OUT/cache)")
	kforge := fs.String("kforge", "", "kforge binary as the compute nodes see it (default: this binary)")
	name := fs.String("name", "", "job name (default: the recipe's name)")
	dryRun := fs.Bool("dry-run", false, "print both scripts and the sbatch commands; write and submit nothing")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *recipe == "" || fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "kforge slurm submit: -c FILE is needed, and no other arguments")
		fs.Usage()
		return exitUsage
	}
	// Check the recipe now: a bad one would fail every array task later.
	cfg, err := configs.Load(*recipe)
	if err != nil {
		fmt.Fprintf(e.stderr, "kforge slurm submit: %v\n", err)
		return exitUsage
	}
	if *shards == 0 {
		*shards = cfg.Run.Shards
	}
	if *shards < 1 {
		fmt.Fprintln(e.stderr, "kforge slurm submit: --shards N is needed (or run.shards in the recipe)")
		return exitUsage
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
	if *kforge == "" {
		if *kforge, err = os.Executable(); err != nil {
			fmt.Fprintf(e.stderr, "kforge slurm submit: cannot find this binary (pass --kforge): %v\n", err)
			return exitFailed
		}
	}
	if *name == "" {
		*name = jobName(cfg.Name)
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(e.stderr, "kforge slurm submit: %v\n", err)
		return exitFailed
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
	}
	if err := job.Validate(); err != nil {
		fmt.Fprintf(e.stderr, "kforge slurm submit: %v\n", err)
		return exitUsage
	}

	// A complete shard is never rebuilt: say so before queueing jobs that
	// would do nothing.
	if done, _ := filepath.Glob(filepath.Join(job.Out, job.ShardGlob(), datasets.DoneFile)); len(done) > 0 {
		fmt.Fprintf(e.stderr, "kforge slurm submit: warning: %d of %d shards in %s are already complete and will not be rebuilt; use a new --out for a new build (the shared cache keeps it cheap)\n",
			len(done), job.Shards, job.Out)
	}

	if *dryRun {
		array, _ := job.ArrayScript()
		merge, _ := job.MergeScript()
		cmds := job.SubmitCommands("<array job id>")
		fmt.Fprintf(e.stdout, "# %s\n%s\n# %s\n%s\n# submit:\n", job.ArrayScriptPath(), array, job.MergeScriptPath(), merge)
		for _, c := range cmds {
			fmt.Fprintln(e.stdout, strings.Join(c, " "))
		}
		return exitOK
	}

	s, err := sched.Submit(ctx, run, job)
	if err != nil {
		fmt.Fprintf(e.stderr, "kforge slurm submit: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(e.stdout, "array job %s: %d shards of %s, logs in %s\n", s.ArrayJob, job.Shards, job.Config, job.LogDir())
	fmt.Fprintf(e.stdout, "merge job %s: release in %s once job %s succeeded\n", s.MergeJob, job.ReleaseDir(), s.ArrayJob)
	return exitOK
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
