package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"kforge/datasets"
	"kforge/filters/verify"
)

// fixtureTask is a hip-kernels task over a dry-run fixture program
// (filters/hiprt/dryrun/testdata), its region the kernel named kernel.
func fixtureTask(t *testing.T, program, kernel string, sizes ...[]string) datasets.Task {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "filters", "hiprt", "dryrun", "testdata", program+".hip"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	start := strings.Index(src, "__global__ void "+kernel+"(")
	end := start + strings.Index(src[start:], "\n}\n") + 2
	tk := datasets.Task{
		Kind: datasets.KindHIPProgram, Name: program + "/" + kernel, Op: "fixture", Dtypes: []string{"fp32"},
		Source: datasets.Source{Repo: "kforge-fixtures", Commit: strings.Repeat("0", 40), Path: program + ".hip", License: "MIT"},
		Files:  []datasets.File{{Path: "main.hip", Content: src}},
		Region: datasets.Region{File: "main.hip", Start: start, End: end, Text: src[start:end], Kind: "hip-kernels",
			Signatures: []string{src[start : start+strings.Index(src[start:], ")")+1]}},
		Build: datasets.BuildRecipe{Sources: []string{"main.hip"}, Flags: []string{"-O1"}},
		Run:   datasets.RunRecipe{Pass: datasets.PassRule{ExitZero: true, Fail: []string{"FAIL"}, Pass: []string{"(?m)^PASS$"}}},
	}
	for _, s := range sizes {
		tk.Sizes = append(tk.Sizes, datasets.Size{Name: "s" + strings.Join(s, "_"), Args: s})
	}
	tk.ID = datasets.TaskID(&tk)
	return tk
}

// TestQualifyDryRunCLI: `kforge qualify` end to end on four tasks over the
// fixture programs (real hipcc, the dry-run runtime): the summary's figures,
// the qualification written on each task, and a rerun served from the cache.
func TestQualifyDryRunCLI(t *testing.T) {
	if _, err := exec.LookPath("hipcc"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("hipcc is required in CI")
		}
		t.Skip("hipcc not installed")
	}
	dir := t.TempDir()
	tasks := []datasets.Task{
		fixtureTask(t, "refuse16", "tile16_scale", []string{"32", "48"}, []string{"64", "64"}, []string{"30", "48"}, []string{"16", "16"}),
		fixtureTask(t, "twokernels", "add_two", []string{"100"}, []string{"1000"}, []string{"4096"}),
		fixtureTask(t, "args", "square", []string{"-n", "64"}, []string{"-n", "12x"}, []string{"-n", "128"}),
		fixtureTask(t, "archcheck", "negate", []string{"100"}, []string{"1000"}, []string{"4096"}),
	}
	in := filepath.Join(dir, "tasks.jsonl")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := datasets.WriteJSONL(f, tasks); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := filepath.Join(dir, "qualified.jsonl")
	args := []string{"qualify", "--tasks", in, "--out", out, "--backend", "dry-run", "--cache-dir", filepath.Join(dir, "cache")}
	code, _, stderr := runCLI(t, nil, append(args, "--jobs", "4")...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		"qualify: backend dry-run on gfx90a",
		"tasks: 2 qualified, 2 dropped (dead-region 1, too-few-sizes 1), 0 not judged",
		"sizes: 8 qualified, 5 dropped (dead-region 3, refused 2), 0 unchecked; 0 of 13 from the cache",
		"correctness and timing are not judged",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
	got := readJSONLTasks(t, out)
	if len(got) != 4 {
		t.Fatalf("%d tasks written", len(got))
	}
	for i, tk := range got {
		q := tk.Qualification
		if tk.ID != tasks[i].ID || q == nil || q.Backend != "dry-run" || q.Toolchain == "" || len(q.Sizes) != len(tk.Sizes) {
			t.Fatalf("task %d: %+v", i, q)
		}
	}
	if q := got[0].Qualification; q.Status != "qualified" || q.Sizes[2].Status != "dropped" || !strings.Contains(q.Sizes[2].Reason, "does not support this problem") {
		t.Errorf("refuse16: %+v", q)
	}
	if q := got[1].Qualification; q.Status != "dropped" || q.Rule != "dead-region" || len(q.Launched) != 1 || !strings.HasPrefix(q.Launched[0], "add_one(") {
		t.Errorf("twokernels: %+v", q)
	}
	if q := got[2].Qualification; q.Status != "dropped" || q.Rule != "too-few-sizes" || !strings.Contains(q.Reason, "invalid value for -n: '12x'") {
		t.Errorf("args: %+v", q)
	}
	if q := got[3].Qualification; q.Status != "qualified" {
		t.Errorf("archcheck: %+v", q)
	}
	// The first run qualified four tasks at once; a rerun one at a time
	// (all from the cache) writes the same file, in the same order.
	first, _ := os.ReadFile(out)
	code, _, stderr = runCLI(t, nil, append(args, "--jobs", "1")...)
	if code != exitOK || !strings.Contains(stderr, "13 of 13 from the cache") {
		t.Fatalf("rerun: exit %d\n%s", code, stderr)
	}
	if b1, _ := os.ReadFile(out); len(b1) == 0 || !bytes.Equal(b1, first) {
		t.Fatalf("the sequential rerun wrote another file:\n%s\nthen\n%s", first, b1)
	}
}

func readJSONLTasks(t *testing.T, path string) []datasets.Task {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []datasets.Task
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var tk datasets.Task
		if err := json.Unmarshal(sc.Bytes(), &tk); err != nil {
			t.Fatal(err)
		}
		out = append(out, tk)
	}
	return out
}

func TestQualifyUsage(t *testing.T) {
	if code, _, stderr := runCLI(t, nil, "qualify"); code != exitUsage || !strings.Contains(stderr, "usage: kforge qualify") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, nil, "qualify", "--tasks", "/nonexistent.jsonl"); code != exitUsage || !strings.Contains(stderr, "nonexistent") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// TestUsableTask: the build uses a task never qualified with all its sizes,
// a qualified task with only its qualified (or unchecked) sizes, and no
// task that qualification dropped or left with fewer than three sizes.
func TestUsableTask(t *testing.T) {
	tk := datasets.Task{ID: "t", Sizes: []datasets.Size{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}}}
	if err := usableTask(&tk); err != nil || len(tk.UsableSizes()) != 4 {
		t.Fatalf("unqualified: %v %d", err, len(tk.UsableSizes()))
	}
	tk.Qualification = &datasets.Qualification{Backend: "dry-run", Status: datasets.QualQualified, Sizes: []datasets.SizeQual{
		{Name: "a", Status: datasets.QualQualified}, {Name: "b", Status: datasets.QualDropped, Rule: "refused"},
		{Name: "c", Status: datasets.QualUnchecked}, {Name: "d", Status: datasets.QualQualified},
	}}
	if err := usableTask(&tk); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range tk.UsableSizes() {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "a,c,d" {
		t.Fatalf("usable sizes %v", names)
	}
	tk.Qualification.Sizes[3].Status = datasets.QualDropped
	if err := usableTask(&tk); !errors.Is(err, verify.ErrTask) || !strings.Contains(err.Error(), "2 qualified sizes, fewer than 3") {
		t.Fatalf("two sizes left: %v", err)
	}
	tk.Qualification.Status, tk.Qualification.Rule, tk.Qualification.Reason = datasets.QualDropped, "dead-region", "main launched add_one but never the region's add_two"
	if err := usableTask(&tk); !errors.Is(err, verify.ErrTask) || !strings.Contains(err.Error(), "dead-region") {
		t.Fatalf("dropped task: %v", err)
	}
}

// TestDefaultJobs: one task per core at most, as many as memory holds at
// the run's limit, never none.
func TestDefaultJobs(t *testing.T) {
	if n := defaultJobs(0); n < 1 || n > runtime.NumCPU() {
		t.Errorf("defaultJobs(0) = %d, want 1..%d", n, runtime.NumCPU())
	}
	if n := defaultJobs(1 << 30); n != 1 { // a 1 PiB run limit: memory holds one
		t.Errorf("defaultJobs(1 PiB) = %d, want 1", n)
	}
}
