package repos

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"kforge/datasets"
	"kforge/pipeline"
)

// checkTask asserts the invariants every mined task must hold.
func checkTask(t *testing.T, repo string, task datasets.Task) {
	t.Helper()
	if task.ID != datasets.TaskID(&task) {
		t.Errorf("%s: id %s is not TaskID %s", task.Name, task.ID, datasets.TaskID(&task))
	}
	src := task.Source
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(src.Commit) {
		t.Errorf("%s: commit %q", task.Name, src.Commit)
	}
	if want := gitRun(t, repo, "rev-parse", src.Commit+":"+filepath.ToSlash(filepath.Join(src.Subdir, src.Path))); src.Blob != want {
		t.Errorf("%s: blob %s, git says %s", task.Name, src.Blob, want)
	}
	if src.License != "MIT" || !strings.Contains(src.Copyright, "kforge fixture authors") {
		t.Errorf("%s: license %q copyright %q", task.Name, src.License, src.Copyright)
	}
	content := fileContent(&task, task.Region.File)
	if content == "" {
		t.Fatalf("%s: region file %s not in Files", task.Name, task.Region.File)
	}
	if task.Region.Start < 0 || task.Region.End > len(content) || content[task.Region.Start:task.Region.End] != task.Region.Text {
		t.Fatalf("%s: region text is not the bytes at [%d,%d)", task.Name, task.Region.Start, task.Region.End)
	}
	// The line span covers exactly the region.
	lines := strings.Split(content, "\n")
	span := strings.Join(lines[src.Lines[0]-1:src.Lines[1]], "\n")
	if !strings.Contains(span, strings.TrimSpace(task.Region.Text)) {
		t.Errorf("%s: lines %v do not hold the region", task.Name, src.Lines)
	}
	if len(task.Sizes) < 2 {
		t.Errorf("%s: %d sizes, want at least 2", task.Name, len(task.Sizes))
	}
	var hidden, tail bool
	for _, s := range task.Sizes {
		hidden = hidden || s.Hidden
		tail = tail || s.Origin == "generated_tail"
	}
	// A task without a tail size says why (an instance that pads nothing).
	noTail := strings.Contains(strings.Join(task.SizeNotes, "\n"), "no tail size")
	if !hidden || tail == noTail {
		t.Errorf("%s: sizes lack a hidden (%v) or a tail (%v) size, notes %q", task.Name, hidden, tail, task.SizeNotes)
	}
	if !task.Run.Pass.ExitZero || len(task.Run.Pass.Fail) == 0 {
		t.Errorf("%s: weak pass rule %+v", task.Name, task.Run.Pass)
	}
	if task.Run.PerfPattern != "" && !strings.Contains(task.Run.PerfPattern, "(?P<ms>") {
		t.Errorf("%s: perf pattern without ms group", task.Name)
	}
	if len(task.Archs) == 0 || len(task.Dtypes) == 0 || task.Op == "" {
		t.Errorf("%s: archs %v dtypes %v op %q", task.Name, task.Archs, task.Dtypes, task.Op)
	}
}

func TestMineCKFixture(t *testing.T) {
	repo := makeRepo(t, map[string]string{"": fixture("minick")}, nil)
	cache := t.TempDir()
	res := mine(t, Config{Repos: []RepoConfig{{URL: repo, Ref: "HEAD", Kind: "auto"}}}, cache)
	got := byName(res.Tasks)
	want := []string{"gemm_xdl_fp16/DeviceGemmInstance", "gemm_xdl_fp32/DeviceGemmInstance0", "gemm_xdl_fp32/DeviceGemmInstance1", "gemm_basic/tile-config"}
	if len(res.Tasks) != len(want) {
		t.Errorf("got %d tasks %v, want %v", len(res.Tasks), keys(got), want)
	}
	for _, n := range want {
		task, ok := got[n]
		if !ok {
			t.Errorf("missing task %s (have %v)", n, keys(got))
			continue
		}
		checkTask(t, repo, task)
	}
	for reason, n := range map[string]int64{
		"ck-example: instance inside #if block":         1,
		"ck-example: unbalanced template argument list": 1,
	} {
		if res.Skipped[reason] != n {
			t.Errorf("skipped[%q] = %d, want %d (all: %v)", reason, res.Skipped[reason], n, res.Skipped)
		}
	}

	f16 := got["gemm_xdl_fp16/DeviceGemmInstance"]
	if f16.Kind != datasets.KindCKExample || f16.Op != "gemm" || strings.Join(f16.Dtypes, ",") != "fp16" {
		t.Errorf("fp16 task: kind %s op %s dtypes %v", f16.Kind, f16.Op, f16.Dtypes)
	}
	if f16.Region.Kind != "ck-instance" || !strings.HasPrefix(f16.Region.Text, "using DeviceGemmInstance = ") || !strings.HasSuffix(f16.Region.Text, "S<4, 64>, 8>;") {
		t.Errorf("fp16 region %q", f16.Region.Text)
	}
	// The comment table between the name and its arguments is kept verbatim.
	if !strings.Contains(f16.Region.Text, "//######|") {
		t.Errorf("fp16 region lost its comment lines: %q", f16.Region.Text)
	}
	params := map[string]datasets.TemplateParam{}
	for _, p := range f16.Region.Params {
		params[p.Name] = p
	}
	for name, want := range map[string][2]string{
		"ALayout":                                {"ALayout", "problem"},
		"ADataType":                              {"ADataType", "problem"},
		"GemmSpec":                               {"GemmDefault", "problem"},
		"BlockSize":                              {"256", "knob"},
		"MPerBlock":                              {"64", "knob"},
		"KPerBlock":                              {"16", "knob"},
		"ABlockTransferThreadClusterLengths_K_M": {"S<4, 64>", "knob"},
		"ABlockTransferSrcScalarPerVector":       {"8", "knob"},
	} {
		p := params[name]
		if p.Value != want[0] || p.Class != want[1] {
			t.Errorf("param %s = %+v, want value %q class %q", name, p, want[0], want[1])
		}
	}
	if len(f16.Region.Params) != 19 {
		t.Errorf("fp16: %d params, want 19 (the defaulted LoopSched omitted)", len(f16.Region.Params))
	}
	if strings.Join(f16.Layouts, ",") != "ALayout=RowMajor,BLayout=ColumnMajor,CLayout=RowMajor" {
		t.Errorf("layouts %v", f16.Layouts)
	}
	// Files: the example and its local includes, not the library headers.
	var paths []string
	for _, f := range f16.Files {
		paths = append(paths, f.Path)
	}
	if strings.Join(paths, ",") != "example/01_gemm/gemm_xdl_fp16.cpp,example/01_gemm/common.hpp,example/01_gemm/run_gemm_example.inc" {
		t.Errorf("files %v", paths)
	}
	b := f16.Build
	if !b.NeedsCheckout || strings.Join(b.IncludeDirs, ",") != "include,library/include" ||
		strings.Join(b.RepoSources, ",") != "library/src/utility/device_memory.cpp,library/src/utility/host_tensor.cpp" ||
		!strings.Contains(b.ConfigHeader, "#define CK_ENABLE_FP16 ON") || !strings.Contains(b.ConfigHeader, "/* #undef CK_EXPERIMENTAL_FIXTURE */") ||
		strings.Contains(b.ConfigHeader, "@") {
		t.Errorf("build %+v", b)
	}
	// Sizes: the defaults, then generated ones, all as full M N K; the strides
	// stay -1, which the example itself replaces by packed strides.
	if s := f16.Sizes[0]; strings.Join(s.Args, " ") != "1 2 1 512 768 256 -1 -1 -1" || s.Dims["M"] != 512 || s.Hidden {
		t.Errorf("default size %+v", s)
	}
	// GemmDefault pads nothing: the op refuses any size off its 64x64x16
	// tile, so there is no tail, and the task says so.
	if len(f16.Sizes) != 2 || !strings.Contains(strings.Join(f16.SizeNotes, " "), "no tail size: Default pads none") {
		t.Errorf("fp16 (GemmDefault) sizes %+v notes %q", f16.Sizes, f16.SizeNotes)
	}
	for _, s := range f16.Sizes[1:] {
		if s.Dims["M"]%64 != 0 || s.Dims["N"]%64 != 0 || s.Dims["K"]%16 != 0 {
			t.Errorf("fp16 size %s off the tile", s.Name)
		}
	}
	// MNKPadding: the tail breaks the 128x32x8 tile in M, N and K.
	if s := got["gemm_xdl_fp32/DeviceGemmInstance1"].Sizes; len(s) != 3 || strings.Join(s[2].Args, " ") != "1 2 1 576 144 36 -1 -1 -1" || s[2].Origin != "generated_tail" {
		t.Errorf("fp32 MNKPadding sizes %+v", s)
	}
	if !regexp.MustCompile(f16.Run.PerfPattern).MatchString("Perf: 0.125 ms, 3.2 TFlops, 100 GB/s, x") {
		t.Errorf("perf pattern %q does not match the example's Perf line", f16.Run.PerfPattern)
	}
	if f16.Extra == nil || !strings.Contains(f16.Extra.Declaration, "struct DeviceGemm_Xdl_CShuffle") {
		t.Errorf("declaration context %+v", f16.Extra)
	}

	tile := got["gemm_basic/tile-config"]
	if tile.Kind != datasets.KindCKTile || tile.Region.Kind != "tile-config" || !strings.HasPrefix(tile.Region.Text, "struct GemmTileConfig") {
		t.Errorf("tile task %+v", tile.Region)
	}
	if s := tile.Sizes[2]; strings.Join(s.Args, " ") != "-v=1 -m=144 -n=144 -k=72" {
		t.Errorf("tile tail %v", s.Args)
	}
	if strings.Join(tile.Run.Pass.Pass, ",") != `valid:\s*y` {
		t.Errorf("tile pass %+v", tile.Run.Pass)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestMineHIPProgramsAndHostileFiles(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret.hip")
	os.WriteFile(outside, []byte("__global__ void k(){}\nint main(){ /* Validation passed */ }\n"), 0o644)
	repo := makeRepo(t, map[string]string{"": fixture("hipprogs")}, func(dir string) {
		os.MkdirAll(filepath.Join(dir, "bad"), 0o755)
		// A binary file with a source extension.
		os.WriteFile(filepath.Join(dir, "bad", "blob.hip"), append([]byte("__global__ void k(){}\x00\x01"), bytes.Repeat([]byte{0xff}, 64)...), 0o644)
		// A symlink that points outside the repository.
		os.Symlink(outside, filepath.Join(dir, "bad", "escape.hip"))
		os.Symlink("../../../../etc/passwd", filepath.Join(dir, "bad", "relative_escape.cpp"))
		// A huge file.
		huge := bytes.Repeat([]byte("// filler line for a huge generated source file\n"), 3<<20/48)
		os.WriteFile(filepath.Join(dir, "bad", "huge.cpp"), huge, 0o644)
		// Programs that need what neither the tree nor hipcc has.
		os.WriteFile(filepath.Join(dir, "bad", "uses_rocprim.hip"), []byte("#include <rocprim/rocprim.hpp>\n__global__ void k(int* p){ p[0] = 1; }\nint main(){ puts(\"Validation passed\"); }\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "bad", "generated_header.hip"), []byte("#include \"built_later.hpp\"\n__global__ void k(int* p){ p[0] = 1; }\nint main(){ puts(\"Validation passed\"); }\n"), 0o644)
		// Garbage that is not C++ at all.
		os.WriteFile(filepath.Join(dir, "bad", "garbage.cu"), []byte("}}}{{{ __global__ ((( int main( <<<>>> \"unterminated"), 0o644)
	})
	res := mine(t, Config{Repos: []RepoConfig{{URL: repo, Kind: "auto"}}}, t.TempDir())
	got := byName(res.Tasks)
	if len(res.Tasks) != 2 {
		t.Fatalf("got tasks %v, want saxpy and block_reduce", keys(got))
	}
	for _, task := range res.Tasks {
		checkTask(t, repo, task)
	}
	sx := got["HIP-Basic/saxpy/main"]
	if sx.Kind != datasets.KindHIPProgram || sx.Op != "saxpy" || strings.Join(sx.Dtypes, ",") != "fp32" {
		t.Errorf("saxpy: %s %s %v", sx.Kind, sx.Op, sx.Dtypes)
	}
	if !strings.HasPrefix(sx.Region.Text, "__device__ float fused_axpy") || !strings.HasSuffix(sx.Region.Text, "}") || strings.Contains(sx.Region.Text, "main") {
		t.Errorf("saxpy region %q", sx.Region.Text)
	}
	if strings.Join(sx.Region.Signatures, "|") != "__global__ void saxpy_kernel(const float a, const float* x, float* y, const unsigned int n)" {
		t.Errorf("saxpy signatures %q", sx.Region.Signatures)
	}
	if strings.Join(sx.Build.IncludeDirs, ",") != "Common" || !sx.Build.NeedsCheckout {
		t.Errorf("saxpy build %+v", sx.Build)
	}
	if strings.Join(sx.Run.Pass.Pass, ",") != "Validation passed" || sx.Run.PerfPattern != "" {
		t.Errorf("saxpy run %+v", sx.Run)
	}
	if s := sx.Sizes[1]; strings.Join(s.Args, " ") != "-n 2097152" || !s.Hidden {
		t.Errorf("saxpy hidden size %+v", s)
	}
	if s := sx.Sizes[2]; s.Dims["n"]%2 == 0 {
		t.Errorf("saxpy tail size %+v is even", s)
	}
	br := got["HIP-Basic/block_reduce/main"]
	if !strings.HasPrefix(br.Region.Text, "template <unsigned int BlockSize>\n__device__ int warp_tail") || br.Run.PerfPattern == "" {
		t.Errorf("block_reduce region %q perf %q", br.Region.Text, br.Run.PerfPattern)
	}
	if strings.Join(br.Dtypes, ",") != "int32" || len(br.Region.Signatures) != 1 || !strings.HasPrefix(br.Region.Signatures[0], "template <unsigned int BlockSize> __global__ void block_reduce(") {
		t.Errorf("block_reduce dtypes %v signatures %q", br.Dtypes, br.Region.Signatures)
	}
	for reason, n := range map[string]int64{
		"hip-program: binary file":                             1,
		"hip-program: symlink pointing outside the repository": 2,
		"hip-program: file too large":                          1,
		"hip-program: no result check":                         1,
		"hip-program: needs external library rocprim":          1,
		"hip-program: unresolved include":                      1,
	} {
		if res.Skipped[reason] != n {
			t.Errorf("skipped[%q] = %d, want %d (all %v)", reason, res.Skipped[reason], n, res.Skipped)
		}
	}
}

func TestStableIDsAndCache(t *testing.T) {
	repo := makeRepo(t, map[string]string{"": fixture("minick")}, nil)
	cache := t.TempDir()
	cfg := Config{Repos: []RepoConfig{{URL: repo}}}
	first := mine(t, cfg, cache)
	if first.Repos[0].Cached != 0 {
		t.Fatalf("cold run used the cache: %+v", first.Repos[0])
	}
	second := mine(t, cfg, cache)
	if second.Repos[0].Cached != second.Repos[0].Programs {
		t.Errorf("warm run mined again: %+v", second.Repos[0])
	}
	// Without the cache the result is the same, task for task.
	nocache, err := Mine(context.Background(), cfg, Options{CacheDir: t.TempDir(), Archs: []string{"gfx90a"}, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, other := range []*Result{second, nocache} {
		if len(other.Tasks) != len(first.Tasks) {
			t.Fatalf("task counts differ: %d vs %d", len(other.Tasks), len(first.Tasks))
		}
		for i := range first.Tasks {
			a, b := first.Tasks[i], other.Tasks[i]
			if a.ID != b.ID || a.Source != b.Source || a.Region.Text != b.Region.Text {
				t.Errorf("task %d differs: %s/%s vs %s/%s", i, a.Name, a.ID, b.Name, b.ID)
			}
		}
	}
	// Change one example: only its tasks get new ids; a new commit is
	// recorded on every task, the others keep their ids.
	p := filepath.Join(repo, "example", "01_gemm", "gemm_xdl_fp32.cpp")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(b, []byte("S<2, 128>, 1>;"), []byte("S<2, 128>, 2>;"), 1), 0o644)
	head := commit(t, repo, "change fp32 instance")
	third := mine(t, cfg, cache)
	before, after := ids(first.Tasks), ids(third.Tasks)
	for name, id := range before {
		changed := after[name] != id
		if strings.HasPrefix(name, "gemm_xdl_fp32/") != changed {
			t.Errorf("%s: id changed = %v", name, changed)
		}
	}
	for _, task := range third.Tasks {
		if task.Source.Commit != head {
			t.Errorf("%s: commit %s, want %s", task.Name, task.Source.Commit, head)
		}
	}
	if c := third.Repos[0].Cached; c != third.Repos[0].Programs-1 {
		t.Errorf("after one change: %d of %d programs cached, want all but one", c, third.Repos[0].Programs)
	}
}

func TestRefsSubdirAndPaths(t *testing.T) {
	repo := makeRepo(t, map[string]string{"projects/composablekernel": fixture("minick"), "": fixture("hipprogs")}, func(dir string) {
		os.Remove(filepath.Join(dir, "projects", "composablekernel", "LICENSE")) // the root license applies
	})
	gitRun(t, repo, "tag", "v1")
	cache := t.TempDir()
	res := mine(t, Config{Repos: []RepoConfig{{URL: repo, Ref: "v1", Subdir: "projects/composablekernel", Kind: "ck-example", Paths: []string{"example/01_gemm"}}}}, cache)
	if len(res.Tasks) != 3 {
		t.Fatalf("got %v", keys(byName(res.Tasks)))
	}
	for _, task := range res.Tasks {
		if task.Kind != datasets.KindCKExample || task.Source.Subdir != "projects/composablekernel" || !strings.HasPrefix(task.Source.Path, "example/01_gemm/") {
			t.Errorf("%s: %+v", task.Name, task.Source)
		}
		checkTask(t, repo, task)
	}
	// Only the hip programs, by kind, from the same repository.
	res = mine(t, Config{Repos: []RepoConfig{{URL: repo, Kind: "hip-program", Paths: []string{"HIP-Basic"}}}}, cache)
	if len(res.Tasks) != 2 {
		t.Errorf("hip-program run: %v", keys(byName(res.Tasks)))
	}
	// An unknown ref is refused with a reason.
	_, err := Mine(context.Background(), Config{Repos: []RepoConfig{{URL: repo, Ref: "no-such-branch"}}}, Options{CacheDir: cache})
	if err == nil || !strings.Contains(err.Error(), "no-such-branch") {
		t.Errorf("unknown ref: %v", err)
	}
}

func TestLicenseAllowList(t *testing.T) {
	repo := makeRepo(t, map[string]string{"": fixture("hipprogs")}, nil)
	res := mine(t, Config{Repos: []RepoConfig{{URL: repo}}, Licenses: []string{"Apache-2.0"}}, t.TempDir())
	if len(res.Tasks) != 0 || res.Skipped["hip-program: license MIT not allowed"] != 2 {
		t.Errorf("tasks %d skipped %v", len(res.Tasks), res.Skipped)
	}
}

func TestMissingRepoAndOffline(t *testing.T) {
	cache := t.TempDir()
	missing := filepath.Join(t.TempDir(), "nope")
	res, err := Mine(context.Background(), Config{Repos: []RepoConfig{{URL: missing}}}, Options{CacheDir: cache})
	if err == nil || res == nil || res.Repos[0].Error == "" || len(res.Skipped) != 0 {
		// An unreadable repository is reported with its error, not counted
		// as a skip: whether a build may go on without it is the recipe's.
		t.Fatalf("missing repo: err %v res %+v", err, res)
	}
	// One bad repository does not sink the others.
	good := makeRepo(t, map[string]string{"": fixture("hipprogs")}, nil)
	res, err = Mine(context.Background(), Config{Repos: []RepoConfig{{URL: missing}, {URL: good}}, Licenses: []string{"MIT"}}, Options{CacheDir: cache})
	if err != nil || len(res.Tasks) != 2 {
		t.Fatalf("mixed: err %v tasks %d", err, len(res.Tasks))
	}
	// A URL with a token is refused, and the token is in no message.
	res, err = Mine(context.Background(), Config{Repos: []RepoConfig{{URL: "https://user:s3cr3t-token@example.invalid/r.git"}}}, Options{CacheDir: cache})
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(res.Repos[0].URL, "s3cr3t") || !strings.Contains(err.Error(), "credential") {
		t.Errorf("credentials URL: err %v", err)
	}
	// Offline works from the existing mirror, even with the origin gone.
	os.RemoveAll(good)
	res, err = Mine(context.Background(), Config{Repos: []RepoConfig{{URL: good}}, Offline: true, Licenses: []string{"MIT"}}, Options{CacheDir: cache})
	if err != nil || len(res.Tasks) != 2 {
		t.Fatalf("offline: err %v tasks %d", err, len(res.Tasks))
	}
	// Offline without a mirror is refused.
	other := makeRepo(t, map[string]string{"": fixture("hipprogs")}, nil)
	if _, err := Mine(context.Background(), Config{Repos: []RepoConfig{{URL: other}}, Offline: true}, Options{CacheDir: cache}); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Errorf("offline without mirror: %v", err)
	}
}

func TestCheckout(t *testing.T) {
	repo := makeRepo(t, map[string]string{"projects/ck": fixture("minick")}, func(dir string) {
		os.Symlink("/etc/passwd", filepath.Join(dir, "projects", "ck", "escape"))
		os.Symlink("include/ck/ck.hpp", filepath.Join(dir, "projects", "ck", "inside"))
	})
	cache := t.TempDir()
	res := mine(t, Config{Repos: []RepoConfig{{URL: repo, Subdir: "projects/ck"}}}, cache)
	src := res.Tasks[0].Source
	var wg sync.WaitGroup
	dirs := make([]string, 6)
	errs := make([]error, 6)
	for i := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs[i], errs[i] = Checkout(context.Background(), cache, src)
		}()
	}
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil || dirs[i] != dirs[0] {
			t.Fatalf("checkout %d: %q %v (first %q)", i, dirs[i], errs[i], dirs[0])
		}
	}
	dir := dirs[0]
	b, err := os.ReadFile(filepath.Join(dir, "include", "ck", "ck.hpp"))
	if err != nil || !bytes.Contains(b, []byte("namespace ck")) {
		t.Fatalf("checkout content: %v", err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "include", "ck", "ck.hpp"))
	if fi.Mode().Perm()&0o222 != 0 {
		t.Errorf("checkout file is writable: %v", fi.Mode())
	}
	if _, err := os.Lstat(filepath.Join(dir, "escape")); err == nil {
		t.Errorf("a symlink pointing outside was extracted")
	}
	if _, err := os.Stat(filepath.Join(dir, "inside")); err != nil {
		t.Errorf("an inside symlink was dropped: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("checkouts dir holds %d entries (leftover temporaries?)", len(entries))
	}
	// Bad input is refused, not guessed at.
	if _, err := Checkout(context.Background(), cache, datasets.Source{Repo: repo, Commit: "abc"}); err == nil {
		t.Errorf("short commit accepted")
	}
	if _, err := Checkout(context.Background(), cache, datasets.Source{Repo: "/no/such/repo", Commit: src.Commit}); err == nil {
		t.Errorf("unmirrored repository accepted")
	}
}

// TestCheckoutIgnoresAttributes: a repository whose .gitattributes converts
// line endings (rocm-examples: `*.sln text eol=crlf`) or substitutes export
// keywords is checked out as its blobs are, so the checkout matches its tree.
func TestCheckoutIgnoresAttributes(t *testing.T) {
	repo := makeRepo(t, map[string]string{"projects/ck": fixture("minick")}, func(dir string) {
		os.WriteFile(filepath.Join(dir, ".gitattributes"), []byte("*.sln text eol=crlf\n*.ver export-subst\nskip.txt export-ignore\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "projects", "ck", "build.sln"), []byte("line one\nline two\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "projects", "ck", "v.ver"), []byte("$Format:%H$\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "skip.txt"), []byte("kept\n"), 0o644)
	})
	cache := t.TempDir()
	res := mine(t, Config{Repos: []RepoConfig{{URL: repo}}}, cache)
	if len(res.Tasks) == 0 {
		t.Fatal("no tasks")
	}
	dir, err := Checkout(context.Background(), cache, res.Tasks[0].Source)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"projects/ck/build.sln": "line one\nline two\n", "projects/ck/v.ver": "$Format:%H$\n", "skip.txt": "kept\n"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Errorf("%s: %q %v, want the blob %q", name, b, err, want)
		}
	}
}

// TestMineProgress: the progress callback ends at every program mined, out
// of every program found, across repositories.
func TestMineProgress(t *testing.T) {
	a := makeRepo(t, map[string]string{"": fixture("minick")}, nil)
	b := makeRepo(t, map[string]string{"": fixture("minick")}, nil)
	var mu sync.Mutex
	var lastDone, lastTotal, calls int64
	res, err := Mine(context.Background(), Config{Repos: []RepoConfig{{URL: a}, {URL: b}}}, Options{CacheDir: t.TempDir(), Archs: []string{"gfx90a"},
		Progress: func(done, total int64) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if done > total {
				t.Errorf("progress %d of %d", done, total)
			}
			lastDone, lastTotal = max(lastDone, done), max(lastTotal, total)
		}})
	if err != nil {
		t.Fatal(err)
	}
	programs := int64(res.Repos[0].Programs + res.Repos[1].Programs)
	if programs == 0 || lastDone != programs || lastTotal != programs || calls < programs {
		t.Errorf("progress ended at %d of %d (%d calls); %d programs mined", lastDone, lastTotal, calls, programs)
	}
}

// TestMineCKBranches: an instance under #if is a task when the branch is
// compiled (the file's own #define, or a build option its needs record),
// a recorded skip when the build leaves it out, and a recorded skip, not
// a silent one, when a conditional splits its argument list.
func TestMineCKBranches(t *testing.T) {
	repo := makeRepo(t, map[string]string{"": fixture("minick")}, func(dir string) {
		copyTree(t, fixture("ckbranches"), dir)
	})
	res := mine(t, Config{Repos: []RepoConfig{{URL: repo, Ref: "HEAD", Kind: "ck-example"}}}, t.TempDir())
	got := byName(res.Tasks)
	direct, ok := got["gemm_direct_fp16/DeviceGemmInstance"]
	if !ok {
		t.Fatalf("no task for the compiled branch (have %v; skips %v)", keys(got), res.Skipped)
	}
	if !strings.Contains(direct.Region.Text, "256, 128, 64") {
		t.Errorf("the task's region is not the compiled branch's instance: %q", direct.Region.Text)
	}
	// Its GemmSpec resolves through the compiled branch (MNKPadding: a
	// tail size), not the dead one's Default.
	if notes := strings.Join(direct.SizeNotes, " "); strings.Contains(notes, "no tail size") || len(direct.Sizes) < 3 {
		t.Errorf("the compiled branch's MNKPadding was not seen: sizes %d, notes %q", len(direct.Sizes), notes)
	}
	wide, ok := got["gemm_wide_fp16/DeviceGemmInstance"]
	if !ok {
		t.Fatalf("no task for the program its build option turns on (have %v)", keys(got))
	}
	if wide.Build.Needs == nil || strings.Join(wide.Build.Needs.Defines, ",") != "KFORGE_FIXTURE_WIDE" || !contains(wide.Build.Flags, "-DKFORGE_FIXTURE_WIDE") {
		t.Errorf("wide task needs %+v flags %v, want the option's define", wide.Build.Needs, wide.Build.Flags)
	}
	// A program that uses the convolution parameters links their source,
	// conv op or not; one that does not, does not.
	conv := "library/src/utility/convolution_parameter.cpp"
	if cp, ok := got["gemm_convparam_fp16/DeviceGemmInstance"]; !ok || !contains(cp.Build.RepoSources, conv) || contains(direct.Build.RepoSources, conv) {
		t.Errorf("convparam task %v: repo sources %v; direct's %v", ok, cp.Build.RepoSources, direct.Build.RepoSources)
	}
	for _, n := range []string{"gemm_direct_fp16/DeviceGemmInstanceWide", "gemm_split_args_fp16/DeviceGemmInstance"} {
		if _, ok := got[n]; ok {
			t.Errorf("%s is a task", n)
		}
	}
	for reason, n := range map[string]int64{
		"ck-example: instance in a branch the build leaves out (#else)":                      1,
		"ck-example: instance in a branch the build leaves out (#ifdef KFORGE_FIXTURE_WIDE)": 1,
		"ck-example: a preprocessor conditional inside the instance's template arguments":    1,
		"ck-example: instance inside #if block":                                              2, // minick's own, on an unknown macro; a build macro a program header defines
	} {
		if res.Skipped[reason] != n {
			t.Errorf("skipped[%q] = %d, want %d (all: %v)", reason, res.Skipped[reason], n, res.Skipped)
		}
	}
}

// TestMirrorSweepsKilledClone: a clone a killed kforge left half done in
// the cache's git directory is removed by the next mirror there; the
// mirror is made as usual.
func TestMirrorSweepsKilledClone(t *testing.T) {
	if dir := os.Getenv("KFORGE_TEST_LEAVE_CLONE_IN"); dir != "" {
		// The killed process: it makes its temporary clone and dies.
		tmp, err := pipeline.MkdirTemp(dir, "clone")
		if err != nil {
			os.Exit(2)
		}
		os.WriteFile(filepath.Join(tmp, "half"), []byte("x"), 0o644)
		os.Exit(0)
	}
	repo := makeRepo(t, map[string]string{"": fixture("minick")}, nil)
	cache := t.TempDir()
	gitDir := filepath.Join(cache, "git")
	os.MkdirAll(gitDir, 0o755)
	cmd := exec.Command(os.Args[0], "-test.run=^TestMirrorSweepsKilledClone$")
	cmd.Env = append(os.Environ(), "KFORGE_TEST_LEAVE_CLONE_IN="+gitDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("leaving a clone: %v %s", err, out)
	}
	left, _ := filepath.Glob(filepath.Join(gitDir, ".clone.tmp-*"))
	if len(left) != 1 {
		t.Fatalf("the dead process left %v", left)
	}
	res := mine(t, Config{Repos: []RepoConfig{{URL: repo, Ref: "HEAD", Kind: "auto"}}}, cache)
	if len(res.Tasks) == 0 {
		t.Fatal("no tasks")
	}
	if _, err := os.Stat(left[0]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the killed clone %s is still there (%v)", left[0], err)
	}
}
