package repos

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kforge/datasets"
	"kforge/filters/gate"
)

// TestMineRocmLike mines a small rocm-examples-like tree (testdata/repos/rocmlike)
// whose shared header prints "Validation passed" for the programs that call it.
func TestMineRocmLike(t *testing.T) {
	repo := makeRepo(t, map[string]string{"": fixture("rocmlike")}, func(dir string) {
		// The exponent program again, with a default whose double would
		// allocate 2 GiB.
		b, err := os.ReadFile(filepath.Join(dir, "Applications", "sort_pow2", "main.hip"))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, "Applications", "sort_big"), 0o755)
		big := strings.Replace(string(b), `"exponent", 10,`, `"exponent", 28,`, 1)
		os.WriteFile(filepath.Join(dir, "Applications", "sort_big", "main.hip"), []byte(big), 0o644)
	})
	gitRun(t, repo, "remote", "add", "origin", "https://someone:s3cret@example.invalid/acme/rocmlike.git")
	cache := t.TempDir()
	res := mine(t, Config{Repos: []RepoConfig{{URL: repo, Kind: "auto"}}}, cache)
	got := byName(res.Tasks)
	want := []string{"Applications/sort_big/main", "Applications/sort_pow2/main", "Applications/tiled/main", "HIP-Basic/exit_status/main"}
	if names := keys(got); len(names) != len(want) {
		t.Fatalf("tasks %v, want %v (skipped %v)", names, want, res.Skipped)
	}
	for _, n := range want {
		task, ok := got[n]
		if !ok {
			t.Fatalf("no task %s (skipped %v)", n, res.Skipped)
		}
		// The unchanged reference passes the gate.
		if rej := gate.Check(task.Region, task.Region.Text); rej != nil {
			t.Errorf("%s: reference rejected: %v", n, rej)
		}
		// Lineage names the upstream, without its credentials.
		if task.Source.Repo != "https://example.invalid/acme/rocmlike.git" {
			t.Errorf("%s: source repo %q", n, task.Source.Repo)
		}
		// A pass pattern is a line the program's own path prints: in its
		// files, or in the header function it calls.
		for _, p := range task.Run.Pass.Pass {
			main := fileContent(&task, task.Build.Sources[0])
			re := regexp.MustCompile(p)
			if !re.MatchString(main) && !(strings.Contains(main, "report_validation_result(") && re.MatchString("Validation passed.")) {
				t.Errorf("%s: pass %q is printed by nothing main runs", n, p)
			}
		}
	}
	if res.Repos[0].URL != "https://example.invalid/acme/rocmlike.git" || strings.Contains(res.Repos[0].URL, "s3cret") {
		t.Errorf("repo info url %q", res.Repos[0].URL)
	}
	// The recorded source still checks out from the cache.
	dir, err := Checkout(context.Background(), cache, got["Applications/tiled/main"].Source)
	if err != nil {
		t.Fatalf("checkout by upstream URL: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "Common", "example_utils.hpp")); err != nil {
		t.Errorf("checkout: %v", err)
	}

	// Includes the header that prints "Validation passed", never calls it,
	// and reports through its exit status: an exit-status rule.
	es := got["HIP-Basic/exit_status/main"]
	if !es.Run.Pass.ExitZero || len(es.Run.Pass.Pass) != 0 || len(es.Run.Pass.Fail) != 0 {
		t.Errorf("exit_status pass rule %+v", es.Run.Pass)
	}
	// Prints its result and checks nothing: skipped, with the reason counted.
	if res.Skipped["hip-program: no result check"] != 1 {
		t.Errorf("skipped %v, want print_only as no result check", res.Skipped)
	}

	// The check in main (multiple of 16) holds for every size, the default
	// comes from main's own constants (not the kernel local named cols), and
	// the kernel main never launches is not in the region.
	ti := got["Applications/tiled/main"]
	if strings.Join(ti.Run.Pass.Pass, ",") != `Validation passed` || !contains(ti.Run.Pass.Fail, "Validation failed. Errors") {
		t.Errorf("tiled pass rule %+v", ti.Run.Pass)
	}
	var args []string
	for _, s := range ti.Sizes {
		args = append(args, strings.Join(s.Args, " "))
		for k, v := range s.Dims {
			if v%16 != 0 {
				t.Errorf("tiled size %s: -%s %d is not a multiple of 16", s.Name, k, v)
			}
		}
	}
	if strings.Join(args, "|") != "|-rows 96 -cols 160|-rows 64 -cols 96" {
		t.Errorf("tiled sizes %q", args)
	}
	if strings.Contains(ti.Region.Text, "transpose_naive") || strings.Contains(ti.Region.Text, "load_naive") || !strings.Contains(ti.Region.Text, "load_tile_value") {
		t.Errorf("tiled region holds a dead kernel or lacks a live helper:\n%s", ti.Region.Text)
	}
	if len(ti.Region.Signatures) != 1 || !strings.Contains(ti.Region.Signatures[0], "transpose_tiled") {
		t.Errorf("tiled signatures %q", ti.Region.Signatures)
	}

	// An exponent option is varied as an exponent; its own line is the pass line.
	sp := got["Applications/sort_pow2/main"]
	if len(sp.Sizes) != 2 || strings.Join(sp.Sizes[1].Args, " ") != "-e 11" || !sp.Sizes[1].Hidden {
		t.Errorf("sort_pow2 sizes %+v", sp.Sizes)
	}
	if strings.Join(sp.Run.Pass.Pass, ",") != "Sort verified" || strings.Join(sp.Run.Pass.Fail, ",") != "Sort failed" {
		t.Errorf("sort_pow2 pass rule %+v", sp.Run.Pass)
	}
	if sp.Extra == nil || !strings.Contains(sp.Extra.Notes, "exponent") {
		t.Errorf("sort_pow2 notes %+v", sp.Extra)
	}
	// -e 29 would need 6 GiB (device and host buffers): left out, and the task says why.
	sb := got["Applications/sort_big/main"]
	if len(sb.Sizes) != 1 || sb.Extra == nil || !strings.Contains(sb.Extra.Notes, "-e 29 needs 6144 MiB") {
		t.Errorf("sort_big sizes %+v notes %+v", sb.Sizes, sb.Extra)
	}
	for _, task := range res.Tasks {
		if task.Kind != datasets.KindHIPProgram {
			t.Errorf("%s: kind %s", task.Name, task.Kind)
		}
	}
}

func TestEvalInt(t *testing.T) {
	env := map[string]int64{"n": 10, "v.size()": 7}
	for expr, want := range map[string]int64{
		"1 << 20": 1 << 20, "1u << n": 1024, "n * sizeof(float)": 40, "(n + 255) / 256 * 256": 256,
		"static_cast<size_t>(n) * 2": 20, "v.size() * sizeof(double)": 56, "1'000": 1000,
	} {
		if got, ok := evalInt(expr, env); !ok || got != want {
			t.Errorf("evalInt(%q) = %d %v, want %d", expr, got, ok, want)
		}
	}
	for _, expr := range []string{"m * 2", "1.5f", "n > 2", "1 << 70", "n / 0", ""} {
		if _, ok := evalInt(expr, env); ok {
			t.Errorf("evalInt(%q) evaluated", expr)
		}
	}
}
