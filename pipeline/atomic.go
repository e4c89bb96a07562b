package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// WriteFileAtomic writes data to path so that readers see either the old file
// or the whole new one, never a part: a temporary file in the same directory,
// fsync, rename, then fsync of the directory. Safe on shared filesystems where
// rename is atomic (NFS, Lustre, GPFS).
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return WriteAtomic(path, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// tmpMarker is in the name of every temporary file WriteAtomic makes:
// ".<base>.tmp-<host>-<pid>-<random>", so that the temporary files of a
// killed writer can be recognised and removed (SweepTemp).
const tmpMarker = ".tmp-"

// tmpPrefix is this process's temporary-file prefix for base.
func tmpPrefix(base string) string {
	return "." + base + tmpMarker + hostTag() + "-" + strconv.Itoa(os.Getpid()) + "-"
}

// hostTag is the host name as it appears in temporary names (no dashes or
// path separators, so the pid after it can be read back).
func hostTag() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "unknown"
	}
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '/' || r == '.' || r == os.PathSeparator {
			return '_'
		}
		return r
	}, h)
}

// WriteAtomic is WriteFileAtomic for content produced by a writer function.
func WriteAtomic(path string, perm os.FileMode, write func(*os.File) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tmpPrefix(filepath.Base(path))+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: some filesystems refuse fsync on directories
		d.Close()
	}
	return nil
}

// tempOwner reads the host tag and pid out of a temporary file's name; ok is
// false when name is not one of WriteAtomic's.
func tempOwner(name string) (host string, pid int, ok bool) {
	i := strings.LastIndex(name, tmpMarker)
	if !strings.HasPrefix(name, ".") || i < 0 {
		return "", 0, false
	}
	parts := strings.SplitN(name[i+len(tmpMarker):], "-", 3)
	if len(parts) != 3 {
		return "", 0, false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	return parts[0], pid, true
}

// processGone reports whether no process pid exists on this host.
func processGone(pid int) bool {
	err := syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}

// staleTemp reports whether d is a temporary entry whose maker is gone: a
// process of this host that no longer exists, or, for makers on other
// hosts of a shared filesystem (who cannot be asked), one older than maxAge.
func staleTemp(d fs.DirEntry, maxAge time.Duration) bool {
	host, pid, ok := tempOwner(d.Name())
	if !ok {
		return false
	}
	if host == hostTag() && pid != os.Getpid() && processGone(pid) {
		return true
	}
	info, err := d.Info()
	return err == nil && time.Since(info.ModTime()) > maxAge
}

// SweepTemp removes, under root, the temporary files of writers that died
// before renaming them (staleTemp). It returns how many it removed. Errors
// of single files are ignored: another process may be sweeping too.
func SweepTemp(root string, maxAge time.Duration) int {
	n := 0
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && staleTemp(d, maxAge) && os.Remove(p) == nil {
			n++
		}
		return nil
	})
	return n
}

// MkdirTemp makes a temporary directory in dir named as WriteAtomic names
// its files (".<base>.tmp-<host>-<pid>-*"), so that what a killed maker
// leaves is recognised (SweepTempDir).
func MkdirTemp(dir, base string) (string, error) {
	return os.MkdirTemp(dir, tmpPrefix(base)+"*")
}

// SweepTempDir removes dir's own temporary entries, files and directories
// with all they hold, whose maker is gone (staleTemp); it does not look
// below dir. It returns how many it removed.
func SweepTempDir(dir string, maxAge time.Duration) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, d := range entries {
		if staleTemp(d, maxAge) && os.RemoveAll(filepath.Join(dir, d.Name())) == nil {
			n++
		}
	}
	return n
}

// IsTempName reports whether a file name is one of kforge's temporary files
// (WriteAtomic's ".NAME.tmp-*", the Parquet writer's ".SPLIT.tmp-*", a
// release's ".DIR.tmp-*"): hidden, with ".tmp-" in it.
func IsTempName(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tmpMarker)
}
