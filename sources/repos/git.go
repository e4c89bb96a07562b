package repos

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	credentials "kforge/internal/redact"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"kforge/datasets"
	"kforge/pipeline"
)

// git runs the git command line in dir (a bare mirror or "") and returns stdout.
func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	if dir != "" {
		args = append([]string{"--git-dir", dir}, args...)
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	// Never prompt for credentials: a private or missing URL must fail, not hang.
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=true", "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 400 {
			msg = msg[:400] + "…"
		}
		return nil, fmt.Errorf("git %s: %w: %s", redact(strings.Join(args, " ")), err, redact(msg))
	}
	return out.Bytes(), nil
}

var userinfoRe = regexp.MustCompile(`(://)[^/@\s]+@`)

// redact hides credentials embedded in URLs (https://user:token@host/…),
// with kforge's one redaction function.
func redact(s string) string { return credentials.Text(s) }

// hasCredentials reports whether url embeds a user name or token; such URLs
// are refused, because git would store them in the mirror's config file.
func hasCredentials(url string) bool {
	return userinfoRe.MatchString(url) && !strings.HasPrefix(url, "ssh://")
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// mirrorName turns a URL or path into one safe directory name.
func mirrorName(url string) string {
	s := strings.TrimSuffix(strings.TrimRight(url, "/"), ".git")
	for _, p := range []string{"https://", "http://", "ssh://", "git://", "file://"} {
		s = strings.TrimPrefix(s, p)
	}
	s = strings.Trim(unsafeChars.ReplaceAllString(s, "+"), "+.")
	if len(s) > 100 {
		s = s[len(s)-100:]
	}
	return s + "-" + datasets.Hash("mirror", url)[:8]
}

// isLocal reports whether url names a directory on this machine.
func isLocal(url string) bool {
	if strings.HasPrefix(url, "file://") {
		return true
	}
	if strings.Contains(url, "://") || (strings.Contains(url, ":") && !strings.HasPrefix(url, "/") && !strings.HasPrefix(url, ".")) {
		return false
	}
	fi, err := os.Stat(url)
	return err == nil && fi.IsDir()
}

// normaliseURL makes a local path absolute so the mirror and the provenance
// do not depend on the working directory.
func normaliseURL(url string) string {
	if isLocal(url) && !strings.HasPrefix(url, "file://") {
		if abs, err := filepath.Abs(url); err == nil {
			return abs
		}
	}
	return url
}

// stripUserinfo removes a user name and password from a URL
// (https://user:token@host/x -> https://host/x).
func stripUserinfo(url string) string { return userinfoRe.ReplaceAllString(url, "${1}") }

// upstreamURL is the URL of a local checkout's origin remote, without
// credentials, or "" when url is not local or has no origin: tasks mined
// from a local clone record where its history came from.
func upstreamURL(ctx context.Context, url string) string {
	if !isLocal(url) {
		return ""
	}
	dir := strings.TrimPrefix(url, "file://")
	out, err := git(ctx, "", "-C", dir, "remote", "get-url", "origin")
	if err != nil {
		return ""
	}
	up := strings.TrimSpace(string(out))
	if up == "" || isLocal(up) || strings.ContainsAny(up, "\n\r") {
		return "" // a clone of another local directory names no upstream
	}
	return stripUserinfo(up)
}

// upstreamKey is the mirror config key that records the upstream URL of a
// local checkout's mirror, so Checkout finds the mirror by the URL tasks record.
const upstreamKey = "kforge.upstream"

// mirrorFor returns the mirror of repo under cacheDir/git that holds commit:
// the mirror named after repo, else a local checkout's mirror whose
// recorded upstream is repo.
func mirrorFor(ctx context.Context, cacheDir, repo, commit string) (string, error) {
	own := filepath.Join(cacheDir, "git", mirrorName(repo))
	hasCommit := func(m string) bool {
		_, err := git(ctx, m, "cat-file", "-e", commit+"^{commit}")
		return err == nil
	}
	_, statErr := os.Stat(filepath.Join(own, "HEAD"))
	if statErr == nil && hasCommit(own) {
		return own, nil
	}
	all, _ := filepath.Glob(filepath.Join(cacheDir, "git", "*", "HEAD"))
	for _, h := range all {
		m := filepath.Dir(h)
		if out, err := git(ctx, m, "config", "--get", upstreamKey); err == nil && strings.TrimSpace(string(out)) == repo && hasCommit(m) {
			return m, nil
		}
	}
	if statErr == nil {
		return own, nil // let git archive say what is missing
	}
	return "", statErr
}

// mirrorLocks serialises mirror updates within this process; across
// processes git's own ref locks and the atomic rename of a fresh clone protect it.
var mirrorLocks sync.Map

// ensureMirrorOpt makes or updates the bare mirror of url under cacheDir/git and
// returns its path. Offline, the existing mirror is used as is.
//
// partial clones a new mirror without blobs (--filter=blob:none), for a
// project inside a large monorepo (see sparse.go).
func ensureMirrorOpt(ctx context.Context, cacheDir, url string, offline, partial bool) (string, error) {
	dir := filepath.Join(cacheDir, "git", mirrorName(url))
	mu, _ := mirrorLocks.LoadOrStore(dir, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	// A clone a killed process left half done is removed (its maker is
	// gone); one another live process is making stays.
	pipeline.SweepTempDir(filepath.Dir(dir), pipeline.TempMaxAge)
	_, statErr := os.Stat(filepath.Join(dir, "HEAD"))
	exists := statErr == nil
	if offline {
		if !exists {
			return "", fmt.Errorf("offline and no mirror of %s in %s", url, dir)
		}
		return dir, nil
	}
	if exists {
		if _, err := git(ctx, dir, "fetch", "--prune", "--tags", "--force", "origin"); err != nil {
			return "", fmt.Errorf("update mirror of %s: %w", url, err)
		}
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("mirror dir: %w", err)
	}
	tmp, err := pipeline.MkdirTemp(filepath.Dir(dir), "clone")
	if err != nil {
		return "", fmt.Errorf("mirror dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	args := []string{"clone", "--mirror", "--quiet"}
	if partial && (!isLocal(url) || strings.HasPrefix(url, "file://")) {
		args = append(args, "--filter=blob:none")
	}
	if _, err := git(ctx, "", append(args, url, filepath.Join(tmp, "m"))...); err != nil {
		return "", fmt.Errorf("mirror %s: %w", url, err)
	}
	if err := os.Rename(filepath.Join(tmp, "m"), dir); err != nil {
		// Another process won the race: its mirror is as good as ours.
		if _, serr := os.Stat(filepath.Join(dir, "HEAD")); serr == nil {
			return dir, nil
		}
		return "", fmt.Errorf("mirror %s: %w", url, err)
	}
	return dir, nil
}

var hex40 = regexp.MustCompile(`^[0-9a-f]{40}$`)

// resolveRef turns a branch, tag or commit into a 40-hex commit id.
func resolveRef(ctx context.Context, mirror, ref string) (string, error) {
	if ref == "" {
		ref = "HEAD"
	}
	out, err := git(ctx, mirror, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("resolve %q: %w", ref, err)
	}
	c := strings.TrimSpace(string(out))
	if !hex40.MatchString(c) {
		return "", fmt.Errorf("resolve %q: unexpected %q", ref, c)
	}
	return c, nil
}

// treeEntry is one file of a commit's tree.
type treeEntry struct {
	Mode string // 100644, 100755, 120000 (symlink), 160000 (submodule)
	Blob string
	Size int64
	Path string // relative to the project root (subdir stripped)
}

// listTree lists every file under subdir at commit.
func listTree(ctx context.Context, mirror, commit, subdir string) ([]treeEntry, error) {
	args := []string{"ls-tree", "-r", "-l", "-z", "--full-tree", commit}
	if subdir != "" {
		args = append(args, "--", subdir)
	}
	out, err := git(ctx, mirror, args...)
	if err != nil {
		return nil, err
	}
	prefix := ""
	if subdir != "" {
		prefix = strings.Trim(subdir, "/") + "/"
	}
	var es []treeEntry
	for _, rec := range bytes.Split(out, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		meta, p, ok := bytes.Cut(rec, []byte{'\t'})
		if !ok {
			continue
		}
		f := strings.Fields(string(meta))
		if len(f) != 4 || f[1] == "tree" {
			continue
		}
		size, _ := strconv.ParseInt(f[3], 10, 64) // "-" for submodules
		rel, ok := strings.CutPrefix(string(p), prefix)
		if !ok {
			continue
		}
		es = append(es, treeEntry{Mode: f[0], Blob: f[2], Size: size, Path: rel})
	}
	return es, nil
}

// blobReader reads blobs from a mirror through one long-lived
// `git cat-file --batch`, so reading thousands of files costs one process.
type blobReader struct {
	mu   sync.Mutex
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	dead error
}

func newBlobReader(ctx context.Context, mirror string) (*blobReader, error) {
	cmd := exec.CommandContext(ctx, "git", "--git-dir", mirror, "cat-file", "--batch")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	return &blobReader{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<16)}, nil
}

// Read returns the content of blob sha.
func (r *blobReader) Read(sha string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dead != nil {
		return nil, r.dead
	}
	if _, err := io.WriteString(r.in, sha+"\n"); err != nil {
		r.dead = fmt.Errorf("git cat-file: %w", err)
		return nil, r.dead
	}
	head, err := r.out.ReadString('\n')
	if err != nil {
		r.dead = fmt.Errorf("git cat-file: %w", err)
		return nil, r.dead
	}
	f := strings.Fields(head)
	if len(f) != 3 {
		return nil, fmt.Errorf("git cat-file %s: %s", sha, strings.TrimSpace(head))
	}
	n, err := strconv.Atoi(f[2])
	if err != nil {
		return nil, fmt.Errorf("git cat-file %s: bad size %q", sha, f[2])
	}
	b := make([]byte, n+1) // content and a trailing newline
	if _, err := io.ReadFull(r.out, b); err != nil {
		r.dead = fmt.Errorf("git cat-file: %w", err)
		return nil, r.dead
	}
	return b[:n], nil
}

// Close ends the cat-file process.
func (r *blobReader) Close() error {
	r.in.Close()
	return r.cmd.Wait()
}

// Checkout returns a read-only checkout of src's repository at src.Commit,
// from the mirror in the cache, for builds that need the repository's files.
// The returned directory is the project root (src.Subdir inside the
// repository). It is made once, by extracting `git archive` into a temporary
// directory that is renamed into place, so concurrent callers (threads,
// processes, hosts on a shared cache) all see either nothing or a whole tree,
// and later callers reuse it.
//
// A checkout records the tree it was made from and is compared with it
// before its first use in a process; a damaged one is made again. When git
// fails on the mirror, the mirror is checked and, if damaged, re-cloned.
func Checkout(ctx context.Context, cacheDir string, src datasets.Source) (string, error) {
	dst, err := checkout(ctx, cacheDir, src)
	if err == nil || ctx.Err() != nil {
		return dst, err
	}
	if healed, herr := healMirror(ctx, cacheDir, src.Repo, false); herr != nil {
		return "", fmt.Errorf("%w; %w", err, herr)
	} else if !healed {
		return "", err
	}
	return checkout(ctx, cacheDir, src)
}

func checkout(ctx context.Context, cacheDir string, src datasets.Source) (string, error) {
	if !hex40.MatchString(src.Commit) {
		return "", fmt.Errorf("checkout: commit %q is not 40-hex", src.Commit)
	}
	sub := strings.Trim(path.Clean("/"+src.Subdir), "/")
	mirror, err := mirrorFor(ctx, cacheDir, src.Repo, src.Commit)
	if err != nil {
		return "", fmt.Errorf("checkout %s: no mirror in the cache (mine it first): %w", src.Repo, err)
	}
	name := src.Commit
	if sub != "" {
		name += "-" + unsafeChars.ReplaceAllString(sub, "+")
	}
	dst := filepath.Join(cacheDir, "checkouts", mirrorName(src.Repo), name)
	treeish := src.Commit
	if sub != "" {
		treeish += ":" + sub
	}
	if ok, err := checkoutSound(ctx, mirror, dst); ok {
		return dst, nil
	} else if err != nil && !errors.Is(err, errDamaged) {
		return "", fmt.Errorf("checkout %s: %w", treeish, err)
	}
	tree, err := treeOf(ctx, mirror, treeish)
	if err != nil {
		return "", fmt.Errorf("checkout %s: %w", treeish, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("checkout: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".tmp-"+name+"-*")
	if err != nil {
		return "", fmt.Errorf("checkout: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := rawAttributes(mirror); err != nil {
		return "", fmt.Errorf("checkout: %w", err)
	}
	cmd := exec.CommandContext(ctx, "git", "--git-dir", mirror, "archive", "--format=tar", treeish)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("checkout: git archive: %w", err)
	}
	xerr := untar(out, tmp)
	io.Copy(io.Discard, out)
	if werr := cmd.Wait(); werr != nil {
		return "", fmt.Errorf("checkout %s: git archive: %w: %s", treeish, werr, strings.TrimSpace(errb.String()))
	}
	if xerr != nil {
		return "", fmt.Errorf("checkout %s: %w", treeish, xerr)
	}
	if problem := compareCheckout(tmp, mustList(ctx, mirror, tree)); problem != "" {
		return "", fmt.Errorf("checkout %s: the extracted tree does not match %s: %s", treeish, tree, problem)
	}
	if err := os.WriteFile(filepath.Join(tmp, checkoutMarker), []byte(treeish+"\ntree "+tree+"\n"), 0o444); err != nil {
		return "", fmt.Errorf("checkout: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		if ok, _ := checkoutSound(ctx, mirror, dst); ok {
			return dst, nil // another caller finished first
		}
		return "", fmt.Errorf("checkout: %w", err)
	}
	markChecked(dst)
	return dst, nil
}

// rawAttributes makes git archive write blobs as they are: the repository's
// .gitattributes may convert line endings (eol=crlf), substitute keywords
// (export-subst) or leave files out (export-ignore), and then a checkout
// would neither match its tree nor hold what the task's files were read as.
// The mirror's info/attributes overrides the tree's.
func rawAttributes(mirror string) error {
	const line = "* -text -eol -filter -ident -export-subst -export-ignore\n"
	p := filepath.Join(mirror, "info", "attributes")
	if b, err := os.ReadFile(p); err == nil && string(b) == line {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return pipeline.WriteFileAtomic(p, []byte(line), 0o644)
}

// untar extracts a git archive into dir, files read-only. Entries that would
// land outside dir and symlinks that point outside it are refused.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("untar: %w", err)
		}
		name := path.Clean(h.Name)
		if name == "." || strings.HasPrefix(name, "../") || path.IsAbs(name) {
			if h.Typeflag == tar.TypeXGlobalHeader || name == "." {
				continue
			}
			return fmt.Errorf("untar: entry %q outside the tree", h.Name)
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			mode := os.FileMode(0o444)
			if h.Mode&0o111 != 0 {
				mode = 0o555
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, cerr := io.Copy(f, tr)
			f.Close()
			if cerr != nil {
				return cerr
			}
			if err := os.Chmod(p, mode); err != nil {
				return err
			}
		case tar.TypeSymlink:
			target := path.Clean(path.Join(path.Dir(name), h.Linkname))
			if path.IsAbs(h.Linkname) || target == ".." || strings.HasPrefix(target, "../") {
				continue // never let the checkout reach outside itself
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(h.Linkname, p); err != nil {
				return err
			}
		}
	}
}
