package repos

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"kforge/datasets"
)

// buildTask compiles a task's program as the verifier would: its Files (with
// the region replaced by region) in a fresh task root, the generated
// ck/config.h first on the include path, then the checkout's include dirs and
// repository sources, with the recorded flags.
func buildTask(t *testing.T, hipcc, cache string, task datasets.Task, region string) (string, error) {
	t.Helper()
	root := t.TempDir()
	for _, f := range task.Files {
		content := f.Content
		if f.Path == task.Region.File {
			content = content[:task.Region.Start] + region + content[task.Region.End:]
		}
		p := filepath.Join(root, "src", filepath.FromSlash(f.Path))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"--offload-arch=gfx90a"}
	args = append(args, task.Build.Flags...)
	if task.Build.ConfigHeader != "" {
		gen := filepath.Join(root, "gen")
		os.MkdirAll(filepath.Join(gen, "ck"), 0o755)
		os.WriteFile(filepath.Join(gen, "ck", "config.h"), []byte(task.Build.ConfigHeader), 0o644)
		args = append(args, "-I", gen)
	}
	var checkout string
	if task.Build.NeedsCheckout {
		var err error
		checkout, err = Checkout(context.Background(), cache, task.Source)
		if err != nil {
			t.Fatalf("%s: checkout: %v", task.Name, err)
		}
	}
	for _, d := range task.Build.IncludeDirs {
		args = append(args, "-I", filepath.Join(checkout, d))
	}
	for _, s := range task.Build.Sources {
		args = append(args, filepath.Join(root, "src", filepath.FromSlash(s)))
	}
	for _, s := range task.Build.RepoSources {
		args = append(args, filepath.Join(checkout, s))
	}
	args = append(args, "-o", filepath.Join(root, "prog"))
	cmd := exec.Command(hipcc, args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestFixtureTasksCompileWithHipcc compiles every fixture task as mined, and
// again with its region replaced by a different valid candidate from
// testdata/repos/candidates (everything else byte-identical). A candidate
// that breaks the device op's constraints must fail, so the check is real.
func TestFixtureTasksCompileWithHipcc(t *testing.T) {
	hipcc, err := exec.LookPath("hipcc")
	if err != nil {
		t.Skip("hipcc not installed")
	}
	if testing.Short() {
		t.Skip("compiles with hipcc; skipped in -short")
	}
	repo := makeRepo(t, map[string]string{"ck": fixture("minick"), "hip": fixture("hipprogs")}, nil)
	cache := t.TempDir()
	var tasks []datasets.Task
	for _, sub := range []string{"ck", "hip"} {
		res := mine(t, Config{Repos: []RepoConfig{{URL: repo, Subdir: sub}}}, cache)
		tasks = append(tasks, res.Tasks...)
	}
	if len(tasks) != 6 {
		t.Fatalf("mined %d fixture tasks, want 6", len(tasks))
	}
	type build struct {
		name, region string
		task         datasets.Task
		wantOK       bool
	}
	var builds []build
	for _, task := range tasks {
		candFile := filepath.Join(fixture("candidates"), strings.ReplaceAll(task.Name, "/", "__")+".txt")
		cand, err := os.ReadFile(candFile)
		if err != nil {
			t.Fatalf("%s: no candidate: %v", task.Name, err)
		}
		c := strings.TrimRight(string(cand), "\n")
		if c == task.Region.Text {
			t.Fatalf("%s: candidate equals the reference", task.Name)
		}
		builds = append(builds,
			build{task.Name + "/reference", task.Region.Text, task, true},
			build{task.Name + "/candidate", c, task, true})
		if task.Name == "gemm_xdl_fp16/DeviceGemmInstance" {
			// 128 threads cannot cover a 64x64 tile of 4x4 thread tiles.
			bad := strings.Replace(task.Region.Text, "GemmDefault, 256, 64, 64", "GemmDefault, 128, 64, 64", 1)
			builds = append(builds, build{task.Name + "/broken", bad, task, false})
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for _, b := range builds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out, err := buildTask(t, hipcc, cache, b.task, b.region)
			switch {
			case b.wantOK && err != nil:
				t.Errorf("%s: hipcc failed: %v\n%s", b.name, err, tail(out, 3000))
			case !b.wantOK && err == nil:
				t.Errorf("%s: a constraint-breaking candidate compiled", b.name)
			case !b.wantOK && !strings.Contains(out, "threads must cover the block tile"):
				t.Errorf("%s: failed for another reason:\n%s", b.name, tail(out, 2000))
			}
		}()
	}
	wg.Wait()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
