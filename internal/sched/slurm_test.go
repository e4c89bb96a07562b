package sched

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden scripts in testdata/")

// golden compares got with testdata/name; -update rewrites it.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func fullJob() SlurmJob {
	return SlurmJob{
		Name:        "nightly",
		Kforge:      "/opt/kforge/bin/kforge",
		Config:      "/home/ci/recipes/nightly.yaml",
		Out:         "/scratch/kforge/nightly",
		CacheDir:    "/scratch/kforge/cache",
		Workdir:     "/home/ci",
		Shards:      16,
		Partition:   "mi300x",
		GPUsPerTask: 1,
		CPUsPerTask: 8,
		Time:        "4:00:00",
		Throttle:    4,
	}
}

// awkwardJob has paths a careless script would break: spaces, quotes, a
// dollar sign, a '%' (a Slurm filename pattern) and shell metacharacters.
func awkwardJob() SlurmJob {
	return SlurmJob{
		Kforge:  "/tmp/my tools/kforge",
		Config:  "/tmp/it's a recipe; rm -rf ~.yaml",
		Out:     "/tmp/out dir/100%/$HOME",
		Workdir: "/tmp/work dir",
		Shards:  1,
	}
}

func TestScriptsExact(t *testing.T) {
	for _, tc := range []struct {
		name string
		job  SlurmJob
	}{
		{"full", fullJob()},
		{"minimal", SlurmJob{Kforge: "/usr/bin/kforge", Config: "/r/quick.yaml", Out: "/r/out", Workdir: "/r", Shards: 4}},
		{"awkward", awkwardJob()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := tc.job.ArrayScript()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".array.sbatch", a)
			m, err := tc.job.MergeScript()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".merge.sbatch", m)
		})
	}
}

func TestShellQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/usr/bin/kforge", "/usr/bin/kforge"},
		{"", "''"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"$HOME", "'$HOME'"},
		{"a;b", "'a;b'"},
		{"`x`", "'`x`'"},
		{"*", "'*'"},
	} {
		if got := shellQuote(tc.in); got != tc.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*SlurmJob)
		want string // substring of the error; empty: valid
	}{
		{"ok", func(*SlurmJob) {}, ""},
		{"no shards", func(j *SlurmJob) { j.Shards = 0 }, "shards must be at least 1"},
		{"relative recipe", func(j *SlurmJob) { j.Config = "configs/nightly.yaml" }, "want an absolute path"},
		{"empty binary", func(j *SlurmJob) { j.Kforge = "" }, "kforge binary: path is empty"},
		{"relative cache", func(j *SlurmJob) { j.CacheDir = "cache" }, "cache directory"},
		{"quote in out", func(j *SlurmJob) { j.Out = `/tmp/a"b` }, "double quotes"},
		{"newline in recipe", func(j *SlurmJob) { j.Config = "/tmp/a\nb" }, "line break"},
		{"bad time", func(j *SlurmJob) { j.Time = "4 hours" }, "Slurm syntax"},
		{"days time", func(j *SlurmJob) { j.Time = "1-00:00:00" }, ""},
		{"bad partition", func(j *SlurmJob) { j.Partition = "gpu --mem=0" }, "partition"},
		{"negative gpus", func(j *SlurmJob) { j.GPUsPerTask = -1 }, "negative"},
		{"indices", func(j *SlurmJob) { j.Indices = []int{3, 7} }, ""},
		{"index too big", func(j *SlurmJob) { j.Indices = []int{16} }, "shard index 16: want 0 to 15"},
		{"negative index", func(j *SlurmJob) { j.Indices = []int{-1} }, "shard index -1"},
		{"index twice", func(j *SlurmJob) { j.Indices = []int{3, 3} }, "given twice"},
		{"bad merge partition", func(j *SlurmJob) { j.MergePartition = "cpu x" }, "merge partition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := fullJob()
			tc.edit(&j)
			err := j.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if _, serr := j.ArrayScript(); (serr == nil) != (err == nil) {
				t.Fatalf("ArrayScript error %v disagrees with Validate %v", serr, err)
			}
		})
	}
}

// The scripts of a resubmission name only the chosen shards, as I/N of the
// whole build; the merge runs where it is told, never on the shards' GPU
// partition, and after the array whatever its exit codes.
func TestIndicesAndMergePartition(t *testing.T) {
	j := fullJob()
	j.Indices = []int{7, 3}
	j.MergePartition = "cpu"
	a, err := j.ArrayScript()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#SBATCH --array=3,7%4\n", `shard="$SLURM_ARRAY_TASK_ID/16"`, `--shard "$shard"`, "srun ", "#SBATCH --requeue\n", "#SBATCH --signal=B:USR1@120\n"} {
		if !strings.Contains(a, want) {
			t.Errorf("array script lacks %q:\n%s", want, a)
		}
	}
	m, err := j.MergeScript()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m, "#SBATCH --partition=cpu\n") || strings.Contains(m, "mi300x") || strings.Contains(m, "gpu") {
		t.Errorf("merge script does not run on the merge partition only:\n%s", m)
	}
	if c := j.SubmitCommands("9"); c[1][2] != "--dependency=afterany:9" {
		t.Errorf("merge dependency %q, want afterany", c[1][2])
	}
}

func TestShardGlob(t *testing.T) {
	j := SlurmJob{Shards: 16}
	if got, want := j.ShardGlob(), "shards/*-of-00016"; got != want {
		t.Fatalf("ShardGlob = %q, want %q", got, want)
	}
}

// fakeSbatch records calls and answers with the given outputs in turn.
type fakeSbatch struct {
	calls [][]string
	outs  []string
	errs  []error
}

func (f *fakeSbatch) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	i := len(f.calls)
	f.calls = append(f.calls, append([]string{name}, args...))
	if i >= len(f.outs) {
		return nil, errors.New("unexpected call")
	}
	var err error
	if i < len(f.errs) {
		err = f.errs[i]
	}
	return []byte(f.outs[i]), err
}

func TestSubmit(t *testing.T) {
	j := fullJob()
	j.Out = filepath.Join(t.TempDir(), "build")
	f := &fakeSbatch{outs: []string{"4242;cluster\n", "4243\n"}}
	s, err := Submit(context.Background(), f.run, j)
	if err != nil {
		t.Fatal(err)
	}
	if s.ArrayJob != "4242" || s.MergeJob != "4243" {
		t.Fatalf("job ids %q, %q; want 4242, 4243", s.ArrayJob, s.MergeJob)
	}
	want := [][]string{
		{"sbatch", "--parsable", filepath.Join(j.Out, "slurm", "build.sbatch")},
		{"sbatch", "--parsable", "--dependency=afterany:4242", filepath.Join(j.Out, "slurm", "merge.sbatch")},
	}
	if !slices.EqualFunc(f.calls, want, slices.Equal) {
		t.Fatalf("calls %q, want %q", f.calls, want)
	}
	for path, render := range map[string]func() (string, error){s.ArrayScript: j.ArrayScript, s.MergeScript: j.MergeScript} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := render()
		if string(b) != w {
			t.Errorf("%s does not hold the rendered script", path)
		}
	}
	if fi, err := os.Stat(j.LogDir()); err != nil || !fi.IsDir() {
		t.Fatalf("log directory not made: %v", err)
	}
}

func TestSubmitFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		outs      []string
		errs      []error
		wantCalls int
		wantArray string
		want      string
	}{
		{"array refused", []string{""}, []error{errors.New("sbatch: error: invalid partition")}, 1, "", "invalid partition"},
		{"garbage id", []string{"Submitted batch job 7\n"}, nil, 1, "", "not a job id"},
		{"merge refused", []string{"7", ""}, []error{nil, errors.New("boom")}, 2, "7", "array job 7 is queued"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := fullJob()
			j.Out = t.TempDir()
			f := &fakeSbatch{outs: tc.outs, errs: tc.errs}
			s, err := Submit(context.Background(), f.run, j)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if len(f.calls) != tc.wantCalls {
				t.Fatalf("%d sbatch calls, want %d", len(f.calls), tc.wantCalls)
			}
			if tc.wantArray != "" && (s == nil || s.ArrayJob != tc.wantArray) {
				t.Fatalf("submitted %+v, want array job %s reported", s, tc.wantArray)
			}
		})
	}
	// An invalid job runs nothing.
	f := &fakeSbatch{}
	if _, err := Submit(context.Background(), f.run, SlurmJob{}); err == nil || len(f.calls) != 0 {
		t.Fatalf("invalid job: err %v, %d calls", err, len(f.calls))
	}
}

func TestStates(t *testing.T) {
	out, err := os.ReadFile(filepath.Join("testdata", "scontrol-array.txt"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(ctx context.Context, name string, args ...string) ([]byte, error) {
		if name != "scontrol" || !slices.Equal(args, []string{"show", "job", "--oneliner", "12"}) {
			return nil, errors.New("unexpected command")
		}
		return out, nil
	}
	got, err := States(context.Background(), run, "12")
	if err != nil {
		t.Fatal(err)
	}
	want := []JobState{
		{ID: "12", Array: "1", State: "COMPLETED", Reason: "None", Exit: "0:0"},
		{ID: "13", Array: "0", State: "FAILED", Reason: "NonZeroExitCode", Exit: "1:0"},
		{ID: "14", Array: "", State: "PENDING", Reason: "DependencyNeverSatisfied", Exit: "0:0"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("states\n%+v\nwant\n%+v", got, want)
	}
	if !got[0].Done() || !got[1].Done() || got[2].Done() {
		t.Fatal("Done is wrong")
	}
	if _, err := Wait(context.Background(), run, "12", 1); err == nil || !strings.Contains(err.Error(), "can never start") {
		t.Fatalf("Wait on a job that can never start: %v", err)
	}
}
