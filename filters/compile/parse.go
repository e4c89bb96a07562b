package compile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"kforge/pipeline"
)

// Parsed is the compiler front end's view of a translation unit: its AST as
// JSON (clang's -ast-dump=json), or the diagnostics that stopped it.
type Parsed struct {
	OK  bool   `json:"ok"`
	Log string `json:"log,omitempty"`
	// AST is the JSON dump of the declarations whose name contains Filter
	// (clang prints one JSON value per matching top-level declaration).
	AST []byte `json:"ast,omitempty"`
}

// maxAST bounds a parse's dump: a region's declarations, not a whole program.
const maxAST = 64 << 20

// Parse runs the HIP front end (hipcc's clang, device side) over source,
// a translation unit written as file path among job's files, and dumps the
// AST of the declarations named like filter. Only a hipcc compiler parses:
// the AST is clang's. Results are cached by content like compiles.
func (c *Compiler) Parse(ctx context.Context, job Job, path, filter string) (Parsed, error) {
	return c.frontEnd(ctx, job, path, "dump", "-ast-dump=json", "-ast-dump-filter="+filter)
}

// Names runs the same front end over the translation unit and lists the
// qualified name of every declaration in it, headers included (clang's
// -ast-list, one name a line, in Parsed.AST): what the unit declares at
// file scope, which a region's own names must not collide with.
func (c *Compiler) Names(ctx context.Context, job Job, path string) (Parsed, error) {
	return c.frontEnd(ctx, job, path, "names", "-ast-list")
}

// frontEnd runs one clang front-end action (-Xclang actions) over path,
// confined and cached like compiles.
func (c *Compiler) frontEnd(ctx context.Context, job Job, path, what string, action ...string) (Parsed, error) {
	if c.Kind != HIPCC {
		return Parsed{}, fmt.Errorf("compile: parsing needs hipcc (clang's front end), not %s", c.Kind)
	}
	key := pipeline.NewKey("parse", c.Key(job), path, what, action)
	v, _, err := pipeline.Cached(ctx, c.Cache, key, func(ctx context.Context) (Parsed, error) {
		dir, err := c.buildDir(job)
		if err != nil {
			return Parsed{}, err
		}
		defer os.RemoveAll(dir)
		if _, err := safeJoin(dir, path); err != nil {
			return Parsed{}, err
		}
		args := []string{"--offload-arch=" + c.Archs[0], "--cuda-device-only", "-fsyntax-only", "-Wno-unused-command-line-argument"}
		for _, a := range action {
			args = append(args, "-Xclang", a)
		}
		args = append(args, "-I"+dir)
		for _, d := range job.IncludeDirs {
			args = append(args, "-I"+d)
		}
		args = append(args, parseFlags(job.Flags)...)
		args = append(args, filepath.Join(dir, path))
		var out bytes.Buffer
		r, err := c.run(ctx, job, dir, args, &limited{w: &out, max: maxAST})
		if err != nil {
			return Parsed{}, err
		}
		p := Parsed{Log: r.result.Log}
		if r.failed {
			return p, nil
		}
		if out.Len() >= maxAST {
			p.Log = fmt.Sprintf("the front end's output is larger than %d bytes", maxAST)
			return p, nil
		}
		p.OK, p.AST = true, bytes.Clone(out.Bytes())
		return p, nil
	})
	if errors.Is(err, pipeline.ErrNotStored) {
		err = nil // a right result the cache could not keep
	}
	return v, err
}

// parseFlags keeps the flags that change what the source means (defines,
// language standard, include paths), not code generation or remarks.
func parseFlags(flags []string) []string {
	var out []string
	for _, f := range flags {
		switch {
		case len(f) > 2 && (f[:2] == "-D" || f[:2] == "-U" || f[:2] == "-I"),
			len(f) > 5 && f[:5] == "-std=",
			f == "-ffast-math", f == "-fno-exceptions":
			out = append(out, f)
		}
	}
	return out
}

// limited writes at most max bytes to w and drops the rest.
type limited struct {
	w   *bytes.Buffer
	max int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.max - l.w.Len(); room > 0 {
		if len(p) > room {
			l.w.Write(p[:room])
		} else {
			l.w.Write(p)
		}
	}
	return len(p), nil
}
