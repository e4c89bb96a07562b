package splice

import (
	"errors"
	"strings"
	"testing"

	"kforge/datasets"
)

func task() *datasets.Task {
	content := "#include <cstdio>\nint check_results(const float* y, int n) { return 0; }\n// REGION\n__global__ void k(float* y) { y[0] = 1; }\n// END\nint main() { printf(\"Perf: %f ms\\n\", 1.0); }\n"
	start := strings.Index(content, "__global__")
	end := strings.Index(content, "// END")
	return &datasets.Task{
		Files:  []datasets.File{{Path: "main.hip", Content: content}, {Path: "util.h", Content: "#pragma once\n"}},
		Region: datasets.Region{File: "main.hip", Start: start, End: end, Text: content[start:end], Kind: "hip-kernels"},
	}
}

func TestSpliceChangesOnlyTheRegion(t *testing.T) {
	tk := task()
	cand := "__global__ void k(float* y) { y[0] = 2; }\n"
	files, err := Splice(tk, cand)
	if err != nil {
		t.Fatal(err)
	}
	c := tk.Files[0].Content
	want := c[:tk.Region.Start] + cand + c[tk.Region.End:]
	if files[0].Content != want || files[1] != tk.Files[1] {
		t.Fatalf("spliced:\n%s", files[0].Content)
	}
	if tk.Files[0].Content != c {
		t.Fatal("the task was modified")
	}
}

func TestOutsideDetectsChanges(t *testing.T) {
	tk := task()
	files, _ := Splice(tk, "X")
	mut := func(f func([]datasets.File) []datasets.File) []datasets.File {
		cp := append([]datasets.File(nil), files...)
		return f(cp)
	}
	for name, fs := range map[string][]datasets.File{
		"prefix":     mut(func(f []datasets.File) []datasets.File { f[0].Content = "#define x\n" + f[0].Content; return f }),
		"suffix":     mut(func(f []datasets.File) []datasets.File { f[0].Content += "\n"; return f }),
		"other file": mut(func(f []datasets.File) []datasets.File { f[1].Content = ""; return f }),
		"renamed":    mut(func(f []datasets.File) []datasets.File { f[1].Path = "x.h"; return f }),
		"dropped":    mut(func(f []datasets.File) []datasets.File { return f[:1] }),
	} {
		var rej *Rejection
		if err := Outside(tk, fs); !errors.As(err, &rej) || rej.Rule != RuleOutsideRegion {
			t.Errorf("%s: got %v", name, err)
		}
	}
	if err := Outside(tk, files); err != nil {
		t.Fatal(err)
	}
}

func TestExtract(t *testing.T) {
	tk := task()
	c := tk.Files[0].Content
	region := "__global__ void k(float* y) { y[0] = 3; }\n"
	full := c[:tk.Region.Start] + region + c[tk.Region.End:]
	for _, tc := range []struct {
		name, cand, want, rule string
	}{
		{"region only", region, region, ""},
		{"whole file, same harness", full, region, ""},
		{"whole file, changed main", strings.Replace(full, "Perf: %f ms", "Perf: 0.0001 ms", 1), "", RuleOutsideRegion},
		{"harness check rewritten", region + "int check_results(const float* y, int n) { return 0; }\n", "", RuleOutsideRegion},
	} {
		got, err := Extract(tk, tc.cand)
		var rej *Rejection
		switch {
		case tc.rule == "" && (err != nil || got != tc.want):
			t.Errorf("%s: got %q, %v", tc.name, got, err)
		case tc.rule != "" && (!errors.As(err, &rej) || rej.Rule != tc.rule):
			t.Errorf("%s: got %v, want rule %s", tc.name, err, tc.rule)
		}
	}
}

func TestBadTaskRegion(t *testing.T) {
	tk := task()
	tk.Region.Text = "different"
	var rej *Rejection
	if _, err := Splice(tk, "x"); !errors.As(err, &rej) || rej.Rule != RuleTaskRegion {
		t.Fatalf("got %v", err)
	}
	tk = task()
	tk.Region.End = 1 << 20
	if err := CheckTask(tk); err == nil {
		t.Fatal("out-of-range region accepted")
	}
	tk = task()
	tk.Region.File = "nope"
	if err := CheckTask(tk); err == nil {
		t.Fatal("missing region file accepted")
	}
}

// TestRewritten: build rewrites apply outside the region to the reference
// and to a spliced candidate alike (moving with the region's length), and
// a rewrite that overlaps the region or misreads its text is refused.
func TestRewritten(t *testing.T) {
	src := "int M = 64;\nusing I = Op<1, 2>;\nint B = 16;\n"
	start := strings.Index(src, "using")
	end := strings.Index(src, "int B")
	b := strings.Index(src, "16")
	task := &datasets.Task{
		Files:  []datasets.File{{Path: "a.cpp", Content: src}},
		Region: datasets.Region{File: "a.cpp", Start: start, End: end, Text: src[start:end]},
		Build: datasets.BuildRecipe{Rewrites: []datasets.Rewrite{
			{File: "a.cpp", Start: 0, End: 0, With: "#include <x>\n"},
			{File: "a.cpp", Start: b, End: b + 2, Text: "16", With: "S{16}"},
		}},
	}
	if err := CheckTask(task); err != nil {
		t.Fatal(err)
	}
	ref := Rewritten(task, task.Files)[0].Content
	if want := "#include <x>\nint M = 64;\nusing I = Op<1, 2>;\nint B = S{16};\n"; ref != want {
		t.Errorf("reference:\n%s\nwant\n%s", ref, want)
	}
	files, err := Splice(task, "using I = Op<128, 256, 4>;\n")
	if err != nil {
		t.Fatal(err)
	}
	cand := Rewritten(task, files)[0].Content
	if want := "#include <x>\nint M = 64;\nusing I = Op<128, 256, 4>;\nint B = S{16};\n"; cand != want {
		t.Errorf("candidate:\n%s\nwant\n%s", cand, want)
	}
	if task.Files[0].Content != src {
		t.Error("Rewritten changed the task's files")
	}
	for _, bad := range []datasets.Rewrite{
		{File: "a.cpp", Start: start + 2, End: start + 4, Text: src[start+2 : start+4], With: "x"},
		{File: "a.cpp", Start: b, End: b + 2, Text: "17", With: "x"},
		{File: "b.cpp", Start: 0, End: 0, With: "x"},
	} {
		bt := *task
		bt.Build.Rewrites = []datasets.Rewrite{bad}
		if err := CheckTask(&bt); err == nil {
			t.Errorf("rewrite %+v accepted", bad)
		}
	}
}

// TestRedDuplicateFilePaths: a task listing one path twice (a hand-edited
// or merged tasks.jsonl) is refused by CheckTask. Before, CheckTask checked
// rewrites against the last file of a path, Rewritten applied them to every
// file of that path, and a shorter first one panicked the verifier's worker
// (the whole server) on slice bounds; the region, spliced into every copy,
// was compiled from whichever the compiler wrote last.
func TestRedDuplicateFilePaths(t *testing.T) {
	long := "int a = 1;\n// REGION\nint b = 2;\nint c = 300000;\n"
	start := strings.Index(long, "int b")
	end := strings.Index(long, "int c")
	c := strings.Index(long, "300000")
	tk := &datasets.Task{
		Files:  []datasets.File{{Path: "a.cpp", Content: long[:end]}, {Path: "a.cpp", Content: long}},
		Region: datasets.Region{File: "a.cpp", Start: start, End: end, Text: long[start:end]},
		Build:  datasets.BuildRecipe{Rewrites: []datasets.Rewrite{{File: "a.cpp", Start: c, End: c + 6, Text: "300000", With: "S{300000}"}}},
	}
	// The same with a header listed twice, the rewrite past the first's end.
	hk := &datasets.Task{
		Files:  []datasets.File{{Path: "main.cpp", Content: long}, {Path: "h.h", Content: "int h;\n"}, {Path: "h.h", Content: long}},
		Region: tk.Region,
		Build:  datasets.BuildRecipe{Rewrites: []datasets.Rewrite{{File: "h.h", Start: c, End: c + 6, Text: "300000", With: "S{300000}"}}},
	}
	hk.Region.File = "main.cpp"
	for name, tk := range map[string]*datasets.Task{"region file twice": tk, "header twice": hk} {
		var rej *Rejection
		if err := CheckTask(tk); !errors.As(err, &rej) || rej.Rule != RuleTaskRegion {
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%s: Rewritten panicked on a task CheckTask accepted: %v", name, p)
					}
				}()
				Rewritten(tk, tk.Files)
			}()
			t.Errorf("%s: CheckTask accepted it (%v)", name, err)
		}
	}
}
