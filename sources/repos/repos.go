package repos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kforge/datasets"
	"kforge/pipeline"
)

// minerVersion is part of every cache key: bump it when a miner's output changes.
const minerVersion = "repos-v2"

// Options are what mining needs beyond the recipe.
type Options struct {
	CacheDir string       // mirrors live under <CacheDir>/git
	Archs    []string     // default target archs for tasks
	Log      *slog.Logger // never nil
	// NoCache disables the per-program cache of mined results (for benchmarks).
	NoCache bool
	// Progress, when set, is told the programs mined so far and the
	// programs found so far (the total grows as each repository is read);
	// it is called from several goroutines.
	Progress func(done, total int64)

	// counts behind Progress, across the repositories of one Mine.
	progDone, progTotal *atomic.Int64
}

// RepoInfo is what was mined from one repository, for the manifest.
type RepoInfo struct {
	URL    string `json:"url"`
	Ref    string `json:"ref"`
	Commit string `json:"commit"`
	Subdir string `json:"subdir,omitempty"`
	Tasks  int    `json:"tasks"`
	// Kinds are the miners that ran.
	Kinds []string `json:"kinds,omitempty"`
	// Files is how many files the tree holds; Programs how many were mined.
	Files    int     `json:"files"`
	Programs int     `json:"programs"`
	Cached   int     `json:"cached,omitempty"` // programs whose result came from the cache
	Seconds  float64 `json:"seconds,omitempty"`
	Error    string  `json:"error,omitempty"`
}

// Result is the outcome of mining: tasks in a deterministic order (by id),
// and what was skipped, by reason.
type Result struct {
	Tasks   []datasets.Task  `json:"-"`
	Repos   []RepoInfo       `json:"repos"`
	Skipped map[string]int64 `json:"skipped"`
	// Skips name every program or alias that was skipped, and why.
	Skips []Skip `json:"-"`
}

// Skip is one thing mining skipped: a program, or an instance in it.
type Skip struct {
	Kind   string // miner
	Op     string // op family, from the program's directory
	Path   string // program, relative to the project
	Alias  string // instance alias inside it, when the miner names one
	Reason string
}

// OpFamily names the op family of a program from its directory:
// example/09_convnd_fwd/x.cpp and example/ck_tile/01_fmha/x.cpp give
// convnd_fwd and fmha; other paths their directory's name.
func OpFamily(p string) string {
	parts := strings.Split(p, "/")
	for i := 0; i+1 < len(parts)-1; i++ {
		if parts[i] == "example" {
			if parts[i+1] == "ck_tile" && i+2 < len(parts)-1 {
				return opFromDir(parts[i+2])
			}
			return opFromDir(parts[i+1])
		}
	}
	return opFromDir(path.Dir(p))
}

func (r *Result) skip(reason string, n int64) {
	if r.Skipped == nil {
		r.Skipped = map[string]int64{}
	}
	r.Skipped[reason] += n
}

func (r *Result) skipTask(t datasets.Task, reason string) {
	r.skip(reason, 1)
	_, alias, _ := strings.Cut(t.Name, "/")
	r.Skips = append(r.Skips, Skip{Kind: t.Kind, Op: t.Op, Path: t.Source.Path, Alias: alias, Reason: reason})
}

// Mine mirrors every configured repository and mines its tasks. A
// repository that cannot be mirrored or read is recorded (RepoInfo.Error)
// and the others are still mined; the caller decides whether a partial
// result is a failure. Mine fails only when no repository could be mined.
func Mine(ctx context.Context, cfg Config, opt Options) (*Result, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.CacheDir == "" {
		return nil, errors.New("mine: no cache directory")
	}
	res := &Result{Skipped: map[string]int64{}}
	var cache pipeline.Cache
	if !opt.NoCache {
		dc, err := pipeline.OpenDirCache(filepath.Join(opt.CacheDir, "mine"))
		if err != nil {
			return nil, err
		}
		cache = dc
	}
	allowed := map[string]bool{}
	for _, l := range cfg.Licenses {
		allowed[l] = true
	}
	var errs []error
	seen := map[string]bool{}
	opt.progDone, opt.progTotal = new(atomic.Int64), new(atomic.Int64)
	for _, rc := range cfg.Repos {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		info, tasks, err := mineRepo(ctx, rc, cfg.Offline, opt, cache, res)
		if err != nil && ctx.Err() == nil && !hasCredentials(normaliseURL(rc.URL)) {
			// git failed: a damaged mirror is rebuilt and mined again.
			healed, herr := healMirror(ctx, opt.CacheDir, normaliseURL(rc.URL), cfg.Offline)
			switch {
			case herr != nil:
				err = fmt.Errorf("%w; %w", err, herr)
			case healed:
				opt.Log.Warn("mine: the mirror was damaged; re-cloned it", "repo", redact(rc.URL), "err", err)
				info, tasks, err = mineRepo(ctx, rc, cfg.Offline, opt, cache, res)
			}
		}
		if err != nil {
			info.Error = err.Error()
			opt.Log.Error("mine: repository unreadable", "repo", redact(rc.URL), "err", err)
			errs = append(errs, err)
		}
		for _, t := range tasks {
			switch {
			case t.Source.License == "":
				res.skipTask(t, t.Kind+": license unknown")
				continue
			case len(allowed) > 0 && !allowed[t.Source.License]:
				res.skipTask(t, t.Kind+": license "+t.Source.License+" not allowed")
				continue
			case seen[t.ID]:
				res.skipTask(t, t.Kind+": duplicate task")
				continue
			}
			seen[t.ID] = true
			res.Tasks = append(res.Tasks, t)
			info.Tasks++
		}
		res.Repos = append(res.Repos, info)
	}
	assignFamilies(res.Tasks)
	sort.Slice(res.Tasks, func(i, j int) bool { return res.Tasks[i].ID < res.Tasks[j].ID })
	if cfg.MaxTasks > 0 && len(res.Tasks) > cfg.MaxTasks {
		res.skip("over max_tasks", int64(len(res.Tasks)-cfg.MaxTasks))
		res.Tasks = res.Tasks[:cfg.MaxTasks]
	}
	if len(errs) == len(cfg.Repos) && len(errs) > 0 {
		return res, fmt.Errorf("no repository could be mined: %w", errors.Join(errs...))
	}
	return res, nil
}

// job is one program to mine with one miner.
type job struct {
	kind string
	path string
}

func mineRepo(ctx context.Context, rc RepoConfig, offline bool, opt Options, cache pipeline.Cache, res *Result) (RepoInfo, []datasets.Task, error) {
	began := time.Now()
	url := normaliseURL(rc.URL)
	subdir := strings.Trim(path.Clean("/"+rc.Subdir), "/")
	info := RepoInfo{URL: redact(url), Ref: rc.Ref, Subdir: subdir}
	if hasCredentials(url) {
		return info, nil, fmt.Errorf("%s: URLs with embedded credentials are refused (they would be written to the mirror's config); use a git credential helper", redact(url))
	}
	mirror, err := ensureMirrorOpt(ctx, opt.CacheDir, url, offline, subdir != "")
	if err != nil {
		return info, nil, err
	}
	commit, err := resolveRef(ctx, mirror, rc.Ref)
	if err != nil {
		return info, nil, fmt.Errorf("%s: %w", url, err)
	}
	if err := fetchSubdirBlobs(ctx, mirror, commit, subdir, offline); err != nil {
		return info, nil, fmt.Errorf("%s: %w", url, err)
	}
	info.Commit = commit
	// A local clone is recorded by its upstream URL; its mirror remembers
	// that URL so checkouts of the recorded source find it.
	repo := url
	if up := upstreamURL(ctx, url); up != "" {
		repo = up
		info.URL = up
		if _, err := git(ctx, mirror, "config", upstreamKey, up); err != nil {
			return info, nil, err
		}
	}
	es, err := listTree(ctx, mirror, commit, subdir)
	if err != nil {
		return info, nil, fmt.Errorf("%s: %w", url, err)
	}
	if len(es) == 0 {
		return info, nil, fmt.Errorf("%s at %s: no files under %q", url, commit[:12], subdir)
	}
	br, err := newBlobReader(ctx, mirror)
	if err != nil {
		return info, nil, err
	}
	defer br.Close()
	t := newTree(repo, commit, subdir, es, br)
	info.Files = len(es)
	if subdir != "" {
		root, err := listTopLevel(ctx, mirror, commit)
		if err == nil {
			for _, name := range licenseFiles {
				for _, e := range root {
					if e.Path == name && e.Mode != "120000" && e.Size < maxFileBytes {
						if b, err := br.Read(e.Blob); err == nil {
							t.rootLicense, t.rootLicenseBlob = b, e.Blob
						}
					}
				}
				if t.rootLicense != nil {
					break
				}
			}
		}
	}
	kinds := kindsFor(t, rc.Kind)
	info.Kinds = kinds
	archs := rc.Archs
	if len(archs) == 0 {
		archs = opt.Archs
	}
	var jobs []job
	for _, p := range t.paths {
		if !underPaths(p, rc.Paths) {
			continue
		}
		for _, k := range kinds {
			if m, ok := minerFor(k); ok && m.Paths(p) {
				jobs = append(jobs, job{k, p})
			}
		}
	}
	info.Programs = len(jobs)
	opt.Log.Info("mine: repository", "repo", url, "commit", commit, "subdir", subdir, "files", len(es), "kinds", kinds, "candidates", len(jobs))

	results := make([]programResult, len(jobs))
	hits := make([]bool, len(jobs))
	if opt.Progress != nil && opt.progTotal != nil {
		opt.Progress(opt.progDone.Load(), opt.progTotal.Add(int64(len(jobs))))
	}
	sh := &shared{decls: &declIndex{}}
	var wg sync.WaitGroup
	next := make(chan int)
	workers := runtime.GOMAXPROCS(0)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], hits[i] = mineCached(ctx, cache, t, jobs[i], sh, archs)
				if opt.Progress != nil && opt.progDone != nil {
					opt.Progress(opt.progDone.Add(1), opt.progTotal.Load())
				}
			}
		}()
	}
	for i := range jobs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return info, nil, err
	}
	if err := t.failure(); err != nil {
		return info, nil, fmt.Errorf("%s: reading the mirror: %w", url, err)
	}
	var tasks []datasets.Task
	for i, r := range results {
		if hits[i] {
			info.Cached++
		}
		for k, s := range r.Skips {
			res.skip(s, 1)
			sk := Skip{Kind: jobs[i].kind, Op: OpFamily(jobs[i].path), Path: jobs[i].path, Reason: s}
			if k < len(r.SkipWhere) {
				sk.Alias = r.SkipWhere[k]
			}
			res.Skips = append(res.Skips, sk)
		}
		tasks = append(tasks, r.Tasks...)
	}
	info.Seconds = time.Since(began).Seconds()
	return info, tasks, nil
}

// mineCached mines one program, or reuses the cached result when every file
// it depended on still has the same blob.
func mineCached(ctx context.Context, cache pipeline.Cache, t *tree, j job, sh *shared, archs []string) (programResult, bool) {
	m, _ := minerFor(j.kind)
	ver := minerVersion
	if m.Version != "" {
		ver += "+" + m.Version
	}
	key := pipeline.NewKey("mine", ver, j.kind, t.repo, t.subdir, j.path, t.entries[j.path].Blob, archs, t.rootLicenseBlob)
	if cache != nil {
		if b, ok, err := cache.Get(ctx, key); err == nil && ok {
			var r programResult
			if json.Unmarshal(b, &r) == nil && t.depsHold(r.Deps) {
				for i := range r.Tasks {
					r.Tasks[i].Source.Commit = t.commit // the id does not depend on it
				}
				return r, true
			}
		}
	}
	v := t.view()
	r := m.Mine(v, j.path, sh, archs)
	r.Deps = v.deps
	if cache != nil {
		if b, err := json.Marshal(r); err == nil {
			_ = cache.Put(ctx, key, b) // a failed put only costs a re-mine
		}
	}
	return r, false
}

func underPaths(p string, paths []string) bool {
	if len(paths) == 0 {
		return true
	}
	for _, q := range paths {
		q = strings.Trim(path.Clean("/"+q), "/")
		if q == "" || p == q || strings.HasPrefix(p, q+"/") {
			return true
		}
	}
	return false
}
