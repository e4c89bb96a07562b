package hub

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"kforge/internal/hubclient"
)

// localFile is one file of the release directory.
type localFile struct {
	Path    string // repo path, forward slashes
	Abs     string
	Size    int64
	SHA256  string // LFS oid
	GitSHA1 string // git blob id, the oid of a regular file
	Sample  []byte // first 512 bytes, for preupload
}

// sampleSize is what preupload wants of each file's head.
const sampleSize = 512

// scanRelease lists and hashes the release's files. Dot files and folders
// (including half-written temp files) are skipped; links and other
// non-regular files are refused. A file that contains the token is refused:
// nothing secret leaves through the card or the manifest.
func scanRelease(dir string, scan func() *hubclient.TokenScan) ([]*localFile, error) {
	var files []*localFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file (links are not published)", rel)
		}
		f, err := hashFile(p, rel, scan())
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", dir, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	if len(files) == 0 || !hasPath(files, "README.md") {
		return nil, fmt.Errorf("release %s: no README.md (the dataset card)", dir)
	}
	return files, nil
}

func hasPath(files []*localFile, p string) bool {
	for _, f := range files {
		if f.Path == p {
			return true
		}
	}
	return false
}

func hashFile(abs, rel string, scan *hubclient.TokenScan) (*localFile, error) {
	fh, err := os.Open(abs)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	s256, s1 := sha256.New(), sha1.New()
	fmt.Fprintf(s1, "blob %d\x00", st.Size())
	head := &headWriter{max: sampleSize}
	n, err := io.Copy(io.MultiWriter(s256, s1, head, scan), fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	if n != st.Size() {
		return nil, fmt.Errorf("%s: changed while reading (%d of %d bytes)", rel, n, st.Size())
	}
	if scan.Found() {
		return nil, fmt.Errorf("%s contains the Hugging Face token; refusing to publish it", rel)
	}
	return &localFile{Path: rel, Abs: abs, Size: n, SHA256: hex.EncodeToString(s256.Sum(nil)),
		GitSHA1: hex.EncodeToString(s1.Sum(nil)), Sample: head.b}, nil
}

type headWriter struct {
	b   []byte
	max int
}

func (h *headWriter) Write(p []byte) (int, error) {
	if room := h.max - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
