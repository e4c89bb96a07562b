package repos

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"kforge/datasets"
)

// This file is the miner conformance suite, in the manner of Go's
// testing/slogtest: testMiner holds the contract every row of the miners
// table meets, and TestMinerConformance runs it for each row over that
// row's fixtures. A row without fixtures fails, so a new miner cannot
// enter the table without running the suite.

// minerFixtures names, per miner kind, the fixture trees (testdata/repos)
// its conformance run mines; each must give at least one task.
var minerFixtures = map[string][]string{
	datasets.KindCKExample:  {"minick", "ckrules"},
	datasets.KindCKTile:     {"minitile", "minifmha"},
	datasets.KindHIPProgram: {"hipprogs", "rocmlike", "hiplibs"},
}

// plantedSecret is put in every fixture repository and in the environment;
// no task may carry it.
const plantedSecret = "hf_plantedConformanceToken0123456789"

func TestMinerConformance(t *testing.T) {
	if _, err := os.Stat(fixture("minick")); err != nil {
		t.Fatal(err)
	}
	for _, m := range miners {
		fx, ok := minerFixtures[m.Kind]
		if !ok || len(fx) == 0 {
			t.Errorf("miner %q has no conformance fixture: add it to minerFixtures", m.Kind)
			continue
		}
		for _, name := range fx {
			t.Run(m.Kind+"/"+name, func(t *testing.T) { testMiner(t, m, name) })
		}
	}
	for kind := range minerFixtures {
		if _, ok := minerFor(kind); !ok {
			t.Errorf("minerFixtures names %q, which is not in the miners table", kind)
		}
	}
}

// testMiner reports every way m breaks the miner contract on fixture fx.
func testMiner(t *testing.T, m miner, fx string) {
	t.Setenv("HF_TOKEN", plantedSecret)
	repo := makeRepo(t, map[string]string{"": fixture(fx)}, func(dir string) {
		if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("HF_TOKEN="+plantedSecret+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	cfg := Config{Repos: []RepoConfig{{URL: repo, Kind: m.Kind}}}
	cache := t.TempDir()
	res := mine(t, cfg, cache)
	if len(res.Tasks) == 0 {
		t.Fatalf("no %s task from fixture %s (skips %v)", m.Kind, fx, res.Skipped)
	}
	blobs := map[string]string{} // blob sha -> path, for the git check below
	for _, task := range res.Tasks {
		checkMinedTask(t, m, task, repo, cache)
		blobs[task.Source.Blob] = path.Join(task.Source.Subdir, task.Source.Path)
	}
	// The recorded blob is the file at the recorded commit, as git has it.
	commit := res.Repos[0].Commit
	for blob, p := range blobs {
		if got := gitRun(t, repo, "rev-parse", commit+":"+p); got != blob {
			t.Errorf("%s: blob %s recorded, git has %s at %s", p, blob, got, commit)
		}
	}
	for _, s := range res.Skips {
		if strings.TrimSpace(s.Reason) == "" || s.Kind == "" || s.Path == "" {
			t.Errorf("skip without a reason, kind or path: %+v", s)
		}
	}
	for reason := range res.Skipped {
		if strings.TrimSpace(reason) == "" {
			t.Errorf("skips counted under an empty reason")
		}
	}

	// The cache round trip gives the same result, from the cache.
	again := mine(t, cfg, cache)
	if again.Repos[0].Cached == 0 {
		t.Errorf("second mine with the same cache read nothing from it")
	}
	sameResult(t, "cache round trip", res, again)

	// Ids are content hashes: a fresh cache, one core or many, the same.
	for _, procs := range []int{1, max(4, runtime.NumCPU())} {
		prev := runtime.GOMAXPROCS(procs)
		fresh := mine(t, cfg, t.TempDir())
		runtime.GOMAXPROCS(prev)
		sameResult(t, fmt.Sprintf("GOMAXPROCS %d, fresh cache", procs), res, fresh)
	}
}

// checkMinedTask checks one task against the contract.
func checkMinedTask(t *testing.T, m miner, task datasets.Task, repo, cache string) {
	t.Helper()
	where := task.Kind + " " + task.Name
	if task.Kind != m.Kind {
		t.Errorf("%s: kind %q from the %q miner", where, task.Kind, m.Kind)
	}
	if task.ID == "" || task.ID != datasets.TaskID(&task) {
		t.Errorf("%s: id %q is not the content hash %q", where, task.ID, datasets.TaskID(&task))
	}
	if task.Name == "" || task.Op == "" {
		t.Errorf("%s: no name or op", where)
	}
	// The region is a non-empty span of one of the task's files.
	i := slices.IndexFunc(task.Files, func(f datasets.File) bool { return f.Path == task.Region.File })
	if i < 0 {
		t.Errorf("%s: region file %q is not among the task's files", where, task.Region.File)
	} else {
		c := task.Files[i].Content
		r := task.Region
		switch {
		case r.Start < 0 || r.End <= r.Start || r.End > len(c):
			t.Errorf("%s: region [%d,%d) outside its file (%d bytes)", where, r.Start, r.End, len(c))
		case c[r.Start:r.End] != r.Text:
			t.Errorf("%s: region text differs from the file's bytes at [%d,%d)", where, r.Start, r.End)
		default:
			// The file is the recorded blob, and the line span is the region's.
			if path.Base(task.Source.Path) == path.Base(r.File) && gitBlobSHA(c) != task.Source.Blob {
				t.Errorf("%s: region file content is not blob %s", where, task.Source.Blob)
			}
			first := 1 + strings.Count(c[:r.Start], "\n")
			last := 1 + strings.Count(c[:r.End-1], "\n")
			if task.Source.Lines != [2]int{first, last} {
				t.Errorf("%s: lines %v, region spans %d-%d", where, task.Source.Lines, first, last)
			}
		}
		if r.Kind == "" {
			t.Errorf("%s: region without a kind", where)
		}
	}
	if len(task.Source.Commit) != 40 || len(task.Source.Blob) != 40 || task.Source.Path == "" {
		t.Errorf("%s: source not pinned: %+v", where, task.Source)
	}
	if task.Source.License == "" || task.Source.Copyright == "" {
		t.Errorf("%s: license %q, copyright %q", where, task.Source.License, task.Source.Copyright)
	}
	pass := task.Run.Pass
	// A program that checks its result and prints nothing on success is
	// judged by its exit status alone (hip-program); that is the floor.
	if !pass.ExitZero {
		t.Errorf("%s: pass rule %+v does not require exit status zero", where, pass)
	}
	if len(task.Sizes) == 0 && len(task.SizeNotes) == 0 {
		t.Errorf("%s: no sizes and no note saying why", where)
	}
	for _, s := range task.Sizes {
		if s.Name == "" {
			t.Errorf("%s: a size without a name: %+v", where, s)
		}
	}
	if len(task.Build.Sources) == 0 {
		t.Errorf("%s: nothing to compile", where)
	}
	// No host path and no secret anywhere; Source.Repo is the URL as
	// configured (here a local path), so it is left out of the check.
	tc := task
	tc.Source.Repo = ""
	b, err := json.Marshal(tc)
	if err != nil {
		t.Fatal(err)
	}
	home, _ := os.UserHomeDir()
	for _, bad := range []string{repo, cache, os.TempDir() + "/", plantedSecret, home + "/"} {
		if bad != "/" && bad != "" && strings.Contains(string(b), bad) {
			t.Errorf("%s: the task carries %q", where, bad)
		}
	}
}

// gitBlobSHA is git's object name of a blob with content c.
func gitBlobSHA(c string) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(c))
	h.Write([]byte(c))
	return hex.EncodeToString(h.Sum(nil))
}

// sameResult: the same tasks (every field), skips and skip counts.
func sameResult(t *testing.T, what string, a, b *Result) {
	t.Helper()
	ja, _ := json.Marshal(a.Tasks)
	jb, _ := json.Marshal(b.Tasks)
	if string(ja) != string(jb) {
		t.Errorf("%s: tasks differ (%d vs %d tasks; ids %v vs %v)", what, len(a.Tasks), len(b.Tasks), taskIDs(a), taskIDs(b))
	}
	sa, _ := json.Marshal(a.Skips)
	sb, _ := json.Marshal(b.Skips)
	if string(sa) != string(sb) {
		t.Errorf("%s: skips differ:\n%s\n%s", what, sa, sb)
	}
	ka, _ := json.Marshal(a.Skipped)
	kb, _ := json.Marshal(b.Skipped)
	if string(ka) != string(kb) {
		t.Errorf("%s: skip counts differ: %s vs %s", what, ka, kb)
	}
}

func taskIDs(r *Result) []string {
	var out []string
	for _, t := range r.Tasks {
		out = append(out, t.ID)
	}
	return out
}
