package compile

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kforge/datasets"
	"kforge/filters/sandbox"
	"kforge/pipeline"
)

// fakeCompiler writes a compiler script that answers --version, then does
// what the file mode beside it says: a machine fault, or the real host
// compiler. Switching the mode does not change the version, so every mode
// compiles under the same cache key.
func fakeCompiler(t *testing.T) (path string, setMode func(string)) {
	t.Helper()
	cxx, err := exec.LookPath("c++")
	if err != nil {
		t.Skip("no host C++ compiler")
	}
	dir := t.TempDir()
	mode := filepath.Join(dir, "mode")
	path = filepath.Join(dir, "bin", "fake-c++")
	script := `#!/bin/sh
if [ "$1" = --version ]; then echo "fake c++ version 1.0"; exit 0; fi
case "$(cat ` + mode + `)" in
enospc) echo "/usr/bin/ld: final link failed: No space left on device" >&2; echo "collect2: error: ld returned 1 exit status" >&2; exit 1 ;;
enospc-as) echo "fatal error: error writing to /tmp/ccX.s: No space left on device" >&2; exit 1 ;;
oom) echo "cc1plus: out of memory allocating 1048576 bytes after a total of 8589934592 bytes" >&2; exit 1 ;;
enomem) echo "c++: fatal error: cannot execute 'cc1plus': vfork: Cannot allocate memory" >&2; exit 1 ;;
oomkill) echo "c++: fatal error: Killed signal terminated program cc1plus" >&2; exit 1 ;;
sigkill) kill -KILL $$ ;;
sigsegv) kill -SEGV $$ ;;
missing) echo "fake-c++: 12: cc1plus: not found" >&2; exit 127 ;;
hang) sleep 30 ;;
*) exec ` + cxx + ` "$@" ;;
esac
`
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	setMode = func(m string) {
		if err := os.WriteFile(mode, []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setMode("ok")
	return path, setMode
}

const hostProg = "#include <cstdio>\nint main() { std::puts(\"hi\"); }\n"

// A compile whose outcome was the machine's (a full disk, memory, the OOM
// killer, a signal, a missing tool, a timeout) is an error wrapping
// pipeline.ErrMachine and is not cached: with the machine fixed, the same
// job compiles.
func TestMachineFaultsAreNotCached(t *testing.T) {
	ctx := context.Background()
	path, setMode := fakeCompiler(t)
	for _, confined := range []bool{false, true} {
		cache := pipeline.NewMemCache()
		c, err := New(ctx, Compiler{Kind: Host, Path: path, WorkDir: t.TempDir(), Cache: cache, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if confined {
			c.Sandbox = sandbox.New()
			if ok, note := c.Sandbox.Confinement(); !ok {
				t.Logf("confined: skipped (%s)", note)
				continue
			}
		}
		for _, mode := range []string{"enospc", "enospc-as", "oom", "enomem", "oomkill", "sigkill", "sigsegv", "missing", "hang"} {
			job := Job{Files: []datasets.File{{Path: "m.cpp", Content: hostProg}}, Sources: []string{"m.cpp"}, Flags: []string{"-O1", "-DMODE_" + strings.ReplaceAll(mode, "-", "_")}}
			setMode(mode)
			out, err := c.Compile(ctx, job)
			if !errors.Is(err, pipeline.ErrMachine) {
				t.Errorf("confined=%v %s: want a machine error, got %+v, %v", confined, mode, out.Result, err)
			}
			if _, ok, _ := cache.Get(ctx, c.Key(job)); ok {
				t.Errorf("confined=%v %s: the outcome was cached", confined, mode)
			}
			setMode("ok")
			out, err = c.Compile(ctx, job)
			if err != nil || !out.Result.OK || out.Result.Cached {
				t.Errorf("confined=%v %s, then a working compiler: %+v %v", confined, mode, out.Result, err)
			}
		}
	}
}

// A source that fails to compile is a result, cached, even when its own
// diagnostics carry a machine phrase (it put the phrase there).
func TestSourceFailureWithMachinePhraseIsAResult(t *testing.T) {
	ctx := context.Background()
	path, _ := fakeCompiler(t)
	cache := pipeline.NewMemCache()
	c, err := New(ctx, Compiler{Kind: Host, Path: path, WorkDir: t.TempDir(), Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	src := "static_assert(sizeof(int) == 3, \"No space left on device\");\nint main() {}\n"
	job := Job{Files: []datasets.File{{Path: "m.cpp", Content: src}}, Sources: []string{"m.cpp"}}
	out, err := c.Compile(ctx, job)
	if err != nil || out.Result.OK || !strings.Contains(out.Result.Log, "No space left") {
		t.Fatalf("%+v %v", out.Result, err)
	}
	if again, err := c.Compile(ctx, job); err != nil || !again.Result.Cached {
		t.Fatalf("not cached: %+v %v", again.Result, err)
	}
}

// putFails is a cache whose disk is full.
type putFails struct{ *pipeline.MemCache }

func (putFails) Put(context.Context, pipeline.Key, []byte) error {
	return errors.New("write: no space left on device")
}

// A full disk under the cache loses the entry, not the result.
func TestCachePutFailureKeepsTheResult(t *testing.T) {
	ctx := context.Background()
	path, _ := fakeCompiler(t)
	c, err := New(ctx, Compiler{Kind: Host, Path: path, WorkDir: t.TempDir(), Cache: putFails{pipeline.NewMemCache()}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Compile(ctx, Job{Files: []datasets.File{{Path: "m.cpp", Content: hostProg}}, Sources: []string{"m.cpp"}})
	if err != nil || !out.Result.OK || out.Binary == "" {
		t.Fatalf("%+v %v", out.Result, err)
	}
}
