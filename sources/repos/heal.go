package repos

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"kforge/pipeline"
)

// A mirror or a checkout in the cache can be damaged (a disk error, a
// truncated write, a killed copy, someone's editor): kforge checks them
// rather than trusting them forever. A mirror is checked with `git fsck`
// whenever git fails on it, and re-cloned from its URL (upstream, or the
// local path) when damaged; a checkout records its tree and is compared
// with it, file by file, before its first use in a process.

// errDamaged marks a mirror or checkout found damaged and rebuilt.
var errDamaged = errors.New("damaged")

// checkMirror runs `git fsck` on a mirror: nil when it is sound.
func checkMirror(ctx context.Context, dir string) error {
	_, err := git(ctx, dir, "fsck", "--no-progress", "--no-dangling", "--full")
	return err
}

// healMirror is called after git failed on the mirror of url: it checks the
// mirror and, when damaged, replaces it with a fresh clone of url. It
// reports whether it rebuilt the mirror; a sound mirror (the failure was
// elsewhere: an unreachable upstream, an unknown ref) is left alone.
func healMirror(ctx context.Context, cacheDir, url string, offline bool) (bool, error) {
	dir := filepath.Join(cacheDir, "git", mirrorName(url))
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		return false, nil // no mirror: nothing to repair
	}
	mu, _ := mirrorLocks.LoadOrStore(dir, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	ferr := checkMirror(ctx, dir)
	if ferr == nil || ctx.Err() != nil {
		return false, nil
	}
	if offline && !isLocal(url) {
		return false, fmt.Errorf("mirror of %s is damaged and offline forbids re-cloning it: %w", redact(url), ferr)
	}
	tmp, err := pipeline.MkdirTemp(filepath.Dir(dir), "clone")
	if err != nil {
		return false, fmt.Errorf("rebuild mirror: %w", err)
	}
	defer os.RemoveAll(tmp)
	// --no-hardlinks: a local clone must not share object files with the
	// damaged copy's source.
	if _, err := git(ctx, "", "clone", "--mirror", "--quiet", "--no-hardlinks", url, filepath.Join(tmp, "m")); err != nil {
		return false, fmt.Errorf("mirror of %s is damaged (%v) and re-cloning failed: %w", redact(url), ferr, err)
	}
	if err := swapDir(filepath.Join(tmp, "m"), dir); err != nil {
		return false, fmt.Errorf("rebuild mirror of %s: %w", redact(url), err)
	}
	return true, nil
}

// swapDir puts the directory fresh in place of dst, removing the old one.
func swapDir(fresh, dst string) error {
	old, err := os.MkdirTemp(filepath.Dir(dst), ".damaged-*")
	if err != nil {
		return err
	}
	if err := os.Remove(old); err != nil {
		return err
	}
	if err := os.Rename(dst, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(fresh, dst); err != nil {
		return err
	}
	makeWritable(old)
	return os.RemoveAll(old)
}

// makeWritable lets RemoveAll remove read-only checkouts' directories.
func makeWritable(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

// checkoutMarker is the file that makes a checkout complete; it holds the
// treeish and the tree it was extracted from.
const checkoutMarker = ".kforge-checkout"

// treeOf returns the tree id of treeish in mirror.
func treeOf(ctx context.Context, mirror, treeish string) (string, error) {
	spec := treeish + "^{tree}"
	if strings.Contains(treeish, ":") {
		spec = treeish // commit:subdir names a tree already
	}
	out, err := git(ctx, mirror, "rev-parse", "--verify", "--quiet", "--end-of-options", spec)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// verified remembers the checkouts found sound in this process.
var verified sync.Map // dst → *checkoutState

type checkoutState struct {
	mu sync.Mutex
	ok bool
}

// checkoutSound reports whether the checkout at dst is complete and holds
// exactly the tree its marker records: every file with its blob's content
// and mode class, nothing missing, nothing extra. It is checked once per
// process; a damaged checkout is removed and reported as not sound.
func checkoutSound(ctx context.Context, mirror, dst string) (bool, error) {
	st, _ := verified.LoadOrStore(dst, &checkoutState{})
	cs := st.(*checkoutState)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.ok {
		return true, nil
	}
	marker, err := os.ReadFile(filepath.Join(dst, checkoutMarker))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var tree string
	for _, l := range strings.Split(string(marker), "\n") {
		if t, ok := strings.CutPrefix(l, "tree "); ok {
			tree = strings.TrimSpace(t)
		}
	}
	problem := "no tree recorded (made by an older kforge)"
	if hex40.MatchString(tree) {
		es, err := listTree(ctx, mirror, tree, "")
		if err != nil {
			return false, err // the mirror's fault: the caller repairs it
		}
		problem = compareCheckout(dst, es)
	}
	if problem == "" {
		cs.ok = true
		return true, nil
	}
	if err := removeCheckout(dst); err != nil {
		return false, fmt.Errorf("checkout %s is damaged (%s) and cannot be removed: %w", dst, problem, err)
	}
	return false, fmt.Errorf("%w: %s", errDamaged, problem)
}

// removeCheckout moves a damaged checkout aside and removes it.
func removeCheckout(dst string) error {
	old, err := os.MkdirTemp(filepath.Dir(dst), ".damaged-*")
	if err != nil {
		return err
	}
	os.Remove(old)
	if err := os.Rename(dst, old); err != nil {
		return err
	}
	makeWritable(old)
	return os.RemoveAll(old)
}

// markChecked records that dst was just made from its tree.
func markChecked(dst string) {
	st, _ := verified.LoadOrStore(dst, &checkoutState{})
	cs := st.(*checkoutState)
	cs.mu.Lock()
	cs.ok = true
	cs.mu.Unlock()
}

// compareCheckout compares the files under dir with the tree entries es,
// as untar extracts them; it returns "" when they agree, else the first
// difference.
func compareCheckout(dir string, es []treeEntry) string {
	want := map[string]treeEntry{}
	for _, e := range es {
		want[filepath.FromSlash(e.Path)] = e
	}
	problem := ""
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() || rel == checkoutMarker {
			return nil
		}
		e, ok := want[rel]
		if !ok {
			problem = "unexpected file " + rel
			return fs.SkipAll
		}
		var content []byte
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			if e.Mode != "120000" {
				problem = rel + " is a symlink"
				return fs.SkipAll
			}
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			content = []byte(target)
		case d.Type().IsRegular():
			if e.Mode == "120000" || e.Mode == "160000" {
				problem = rel + " is a regular file"
				return fs.SkipAll
			}
			if content, err = os.ReadFile(p); err != nil {
				return err
			}
		default:
			problem = rel + " is not a file"
			return fs.SkipAll
		}
		if h := blobHash(content); h != e.Blob {
			problem = fmt.Sprintf("%s has blob %s, the tree %s", rel, h[:12], e.Blob[:min(12, len(e.Blob))])
			return fs.SkipAll
		}
		return nil
	})
	if err != nil {
		return err.Error()
	}
	if problem != "" {
		return problem
	}
	// Entries untar leaves out: submodules and symlinks leaving the tree.
	for rel, e := range want {
		if _, err := os.Lstat(filepath.Join(dir, rel)); err == nil {
			continue
		}
		if e.Mode != "160000" && e.Mode != "120000" {
			return "missing file " + rel
		}
	}
	return ""
}

// blobHash is git's SHA-1 object id of a blob with this content.
func blobHash(b []byte) string {
	h := sha1.New()
	io.WriteString(h, "blob "+strconv.Itoa(len(b))+"\x00")
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// mustList lists a tree, or nothing when git cannot (every file of the
// extraction then reads as unexpected, and the checkout is refused).
func mustList(ctx context.Context, mirror, tree string) []treeEntry {
	es, _ := listTree(ctx, mirror, tree, "")
	return es
}
