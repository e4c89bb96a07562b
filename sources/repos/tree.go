package repos

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// maxFileBytes bounds what a miner reads: bigger files are generated tables
// or data, never a hand-written example.
const maxFileBytes = 2 << 20

// Reasons a file is not read; they are counted in Result.Skipped.
var (
	errMissing     = errors.New("missing file")
	errSymlinkOut  = errors.New("symlink pointing outside the repository")
	errHuge        = errors.New("file too large")
	errBinary      = errors.New("binary file")
	errSubmodule   = errors.New("submodule")
	errSymlinkLoop = errors.New("symlink chain too long")
)

// tree is one repository's project root at one commit, read from the mirror.
type tree struct {
	repo, commit, subdir string
	entries              map[string]treeEntry
	paths                []string // sorted
	br                   *blobReader
	rootLicense          []byte // license text at the repository root, when subdir is set
	rootLicenseBlob      string

	// gitErr is the first failure reading a blob the tree lists: the mirror
	// is damaged, and mining it must fail rather than skip the file.
	gitMu  sync.Mutex
	gitErr error
}

// readBlob reads a blob the tree lists, remembering a failure.
func (t *tree) readBlob(sha string) ([]byte, error) {
	b, err := t.br.Read(sha)
	if err != nil {
		t.gitMu.Lock()
		if t.gitErr == nil {
			t.gitErr = err
		}
		t.gitMu.Unlock()
	}
	return b, err
}

// failure is the first blob the tree could not read, if any.
func (t *tree) failure() error {
	t.gitMu.Lock()
	defer t.gitMu.Unlock()
	return t.gitErr
}

func newTree(repo, commit, subdir string, es []treeEntry, br *blobReader) *tree {
	t := &tree{repo: repo, commit: commit, subdir: subdir, entries: make(map[string]treeEntry, len(es)), br: br}
	for _, e := range es {
		t.entries[e.Path] = e
		t.paths = append(t.paths, e.Path)
	}
	sort.Strings(t.paths)
	return t
}

// resolve follows symlinks inside the tree and returns the entry a path
// names. A link whose target leaves the project root is refused.
func (t *tree) resolve(p string) (treeEntry, error) {
	for range 8 {
		e, ok := t.entries[p]
		if !ok {
			return treeEntry{}, fmt.Errorf("%s: %w", p, errMissing)
		}
		switch e.Mode {
		case "160000":
			return e, fmt.Errorf("%s: %w", p, errSubmodule)
		case "120000":
			target, err := t.readBlob(e.Blob)
			if err != nil {
				return e, err
			}
			tp := string(target)
			next := path.Clean(path.Join(path.Dir(p), tp))
			if path.IsAbs(tp) || next == ".." || strings.HasPrefix(next, "../") {
				return e, fmt.Errorf("%s -> %s: %w", p, tp, errSymlinkOut)
			}
			p = next
			continue
		}
		return e, nil
	}
	return treeEntry{}, fmt.Errorf("%s: %w", p, errSymlinkLoop)
}

// read returns a text file's content, refusing huge and binary files.
func (t *tree) read(p string) ([]byte, treeEntry, error) {
	e, err := t.resolve(p)
	if err != nil {
		return nil, e, err
	}
	if e.Size > maxFileBytes {
		return nil, e, fmt.Errorf("%s (%d bytes): %w", p, e.Size, errHuge)
	}
	b, err := t.readBlob(e.Blob)
	if err != nil {
		return nil, e, err
	}
	if looksBinary(b) {
		return nil, e, fmt.Errorf("%s: %w", p, errBinary)
	}
	return b, e, nil
}

// view is one program's window on the tree: it remembers every path it
// looked at and the blob it found there ("" for absent), so a cached result
// can be reused exactly when none of them changed.
type view struct {
	t    *tree
	deps map[string]string
}

func (t *tree) view() *view { return &view{t: t, deps: map[string]string{}} }

func (v *view) note(p string) string {
	e, ok := v.t.entries[p]
	blob := ""
	if ok {
		blob = e.Blob
	}
	v.deps[p] = blob
	return blob
}

// exists reports whether p is a file in the tree.
func (v *view) exists(p string) bool { return v.note(p) != "" }

// read reads p and records it as a dependency.
func (v *view) read(p string) ([]byte, error) {
	v.note(p)
	b, e, err := v.t.read(p)
	if e.Path != "" && e.Path != p {
		v.note(e.Path)
	}
	return b, err
}

// blob is the blob id of p ("" when absent), recorded as a dependency.
func (v *view) blob(p string) string { return v.note(p) }

// reason turns a read error into a short skip reason.
func reason(err error) string {
	for _, e := range []error{errSymlinkOut, errHuge, errBinary, errSubmodule, errMissing, errSymlinkLoop} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "unreadable file"
}

// hasDir reports whether any file lies under dir, recorded as a dependency.
func (v *view) hasDir(dir string) bool {
	ok := v.t.hasDir(dir)
	v.deps["dir:"+dir] = strconv.FormatBool(ok)
	return ok
}

// depsHold reports whether every dependency recorded by a view still has
// the same blob (or presence) in t.
func (t *tree) depsHold(deps map[string]string) bool {
	for p, want := range deps {
		if d, ok := strings.CutPrefix(p, "dir:"); ok {
			if strconv.FormatBool(t.hasDir(d)) != want {
				return false
			}
			continue
		}
		if t.entries[p].Blob != want {
			return false
		}
	}
	return true
}
