package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"kforge/configs"
	"kforge/datasets"
	"kforge/filters/verify"
	"kforge/pipeline"
	"kforge/sources/repos"
)

// cmdVerify judges one candidate for one task and prints the verdict as JSON
// on stdout. It exits 0 whenever a verdict was reached, whatever it says.
func cmdVerify(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	tasksPath := fs.String("tasks", "", "tasks.jsonl holding the task, or - to read task JSON on stdin (an rl row's task_spec) (required)")
	taskID := fs.String("task", "", "id of the task (optional when the file holds one task)")
	candPath := fs.String("candidate", "", "file with the candidate region, or the whole region file; - reads stdin (required)")
	backend := fs.String("backend", "", "rocm, cuda or compile-only (default: the recipe's, else compile-only)")
	arch := fs.String("arch", "", "target architectures, comma-separated (gfx90a, sm_90; default: the recipe's or detected)")
	recipe := fs.String("c", "", "recipe whose verify section to use")
	workDir := fs.String("work-dir", "", "scratch directory (default: a new temporary directory, removed at exit)")
	cacheDir := fs.String("cache-dir", "", "cache directory shared with builds (default: the recipe's cache_dir, else none)")
	logLevel := fs.String("log-level", "warn", "log level on stderr")
	runTimeout := fs.Duration("run-timeout", 0, "wall-clock limit of one program run (default: the recipe's)")
	reps := fs.Int("repetitions", 0, "timed runs of reference and candidate each (default: the recipe's)")
	profiler := fs.String("profiler", "", "auto, rocprofv3, ncu or program (default: the recipe's)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: kforge verify --tasks tasks.jsonl --task ID --candidate FILE [--backend B] [--arch A] [-c FILE]")
		fs.PrintDefaults()
	}
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *tasksPath == "" || *candPath == "" || fs.NArg() > 0 {
		return showUsage(fs.Usage)
	}
	if *tasksPath == "-" && *candPath == "-" {
		return usagef("--tasks - and --candidate - both read stdin: give the candidate as a file")
	}
	cache := pipeline.Cache(nil)
	cfg, err := recipeVerify(*recipe, cacheDir)
	if err != nil {
		return err
	}
	if *backend != "" {
		cfg.Backend = *backend
	}
	if *arch != "" {
		cfg.Archs = strings.Split(*arch, ",")
	}
	if *runTimeout > 0 {
		cfg.RunTimeout = *runTimeout
	}
	if *reps > 0 {
		cfg.Repetitions = *reps
	}
	if *profiler != "" {
		cfg.Profiler = *profiler
	}
	if *cacheDir != "" {
		c, err := pipeline.OpenDirCache(*cacheDir)
		if err != nil {
			return err
		}
		cache = c
	}
	task, err := findTask(*tasksPath, *taskID)
	if err != nil {
		return &usageError{err: err}
	}
	cand, err := readCandidate(*candPath)
	if err != nil {
		return &usageError{err: err}
	}
	wd := *workDir
	if wd == "" {
		d, err := os.MkdirTemp("", "kforge-verify-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		wd = d
	}
	// Tasks whose build reads the repository (include dirs, shared sources)
	// need its checkout at the task's commit, from the mirror `kforge mine`
	// or `kforge build` left in the cache.
	checkoutCache := *cacheDir
	if checkoutCache == "" {
		checkoutCache = defaultCacheDir(e)
	}
	checkout := func(ctx context.Context, src datasets.Source) (string, error) {
		return repos.Checkout(ctx, checkoutCache, src)
	}
	v, err := verify.New(cfg, verify.Options{Cache: cache, Log: newLogger(e.stderr, "text", *logLevel), WorkDir: wd, Checkout: checkout})
	if err != nil {
		return err
	}
	variant := &datasets.Variant{TaskID: task.ID, Provider: "cli", Model: "cli", PromptVersion: "cli", Region: cand}
	variant.ID = datasets.VariantID(variant)
	vd, err := v.Verify(ctx, task, variant)
	if err != nil {
		return fmt.Errorf("no verdict: %w", err)
	}
	b, err := json.MarshalIndent(vd, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s\n", b)
	return nil
}

// stdin is what "-" reads (tests replace it).
var stdin io.Reader = os.Stdin

// findTask reads tasks.jsonl and returns the task with id (or the only task).
// path "-" reads stdin: one task JSON (an rl row's task_spec, compact or
// indented) or several.
func findTask(path, id string) (*datasets.Task, error) {
	if path == "-" {
		return stdinTask(id)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	var found *datasets.Task
	n := 0
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var t datasets.Task
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return nil, fmt.Errorf("%s:%d: not a task: %w", path, line, err)
		}
		n++
		if t.ID == id || (id == "" && n == 1) {
			found = &t
			if id != "" {
				return found, nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case id == "" && n == 1:
		return found, nil
	case id == "":
		return nil, fmt.Errorf("%s holds %d tasks: name one with --task", path, n)
	}
	return nil, fmt.Errorf("task %q is not in %s", id, filepath.Base(path))
}

// stdinTask reads task JSON values from stdin and returns the one with id,
// or the only one.
func stdinTask(id string) (*datasets.Task, error) {
	dec := json.NewDecoder(bufio.NewReader(io.LimitReader(stdin, 256<<20)))
	var tasks []datasets.Task
	for {
		var t datasets.Task
		err := dec.Decode(&t)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("stdin: task %d is not task JSON: %w", len(tasks)+1, err)
		}
		if t.ID == "" {
			return nil, fmt.Errorf("stdin: task %d has no id: not a task spec", len(tasks)+1)
		}
		if id != "" && t.ID == id {
			return &t, nil
		}
		tasks = append(tasks, t)
	}
	switch {
	case len(tasks) == 0:
		return nil, errors.New("stdin holds no task")
	case id == "" && len(tasks) == 1:
		return &tasks[0], nil
	case id == "":
		return nil, fmt.Errorf("stdin holds %d tasks: name one with --task", len(tasks))
	}
	return nil, fmt.Errorf("task %q is not on stdin", id)
}

func readCandidate(path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, 64<<20))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("candidate: %w", err)
	}
	return string(b), nil
}

// recipeVerify is the verify section of the recipe at path, its cache_dir
// filling cacheDir when that is empty; without a recipe, the defaults. The
// code is the exit code for its error (a bad recipe is bad usage).
func recipeVerify(path string, cacheDir *string) (verify.Config, error) {
	cfg := verify.Config{}
	if path == "" {
		err := configs.ApplyDefaults(&cfg)
		return cfg, err
	}
	rc, err := configs.Load(path)
	if err != nil {
		return cfg, &usageError{err: err}
	}
	if *cacheDir == "" {
		*cacheDir = rc.CacheDir
	}
	return rc.Verify, nil
}
