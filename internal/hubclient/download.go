package hubclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"kforge/pipeline"
)

// Download fetches the Parquet files of dataset repo at revision into
// cacheDir, once, and returns their local paths (sorted by repo path). It
// uses the environment's token and endpoint (HF_TOKEN, HF_HOME, HF_ENDPOINT)
// and works without a token for public datasets.
func Download(ctx context.Context, repo, revision, cacheDir string) ([]string, error) {
	c, err := NewClient(ClientOptions{Anonymous: true})
	if err != nil {
		return nil, err
	}
	return c.Download(ctx, repo, revision, cacheDir)
}

// Download fetches the Parquet files of dataset repo at revision into
// cacheDir/datasets/ORG/NAME/<commit>/, resolving a branch or tag to its
// commit first so the cache is keyed by what was read. Files already cached
// (written only after their checksum matched) are not fetched again.
func (c *Client) Download(ctx context.Context, repo, revision, cacheDir string) (paths []string, err error) {
	defer func() { err = c.tok.redactErr(err) }()
	if _, _, err := SplitRepo(repo); err != nil {
		return nil, err
	}
	if revision == "" {
		revision = "main"
	}
	sha := revision
	if !oidRe.MatchString(revision) {
		st, head, err := c.Head(ctx, repo, revision)
		if err != nil {
			return nil, fmt.Errorf("download %s@%s: %w", repo, revision, err)
		}
		if st != RepoReady {
			return nil, fmt.Errorf("download %s@%s: repository or revision not found (or no access)", repo, revision)
		}
		sha = head
	}
	sha = strings.ToLower(sha)
	root := filepath.Join(cacheDir, "datasets", filepath.FromSlash(repo), sha)
	tree, err := c.Tree(ctx, repo, sha)
	if err != nil {
		return nil, fmt.Errorf("download %s@%s: %w", repo, revision, err)
	}
	sort.Slice(tree, func(i, j int) bool { return tree[i].Path < tree[j].Path })
	for _, e := range tree {
		if e.Type != "file" || !strings.HasSuffix(e.Path, ".parquet") {
			continue
		}
		clean := path.Clean(e.Path)
		if clean != e.Path || strings.HasPrefix(clean, "../") || path.IsAbs(clean) {
			return nil, fmt.Errorf("download %s@%s: unsafe path %q in the listing", repo, revision, e.Path)
		}
		dst := filepath.Join(root, filepath.FromSlash(clean))
		size, want := e.Size, ""
		if e.LFS != nil {
			size, want = e.LFS.Size, e.LFS.OID
		}
		if st, err := os.Stat(dst); err == nil && st.Size() == size {
			paths = append(paths, dst)
			continue
		}
		if err := c.fetchFile(ctx, "/datasets/"+repoPath(repo), sha, e.Path, dst, size, want); err != nil {
			return nil, fmt.Errorf("download %s@%s: %w", repo, revision, err)
		}
		paths = append(paths, dst)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("download %s@%s: no Parquet files", repo, revision)
	}
	return paths, nil
}

// fetchFile downloads one file via the resolve URL under prefix
// ("/datasets/ORG/NAME", or "/ORG/NAME" for a model), which may redirect to
// a CDN (Go's client drops the token on a cross-host redirect), and writes it
// atomically after checking its size and, for LFS files, its sha256.
func (c *Client) fetchFile(ctx context.Context, prefix, sha, p, dst string, size int64, sha256hex string) error {
	u := c.apiURL(prefix + "/resolve/" + revEscape(sha) + "/" + pathEscape(p))
	return pipeline.WriteAtomic(dst, 0o644, func(f *os.File) error {
		_, err := c.do(ctx, request{op: "download " + p, method: http.MethodGet, url: u, retry: true,
			sink: func(hr *http.Response) error {
				if err := f.Truncate(0); err != nil {
					return err
				}
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					return err
				}
				h := sha256.New()
				// Never more than the listing said (and one byte to notice
				// more): a host cannot fill the disk.
				n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(hr.Body, size+1))
				if err != nil {
					return err
				}
				if n != size {
					return fmt.Errorf("%s: got %d bytes, want %d", p, n, size)
				}
				if sha256hex != "" && hex.EncodeToString(h.Sum(nil)) != sha256hex {
					return fmt.Errorf("%s: sha256 mismatch", p)
				}
				return nil
			}})
		return err
	})
}

// ModelFile fetches one file of model repository repo (e.g. a model's
// tokenizer.json) at revision into cacheDir/models/ORG/NAME/<commit>/, once,
// and returns its local path. A branch or tag is resolved to its commit
// first, so the cache is keyed by what was read; the file's size (and, for
// an LFS file, its sha256) is checked before it is kept.
func (c *Client) ModelFile(ctx context.Context, repo, revision, file, cacheDir string) (local string, err error) {
	defer func() { err = c.tok.redactErr(err) }()
	if _, _, err := SplitRepo(repo); err != nil {
		return "", err
	}
	clean := path.Clean(file)
	if clean != file || clean == "." || strings.HasPrefix(clean, "../") || path.IsAbs(clean) {
		return "", fmt.Errorf("model file %q: want a relative path inside the repository", file)
	}
	if revision == "" {
		revision = "main"
	}
	sha := strings.ToLower(revision)
	if !oidRe.MatchString(revision) {
		st, head, err := c.head(ctx, "models", repo, revision)
		if err != nil {
			return "", fmt.Errorf("download %s@%s: %w", repo, revision, err)
		}
		if st != RepoReady {
			return "", fmt.Errorf("download %s@%s: model repository or revision not found (or no access)", repo, revision)
		}
		sha = head
	}
	dst := filepath.Join(cacheDir, "models", filepath.FromSlash(repo), sha, filepath.FromSlash(clean))
	u := c.apiURL("/api/models/" + repoPath(repo) + "/tree/" + revEscape(sha))
	if dir := path.Dir(clean); dir != "." {
		u += "/" + pathEscape(dir)
	}
	entries, err := c.tree(ctx, u+"?recursive=false&expand=false")
	if err != nil {
		return "", fmt.Errorf("download %s@%s: %w", repo, revision, err)
	}
	for _, e := range entries {
		if e.Type != "file" || e.Path != clean {
			continue
		}
		size, want := e.Size, ""
		if e.LFS != nil {
			size, want = e.LFS.Size, e.LFS.OID
		}
		if st, err := os.Stat(dst); err == nil && st.Size() == size {
			return dst, nil
		}
		if err := c.fetchFile(ctx, "/"+repoPath(repo), sha, clean, dst, size, want); err != nil {
			return "", fmt.Errorf("download %s@%s: %w", repo, revision, err)
		}
		return dst, nil
	}
	return "", fmt.Errorf("download %s@%s: no file %s", repo, revision, clean)
}
