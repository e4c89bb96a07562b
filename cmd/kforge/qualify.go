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
	"runtime"
	"sort"
	"strings"
	"sync"

	"kforge/datasets"
	"kforge/filters/sandbox"
	"kforge/filters/verify"
	"kforge/pipeline"
	"kforge/sources/repos"
)

// cmdQualify runs each task's unchanged reference the way verification
// will, and writes the tasks back with what it found (per size: qualified or
// dropped, with the reason). Without a GPU it is a host dry run.
func cmdQualify(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("qualify", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	tasksPath := fs.String("tasks", "", "tasks.jsonl to qualify (required)")
	out := fs.String("out", "", "where to write the qualified tasks (default: TASKS with .qualified.jsonl)")
	backend := fs.String("backend", "", "rocm, cuda, host-test or dry-run (default: the recipe's GPU backend, else the GPU found here, else dry-run)")
	arch := fs.String("arch", "", "target architecture (default: the recipe's, else gfx90a for a dry run)")
	recipe := fs.String("c", "", "recipe whose verify section to use")
	cacheDir := fs.String("cache-dir", "", "cache directory (default: the recipe's cache_dir, else $KFORGE_CACHE_DIR or ~/.cache/kforge)")
	workDir := fs.String("work-dir", "", "scratch directory (default: a new temporary directory, removed at exit)")
	logLevel := fs.String("log-level", "warn", "log level on stderr")
	jobs := fs.Int("jobs", 0, "tasks qualified at once (default: the recipe's verify.compile_workers, else one per core as memory allows: a run's memory limit plus 2 GiB each; runs on a GPU still take one GPU each)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: kforge qualify --tasks tasks.jsonl [--out qualified.jsonl] [--backend rocm|cuda|host-test|dry-run] [-c FILE] [--cache-dir DIR] [--jobs N]")
		fs.PrintDefaults()
	}
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *tasksPath == "" || fs.NArg() > 0 {
		return showUsage(fs.Usage)
	}
	cfg, err := recipeVerify(*recipe, cacheDir)
	if err != nil {
		return err
	}
	if *arch != "" {
		cfg.Archs = strings.Split(*arch, ",")
	}
	if *jobs < 0 {
		return &usageError{err: fmt.Errorf("--jobs %d: want 0 (automatic) or more", *jobs)}
	}
	if *jobs > 0 {
		cfg.CompileWorkers = *jobs
	}
	if *cacheDir == "" {
		*cacheDir = defaultCacheDir(e)
	}
	if *out == "" {
		*out = strings.TrimSuffix(*tasksPath, ".jsonl") + ".qualified.jsonl"
	}
	tasks, err := readTaskFile(*tasksPath)
	if err != nil {
		return &usageError{err: err}
	}
	cache, err := pipeline.OpenDirCache(*cacheDir)
	if err != nil {
		return err
	}
	wd := *workDir
	if wd == "" {
		d, err := os.MkdirTemp("", "kforge-qualify-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		wd = d
	}
	opt := verify.Options{Cache: cache, Log: newLogger(e.stderr, "text", *logLevel), WorkDir: wd,
		Checkout: func(ctx context.Context, src datasets.Source) (string, error) {
			return repos.Checkout(ctx, *cacheDir, src)
		}}
	v, err := qualifier(cfg, *backend, opt)
	if err != nil {
		return err
	}
	sum := qualifySummary{backend: v.Device()}
	prog := e.startProgress("qualifying tasks", int64(len(tasks)))
	defer prog.Stop()
	// Tasks are qualified as many at once as there are compile slots (a
	// task's compile is most of its time); the verifier hands out its GPUs
	// one task at a time, and the results keep the file's order.
	type result struct {
		q   *datasets.Qualification
		st  verify.QualifyStats
		err error
	}
	results := make([]result, len(tasks))
	workers := cfg.CompileWorkers
	if workers <= 0 {
		workers = defaultJobs(cfg.MemoryMB)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(tasks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				q, st, err := v.Qualify(ctx, &tasks[i])
				results[i] = result{q, st, err}
				prog.Add(1)
			}
		}()
	}
feed:
	for i := range tasks {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if ctx.Err() != nil {
		return errors.New("interrupted: finished sizes are in the cache; rerun the same command to resume")
	}
	for i, r := range results {
		if r.err != nil {
			sum.failed = append(sum.failed, fmt.Sprintf("%s: %v", tasks[i].ID, r.err))
			continue
		}
		tasks[i].Qualification = r.q
		sum.add(r.q, r.st)
	}
	if err := pipeline.WriteAtomic(*out, 0o644, func(f *os.File) error { return datasets.WriteJSONL(f, tasks) }); err != nil {
		return err
	}
	prog.Stop()
	sum.print(e.stderr, *out)
	if len(sum.failed) > 0 {
		return &failedItemsError{n: int64(len(sum.failed))}
	}
	return nil
}

// qualifier is the verifier qualification runs on: the backend named, else
// the recipe's GPU backend, else the GPU this machine has, else a dry run.
func qualifier(cfg verify.Config, backend string, opt verify.Options) (*verify.Verifier, error) {
	try := []string{backend}
	if backend == "" {
		try = nil
		if cfg.Backend == verify.BackendROCm || cfg.Backend == verify.BackendCUDA {
			try = append(try, cfg.Backend)
		}
		try = append(try, verify.BackendROCm, verify.BackendCUDA, verify.BackendDryRun)
	}
	var errs []string
	for _, b := range try {
		c := cfg
		c.Backend = b
		v, err := verify.New(c, opt)
		if err == nil {
			return v, nil
		}
		if backend != "" {
			return nil, err
		}
		errs = append(errs, err.Error())
	}
	return nil, fmt.Errorf("no backend can qualify here: %s", strings.Join(errs, "; "))
}

func readTaskFile(path string) ([]datasets.Task, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	var tasks []datasets.Task
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var t datasets.Task
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return nil, fmt.Errorf("%s:%d: not a task: %w", path, line, err)
		}
		tasks = append(tasks, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tasks, nil
}

// qualifySummary counts what qualification found.
type qualifySummary struct {
	backend                   datasets.Device
	tasks, qualified          int
	dropped                   map[string]int // task rule → count
	sizes, sizesOK, unchecked int
	sizesDropped              map[string]int // size rule → count
	cached                    int
	failed                    []string
	dryRun                    bool
}

func (s *qualifySummary) add(q *datasets.Qualification, st verify.QualifyStats) {
	if s.dropped == nil {
		s.dropped, s.sizesDropped = map[string]int{}, map[string]int{}
	}
	s.tasks++
	s.dryRun = s.dryRun || q.Backend == verify.BackendDryRun
	if q.Status == datasets.QualQualified {
		s.qualified++
	} else {
		s.dropped[q.Rule]++
	}
	for _, z := range q.Sizes {
		s.sizes++
		switch z.Status {
		case datasets.QualQualified:
			s.sizesOK++
		case datasets.QualUnchecked:
			s.unchecked++
		default:
			s.sizesDropped[z.Rule]++
		}
	}
	s.cached += st.Cached
}

func byCount(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func (s *qualifySummary) print(w io.Writer, out string) {
	d := s.backend
	fmt.Fprintf(w, "qualify: backend %s on %s (%s), toolchain %s\n", d.Name, d.Arch, out, d.Toolchain)
	fmt.Fprintf(w, "tasks: %d qualified, %d dropped", s.qualified, s.tasks-s.qualified)
	if len(s.dropped) > 0 {
		fmt.Fprintf(w, " (%s)", byCount(s.dropped))
	}
	fmt.Fprintf(w, ", %d not judged\n", len(s.failed))
	fmt.Fprintf(w, "sizes: %d qualified, %d dropped", s.sizesOK, s.sizes-s.sizesOK-s.unchecked)
	if len(s.sizesDropped) > 0 {
		fmt.Fprintf(w, " (%s)", byCount(s.sizesDropped))
	}
	fmt.Fprintf(w, ", %d unchecked; %d of %d from the cache\n", s.unchecked, s.cached, s.sizes)
	for _, f := range s.failed {
		fmt.Fprintf(w, "not judged: %s\n", f)
	}
	if s.dryRun {
		fmt.Fprintln(w, "dry run: only the host side ran (kernels never did): a qualified size is one the program accepted and on which it launched the region's kernels; correctness and timing are not judged (the programs' own result checks fail), a GPU backend re-qualifies for real")
	}
}

// defaultJobs is how many tasks qualify at once by default: one per core,
// as many as the machine's memory holds at a run's memory limit (runMB;
// 0: the sandbox's default) plus a compile's 2 GiB each, at least one.
func defaultJobs(runMB int) int {
	if runMB <= 0 {
		runMB = sandbox.DefaultMemoryMB
	}
	n := runtime.NumCPU()
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		for _, line := range strings.Split(string(b), "\n") {
			if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
				n = min(n, max(1, kb/1024/(runMB+2048)))
				break
			}
		}
	}
	return n
}
