package release

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"kforge/pipeline"
)

// ErrCanceled is what Build's error matches when its context was canceled
// (Ctrl-C, SIGTERM): the old release, if any, is left as it was.
var ErrCanceled = errors.New("release: canceled")

// canceled is a cancellation: it reads as one line, "release: canceled
// (context canceled)", and matches both ErrCanceled and the context's error.
type canceled struct{ cause error }

func (c canceled) Error() string { return ErrCanceled.Error() + " (" + c.cause.Error() + ")" }

func (c canceled) Is(target error) bool { return target == ErrCanceled }

func (c canceled) Unwrap() error { return c.cause }

// testHookBeforeSwap, when set (tests), is called with the temporary
// directory once the new release is whole, before it is renamed into place.
var testHookBeforeSwap func(tmp string)

// tempPrefix is the name prefix of the temporary directories a release at
// final is written into: hidden, beside it, so the rename stays on one
// filesystem.
func tempPrefix(final string) string { return "." + filepath.Base(final) + ".tmp-" }

// oldPrefix names an old release moved aside during a swap.
func oldPrefix(final string) string { return "." + filepath.Base(final) + ".old-" }

// RemoveLeftovers removes what killed runs left of the release at final:
// temporary directories beside it, an old release moved aside (restored
// first when the release itself is missing: the swap was killed between its
// two renames), and hidden temporary files inside it (left by versions that
// wrote releases in place). A release directory has one writer at a time.
func RemoveLeftovers(final string) error {
	parent := filepath.Dir(final)
	ents, err := os.ReadDir(parent)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	_, statErr := os.Lstat(final)
	missing := errors.Is(statErr, fs.ErrNotExist)
	for _, e := range ents {
		name := e.Name()
		p := filepath.Join(parent, name)
		switch {
		case strings.HasPrefix(name, oldPrefix(final)) && missing:
			if err := os.Rename(p, final); err != nil {
				return err
			}
			missing = false
		case strings.HasPrefix(name, tempPrefix(final)), strings.HasPrefix(name, oldPrefix(final)):
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
	}
	if missing {
		return nil
	}
	return filepath.WalkDir(final, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts are the new release's to replace
		}
		if !d.IsDir() && pipeline.IsTempName(d.Name()) {
			return os.Remove(p)
		}
		return nil
	})
}

// swapIn puts the whole release tmp in place of final: one atomic exchange
// where the system has it (Linux), else final moved aside, tmp renamed in,
// the old one removed (a kill between the two renames is repaired by
// RemoveLeftovers, which puts the old release back).
func swapIn(tmp, final string) error {
	syncDir(tmp)
	if _, err := os.Lstat(final); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(tmp, final); err != nil {
			return fmt.Errorf("release: %w", err)
		}
		syncDir(filepath.Dir(final))
		return nil
	}
	if err := exchange(tmp, final); err == nil {
		syncDir(filepath.Dir(final))
		return os.RemoveAll(tmp) // now the old release
	}
	old, err := os.MkdirTemp(filepath.Dir(final), oldPrefix(final))
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if err := os.Remove(old); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if err := os.Rename(final, old); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Rename(old, final)
		return fmt.Errorf("release: %w", err)
	}
	syncDir(filepath.Dir(final))
	return os.RemoveAll(old)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: some filesystems refuse fsync on directories
		d.Close()
	}
}
