package compile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"kforge/datasets"
	"kforge/filters/sandbox"
	"kforge/pipeline"
)

// Generate is a job's pre-build generation step (datasets.GenerateStep with
// the checkout resolved): the generator's directory is copied from the
// checkout into the build directory, the job's files are written over it,
// and Interpreter runs Script there, confined like the compiler (no
// network, the build directory the only writable place). The files it
// writes into OutDir that match Outputs are compiled with the job's sources.
type Generate struct {
	Interpreter string   // a name looked up on PATH (python3) or a path
	TreeDir     string   // absolute: the generator's directory in the checkout
	Tree        string   // where TreeDir goes, relative to the build directory
	Script      string   // relative to the build directory
	Args        []string // the script's arguments
	OutDir      string   // relative to the build directory
	Outputs     []string // path.Match patterns of OutDir's files to compile
}

// Limits of a generation step: what it copies and what it may write.
const (
	maxTreeFiles  = 256
	maxTreeBytes  = 16 << 20
	maxGenSources = 64
)

// GenerateFrom resolves a recorded step against a checkout root.
func GenerateFrom(step *datasets.GenerateStep, root string) (*Generate, error) {
	for _, p := range append([]string{step.Tree, step.Script, step.OutDir}, step.Outputs...) {
		if p == "" || !filepath.IsLocal(p) {
			return nil, fmt.Errorf("compile: generate step path %q leaves the build directory", p)
		}
	}
	if !strings.HasPrefix(step.Script, strings.TrimSuffix(step.Tree, "/")+"/") {
		return nil, fmt.Errorf("compile: generate script %q is not under its tree %q", step.Script, step.Tree)
	}
	if step.Interpreter == "" || len(step.Outputs) == 0 {
		return nil, errors.New("compile: generate step without an interpreter or outputs")
	}
	return &Generate{Interpreter: step.Interpreter, TreeDir: filepath.Join(root, step.Tree), Tree: step.Tree,
		Script: step.Script, Args: step.Args, OutDir: step.OutDir, Outputs: step.Outputs}, nil
}

// keyParts are what a generation's outputs depend on beyond the job's files
// and the checkout's commit (the job's salt): the step and the interpreter.
func (c *Compiler) genKey(g *Generate) []any {
	if g == nil {
		return nil
	}
	return []any{"generate", g.Tree, g.Script, g.Args, g.OutDir, g.Outputs, interpreterVersion(g.Interpreter)}
}

var interpVersions sync.Map // interpreter -> version line

// interpreterVersion is `INTERP --version`, once per process ("" when it
// cannot run: the generation then fails with the reason).
func interpreterVersion(interp string) string {
	if v, ok := interpVersions.Load(interp); ok {
		return v.(string)
	}
	p, err := exec.LookPath(interp)
	if err != nil {
		return ""
	}
	cmd := exec.Command(p, "--version")
	cmd.Env = sandbox.CompilerEnv(os.TempDir())
	out, err := cmd.CombinedOutput()
	v := strings.TrimSpace(string(out))
	if err != nil {
		v = ""
	}
	interpVersions.Store(interp, v)
	return v
}

// copyTree copies the regular files under g.TreeDir into dir/g.Tree (links
// and other files are left out; bounded in count and size).
func copyTree(g *Generate, dir string) error {
	n, size := 0, int64(0)
	return filepath.WalkDir(g.TreeDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("compile: generator tree: %w", err)
		}
		if !d.Type().IsRegular() && !d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(g.TreeDir, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dir, g.Tree, rel)
		if d.IsDir() {
			if d.Name() == "__pycache__" {
				return filepath.SkipDir
			}
			return os.MkdirAll(to, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n++
		size += info.Size()
		if n > maxTreeFiles || size > maxTreeBytes {
			return fmt.Errorf("compile: generator tree %s holds more than %d files or %d bytes", g.Tree, maxTreeFiles, maxTreeBytes)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("compile: generator tree: %w", err)
		}
		return os.WriteFile(to, b, 0o644)
	})
}

// generate runs job's generation step in dir and returns the sources it
// wrote (relative to dir, sorted), or failed with the log when the
// generator failed or wrote none of an expected output: the inputs' fault,
// a result like a compile error. An error is the machine's.
func (c *Compiler) generate(ctx context.Context, job Job, dir string) (srcs []string, failed *ran, err error) {
	g := job.Generate
	interp, lerr := exec.LookPath(g.Interpreter)
	if lerr != nil {
		return nil, nil, fmt.Errorf("compile: %w: generate: %s not found: %v", pipeline.ErrMachine, g.Interpreter, lerr)
	}
	if err := os.MkdirAll(filepath.Join(dir, g.OutDir), 0o755); err != nil {
		return nil, nil, fmt.Errorf("compile: %w", err)
	}
	// -E: no PYTHON* variables, -s: no user site, -B: no bytecode written
	// next to the sources (python interpreters; others get the args as is).
	args := []string{}
	if strings.HasPrefix(filepath.Base(g.Interpreter), "python") {
		args = append(args, "-E", "-s", "-B")
	}
	args = append(append(args, g.Script), g.Args...)
	r, err := c.runTool(ctx, job, dir, interp, args)
	if err != nil {
		return nil, nil, err
	}
	if r.failed {
		r.result.Log = Trim("generate: "+g.Script+" failed:\n"+r.text, 8000)
		return nil, &r, nil
	}
	ents, err := os.ReadDir(filepath.Join(dir, g.OutDir))
	if err != nil {
		return nil, nil, fmt.Errorf("compile: generate: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	for _, pat := range g.Outputs {
		hit := false
		for _, n := range names {
			if ok, _ := path.Match(pat, n); ok {
				hit = true
				if !slices.Contains(srcs, path.Join(g.OutDir, n)) {
					srcs = append(srcs, path.Join(g.OutDir, n))
				}
			}
		}
		if !hit {
			r.result.Log = Trim(fmt.Sprintf("generate: %s wrote no file matching %q in %s (it wrote %d: %s)\n%s", g.Script, pat, g.OutDir, len(names), strings.Join(first(names, 8), " "), r.text), 8000)
			return nil, &r, nil
		}
	}
	if len(srcs) > maxGenSources {
		r.result.Log = fmt.Sprintf("generate: %s wrote %d sources to build, more than %d", g.Script, len(srcs), maxGenSources)
		return nil, &r, nil
	}
	slices.Sort(srcs)
	return srcs, nil, nil
}

func first(xs []string, n int) []string {
	if len(xs) > n {
		return xs[:n]
	}
	return xs
}

// runTool runs a build tool other than the compiler (a generator) in dir,
// confined as the compiler is: its own tree readable, no network.
func (c *Compiler) runTool(ctx context.Context, job Job, dir, prog string, args []string) (ran, error) {
	real, err := filepath.EvalSymlinks(prog)
	if err != nil {
		real = prog
	}
	readable := []string{filepath.Dir(filepath.Dir(prog)), filepath.Dir(filepath.Dir(real))}
	return c.execConfined(ctx, job, dir, prog, args, readable, nil, "generate", func(s string) string { return s })
}

// Generated is a generation step's outcome on its own (no compile).
type Generated struct {
	OK bool
	// Sources are the written files to compile (relative to the build
	// directory) and Contents theirs.
	Sources  []string
	Contents map[string]string
	Log      string
}

// Generated runs job's generation step alone, as a build would before
// compiling, and returns what it wrote (the step checked, never cached).
func (c *Compiler) Generated(ctx context.Context, job Job) (Generated, error) {
	if job.Generate == nil {
		return Generated{}, errors.New("compile: the job has no generate step")
	}
	dir, err := c.buildDir(job)
	if err != nil {
		return Generated{}, err
	}
	defer os.RemoveAll(dir)
	srcs, failed, err := c.generate(ctx, job, dir)
	if err != nil {
		return Generated{}, err
	}
	if failed != nil {
		return Generated{Log: failed.result.Log}, nil
	}
	out := Generated{OK: true, Sources: srcs, Contents: map[string]string{}}
	for _, s := range srcs {
		b, err := os.ReadFile(filepath.Join(dir, s))
		if err != nil {
			return Generated{}, fmt.Errorf("compile: %w", err)
		}
		out.Contents[s] = string(b)
	}
	return out, nil
}
