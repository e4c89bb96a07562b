package repos

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"kforge/datasets"
	"kforge/filters/splice"
)

// conventionProgram loads one file of testdata/repos/ckconventions as a program.
func conventionProgram(t *testing.T, name string) *program {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixture("ckconventions"), name))
	if err != nil {
		t.Fatal(err)
	}
	return &program{main: name, raw: map[string][]byte{name: b}, code: map[string][]byte{name: blank(b)}, order: []string{name},
		files: []datasets.File{{Path: name, Content: string(b)}}}
}

// TestCKConventions: each convention recognises the shape it is for and
// spells sizes in it; a program with no convention says why.
func TestCKConventions(t *testing.T) {
	for _, tc := range []struct {
		file     string
		why      string   // skip reason contains
		args     []string // of each size, joined
		env      []string // KFORGE_* of each size, joined
		rewrites int
	}{
		{file: "conv_macro.cpp",
			args: []string{"1 2 1 2 4 8 64 32 3 3 28 28 1 1 1 1 1 1 1 1", "1 2 1 2 4 16 64 32 3 3 28 28 1 1 1 1 1 1 1 1",
				"1 2 1 2 8 8 64 32 3 3 28 28 1 1 1 1 1 1 1 1", "1 2 1 2 4 8 64 32 3 3 26 26 1 1 1 1 1 1 1 1"}},
		{file: "batched_count.cpp", args: []string{"1 2 1", "1 2 1", "1 2 1"},
			env: []string{"", "KFORGE_SIZE_BATCH_COUNT=8", "KFORGE_SIZE_BATCH_COUNT=2"}, rewrites: 2},
		{file: "permute_lists.cpp", args: []string{"", "", ""},
			env: []string{"", "KFORGE_SIZE_LEAD=16", "KFORGE_SIZE_LEAD=24"}, rewrites: 3},
		{file: "conv_shifted.cpp", args: []string{"", "", ""},
			env: []string{"", "KFORGE_SIZE_CONV_N=8", "KFORGE_SIZE_CONV_N=12"}, rewrites: 2},
		{file: "conv_in_code.cpp", args: []string{"", "", ""},
			env: []string{"", "KFORGE_SIZE_CONV_N=32", "KFORGE_SIZE_CONV_N=48"}, rewrites: 2},
		{file: "pool_batch.cpp", args: []string{"1 2 1", "1 2 1", "1 2 1"},
			env: []string{"", "KFORGE_SIZE_N=64", "KFORGE_SIZE_N=16"}, rewrites: 2},
		{file: "getopt_defaults.cpp", args: []string{"", "", ""},
			env: []string{"", "KFORGE_SIZE_LEAD=256", "KFORGE_SIZE_LEAD=128"}, rewrites: 2},
		{file: "loose_lists.cpp", args: []string{"", "", ""},
			env: []string{"", "KFORGE_SIZE_LEAD=8 KFORGE_SIZE_LEAD_2=2", "KFORGE_SIZE_LEAD=12 KFORGE_SIZE_LEAD_2=3"}, rewrites: 3},
		{file: "runtime_constexpr.cpp", args: []string{"", "", ""},
			env: []string{"", "KFORGE_SIZE_INDEX_LENGTH=1024 KFORGE_SIZE_NUM_ROWS=32768", "KFORGE_SIZE_INDEX_LENGTH=512 KFORGE_SIZE_NUM_ROWS=16384"}, rewrites: 3},
		{file: "grouped_kbatch.cpp", args: []string{"1 2 1 1", "1 2 1 1", "1 2 1 1"},
			env: []string{"", "KFORGE_SIZE_GROUP_COUNT=32", "KFORGE_SIZE_GROUP_COUNT=8"}, rewrites: 2},
		{file: "reduce_kept_dim.cpp", args: []string{"", "", ""},
			env: []string{"", "KFORGE_SIZE_LEAD=32", "KFORGE_SIZE_LEAD=16"}, rewrites: 3},
		{file: "constexpr_traps.cpp", args: []string{"", "", ""},
			env: []string{"", "KFORGE_SIZE_NUM_ROWS=2048", "KFORGE_SIZE_NUM_ROWS=1024"}, rewrites: 2},
		{file: "fixed_constexpr.cpp", why: "sizes-in-code: no size constant found"},
	} {
		pr := conventionProgram(t, tc.file)
		var rw []datasets.Rewrite
		sizes, _, why := ckSizes(ckSizeInput{all: pr.all(), pr: pr, rewrites: &rw})
		if tc.why != "" {
			if !strings.Contains(why, tc.why) || len(sizes) > 0 {
				t.Errorf("%s: why %q sizes %v, want a skip for %q", tc.file, why, sizes, tc.why)
			}
			continue
		}
		if why != "" {
			t.Fatalf("%s: skipped: %s", tc.file, why)
		}
		if len(sizes) != len(tc.args) {
			t.Fatalf("%s: %d sizes %+v, want %d", tc.file, len(sizes), sizes, len(tc.args))
		}
		for i, s := range sizes {
			if got := strings.Join(s.Args, " "); got != tc.args[i] {
				t.Errorf("%s size %s: args %q, want %q", tc.file, s.Name, got, tc.args[i])
			}
			var env []string
			for k, v := range s.Env {
				env = append(env, k+"="+v)
			}
			sort.Strings(env)
			if tc.env != nil && strings.Join(env, " ") != tc.env[i] {
				t.Errorf("%s size %s: env %v, want %q", tc.file, s.Name, env, tc.env[i])
			}
		}
		if len(rw) != tc.rewrites {
			t.Errorf("%s: %d rewrites %+v, want %d", tc.file, len(rw), rw, tc.rewrites)
		}
	}
}

// TestCKSizesInCodeBuild compiles the rewritten sizes-in-code fixtures
// with g++ and runs them with each size's environment: the constants the
// rewrites touch take the size's values, whatever their types.
func TestCKSizesInCodeBuild(t *testing.T) {
	if _, err := exec.LookPath("g++"); err != nil {
		t.Skip("no g++")
	}
	for _, tc := range []struct {
		file string
		want []string // output of each size
	}{
		{"batched_count.cpp", []string{"M=256 N=128 batches=4", "M=256 N=128 batches=8", "M=256 N=128 batches=2"}},
		{"permute_lists.cpp", []string{"n=8 n=8 c=16", "n=16 n=16 c=16", "n=24 n=24 c=16"}},
		{"getopt_defaults.cpp", []string{"64,512,0 128,1024,0", "64,256,0 128,1024,0", "64,128,0 128,1024,0"}},
		{"reduce_two_lists.cpp", []string{"32 32 3", "16 16 3", "8 8 3"}},
		{"grouped_kbatch.cpp", []string{"groups=16 k_batch=1 init=2", "groups=32 k_batch=1 init=2", "groups=8 k_batch=1 init=2"}},
		{"reduce_kept_dim.cpp", []string{"default 16,64 call 16,64", "default 16,32 call 16,32", "default 16,16 call 16,16"}},
		{"constexpr_traps.cpp", []string{"rows=4096 picked=2 wrap=44 dims=32 repeat=20 seed=1234", "rows=2048 picked=2 wrap=44 dims=32 repeat=20 seed=1234", "rows=1024 picked=2 wrap=44 dims=32 repeat=20 seed=1234"}},
		{"loose_lists.cpp", []string{"m=4 perm=1,320,80 axes=2", "m=8 perm=2,320,80 axes=2", "m=12 perm=3,320,80 axes=2"}},
		{"runtime_constexpr.cpp", []string{"rows=65536 n=2048 sum=97", "rows=32768 n=1024 sum=49", "rows=16384 n=512 sum=25"}},
	} {
		pr := conventionProgram(t, tc.file)
		var rw []datasets.Rewrite
		sizes, _, why := ckSizes(ckSizeInput{all: pr.all(), pr: pr, rewrites: &rw})
		if why != "" {
			t.Fatal(why)
		}
		task := &datasets.Task{Files: pr.files, Build: datasets.BuildRecipe{Rewrites: rw},
			Region: datasets.Region{File: tc.file, Start: len(pr.files[0].Content), End: len(pr.files[0].Content)}}
		if err := splice.CheckTask(task); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		src := filepath.Join(dir, tc.file)
		if err := os.WriteFile(src, []byte(splice.Rewritten(task, task.Files)[0].Content), 0o644); err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, "a.out")
		if out, err := exec.Command("g++", "-std=c++17", "-o", bin, src).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", tc.file, err, out)
		}
		for i, s := range sizes {
			cmd := exec.Command(bin, s.Args...)
			cmd.Env = os.Environ()
			for k, v := range s.Env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s %s: %v", tc.file, s.Name, err)
			}
			if got := strings.TrimSpace(string(out)); !strings.HasSuffix(got, tc.want[i]) {
				t.Errorf("%s %s: %q, want %q", tc.file, s.Name, got, tc.want[i])
			}
		}
	}
}
