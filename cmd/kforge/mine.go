package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"kforge/configs"
	"kforge/datasets"
	"kforge/pipeline"
	"kforge/sources/repos"
)

// cmdMine mines tasks from a recipe's repositories (-c FILE) or from one
// repository named on the command line (--repo), writes them as JSON lines
// and prints a summary by kind, op and dtype, with skip reasons, on stderr.
func cmdMine(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("mine", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	cfgFile := fs.String("c", "", "recipe `FILE` whose sources section names the repositories")
	repo := fs.String("repo", "", "mine this repository: a git URL or a local `PATH`")
	ref := fs.String("ref", "HEAD", "branch, tag or commit of --repo")
	subdir := fs.String("subdir", "", "project `DIR` inside --repo (e.g. projects/composablekernel)")
	kind := fs.String("kind", "auto", "miner for --repo: ck-example, ck-tile, hip-program or auto")
	paths := fs.String("paths", "", "comma-separated paths under the project to mine (default: all)")
	archs := fs.String("archs", "", "comma-separated target archs recorded on tasks (default: the recipe's verify.archs, or gfx90a)")
	licenses := fs.String("licenses", "", "comma-separated SPDX ids allowed (default: MIT, Apache-2.0, BSD-2-Clause, BSD-3-Clause)")
	out := fs.String("out", "tasks.jsonl", "output `FILE` (- for stdout)")
	cacheDir := fs.String("cache-dir", "", "cache directory for mirrors and mined results (default: the recipe's, or the user cache dir)")
	offline := fs.Bool("offline", false, "never fetch: use the mirrors already in the cache")
	maxTasks := fs.Int("max-tasks", 0, "stop after this many tasks (0: no limit)")
	explain := fs.Bool("explain-skips", false, "list each skipped program or instance (file:alias) under its reason")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "warn", "least severe level logged")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: kforge mine -c FILE [--out tasks.jsonl]\n       kforge mine --repo PATH|URL [--ref REF] [--subdir DIR] [--kind ck-example|ck-tile|hip-program|auto] [--out tasks.jsonl]\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if (*cfgFile == "") == (*repo == "") {
		return &usageError{err: errors.New("give either -c FILE or --repo PATH|URL"), usage: fs.Usage}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var cfg repos.Config
	var archList []string
	cache := *cacheDir
	if *cfgFile != "" {
		for _, n := range []string{"ref", "subdir", "kind", "paths"} {
			if set[n] {
				return usagef("--%s goes with --repo, not -c", n)
			}
		}
		c, err := configs.Load(*cfgFile)
		if err != nil {
			return &usageError{err: err}
		}
		cfg = c.Sources
		archList = c.Verify.Archs
		if cache == "" {
			cache = c.CacheDir
			if cache == "" {
				cache = filepath.Join(c.Out, "cache")
			}
		}
	} else {
		if err := configs.ApplyDefaults(&cfg); err != nil {
			return err
		}
		if kinds := repos.Kinds(); *kind != "auto" && !slices.Contains(kinds, *kind) {
			return usagef("--kind %q is not one of %s, auto", *kind, strings.Join(kinds, ", "))
		}
		cfg.Repos = []repos.RepoConfig{{URL: *repo, Ref: *ref, Subdir: *subdir, Kind: *kind, Paths: splitList(*paths)}}
		archList = []string{"gfx90a"}
		if cache == "" {
			cache = defaultCacheDir(e)
		}
	}
	if set["archs"] {
		archList = splitList(*archs)
	}
	if set["licenses"] {
		cfg.Licenses = splitList(*licenses)
	}
	if set["offline"] {
		cfg.Offline = *offline
	}
	if set["max-tasks"] {
		cfg.MaxTasks = *maxTasks
	}
	log := newLogger(e.stderr, *logFormat, *logLevel)
	began := time.Now()
	prog := e.startProgress("mining programs", 0)
	res, err := repos.Mine(ctx, cfg, repos.Options{CacheDir: cache, Archs: archList, Log: log,
		Progress: func(done, total int64) { prog.SetTotal(total); prog.Set(done) }})
	prog.Stop()
	if err != nil {
		return err
	}
	if err := writeTasks(e.stdout, *out, res.Tasks); err != nil {
		return err
	}
	printMineSummary(e.stderr, res, time.Since(began), *out, *explain)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// defaultCacheDir is $KFORGE_CACHE_DIR, else the user cache dir's kforge folder.
func defaultCacheDir(e *env) string {
	if d := e.getenv("KFORGE_CACHE_DIR"); d != "" {
		return d
	}
	if d := e.getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kforge")
	}
	if h := e.getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "kforge")
	}
	return filepath.Join(os.TempDir(), "kforge-cache")
}

// writeTasks writes one JSON object per line, atomically when to a file.
func writeTasks(stdout io.Writer, out string, tasks []datasets.Task) error {
	write := func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for i := range tasks {
			if err := enc.Encode(&tasks[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if out == "-" {
		return write(stdout)
	}
	if err := pipeline.WriteAtomic(out, 0o644, func(f *os.File) error { return write(f) }); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}

func printMineSummary(w io.Writer, res *repos.Result, took time.Duration, out string, explain bool) {
	fmt.Fprintf(w, "mined %d tasks in %.2fs -> %s\n", len(res.Tasks), took.Seconds(), out)
	for _, r := range res.Repos {
		if r.Error != "" {
			fmt.Fprintf(w, "  repo %s: FAILED: %s\n", r.URL, r.Error)
			continue
		}
		fmt.Fprintf(w, "  repo %s @ %s%s: %d tasks, %d files, %d programs (%d cached), miners %s, %.2fs\n",
			r.URL, r.Commit, subdirNote(r.Subdir), r.Tasks, r.Files, r.Programs, r.Cached, strings.Join(r.Kinds, ","), r.Seconds)
	}
	kinds, ops, dtypes := map[string]int64{}, map[string]int64{}, map[string]int64{}
	for _, t := range res.Tasks {
		kinds[t.Kind]++
		ops[t.Op]++
		dtypes[strings.Join(t.Dtypes, "+")]++
	}
	line := func(title string, m map[string]int64) {
		if len(m) == 0 {
			return
		}
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
		fmt.Fprintf(w, "  %s:", title)
		for _, k := range keys {
			name := k
			if name == "" {
				name = "(none)"
			}
			fmt.Fprintf(w, " %s=%d", name, m[k])
		}
		fmt.Fprintln(w)
	}
	line("by kind", kinds)
	line("by op", ops)
	line("by dtype", dtypes)
	printFamilies(w, res)
	if len(res.Skipped) > 0 {
		where := map[string][]string{}
		for _, s := range res.Skips {
			at := s.Path
			if s.Alias != "" {
				at += ":" + s.Alias
			}
			where[s.Reason] = append(where[s.Reason], at)
		}
		fmt.Fprintln(w, "  skipped:")
		keys := make([]string, 0, len(res.Skipped))
		for k := range res.Skipped {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "    %6d  %s\n", res.Skipped[k], k)
			if explain {
				for _, at := range where[k] {
					fmt.Fprintf(w, "              %s\n", at)
				}
			}
		}
	}
}

// printFamilies prints, per op family, the tasks mined and what was
// skipped, by reason (the miner's prefix dropped).
func printFamilies(w io.Writer, res *repos.Result) {
	type fam struct {
		tasks   int
		skipped map[string]int
	}
	fams := map[string]*fam{}
	get := func(op string) *fam {
		if op == "" {
			op = "(none)"
		}
		f := fams[op]
		if f == nil {
			f = &fam{skipped: map[string]int{}}
			fams[op] = f
		}
		return f
	}
	for _, t := range res.Tasks {
		get(t.Op).tasks++
	}
	for _, s := range res.Skips {
		_, why, ok := strings.Cut(s.Reason, ": ")
		if !ok {
			why = s.Reason
		}
		get(s.Op).skipped[why]++
	}
	if len(fams) == 0 {
		return
	}
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "  by op family (tasks; skipped by reason):")
	for _, n := range names {
		f := fams[n]
		fmt.Fprintf(w, "    %-40s %4d", n, f.tasks)
		whys := make([]string, 0, len(f.skipped))
		for why := range f.skipped {
			whys = append(whys, why)
		}
		sort.Strings(whys)
		for i, why := range whys {
			sep := "; "
			if i > 0 {
				sep = ", "
			}
			fmt.Fprintf(w, "%s%d %s", sep, f.skipped[why], why)
		}
		fmt.Fprintln(w)
	}
}

func subdirNote(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}
