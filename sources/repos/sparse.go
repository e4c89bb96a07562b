package repos

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// A project inside a large monorepo (ROCm/rocm-libraries'
// projects/composablekernel, subdir in the recipe) is mirrored as a
// partial clone: `git clone --mirror --filter=blob:none` brings every
// commit and tree but no file contents, and fetchSubdirBlobs then fetches,
// in one request, only the blobs of the subdirectory at the mined commit.
// Mining reads those blobs through git (cat-file) and checkouts archive
// commit:subdir, so nothing outside the subdirectory is ever downloaded
// (the root license file, when read, is fetched on its own by git's
// promisor remote). A full mirror, or a local path (git ignores filters on
// local clones), has every blob already and is left as it is.

// fetchSubdirBlobs fetches the blobs under subdir at commit that a partial
// mirror lacks, in one fetch.
func fetchSubdirBlobs(ctx context.Context, mirror, commit, subdir string, offline bool) error {
	if subdir == "" {
		return nil
	}
	if out, err := git(ctx, mirror, "config", "--get", "remote.origin.promisor"); err != nil || strings.TrimSpace(string(out)) != "true" {
		return nil // a full mirror
	}
	missing, err := missingBlobs(ctx, mirror, commit, subdir)
	if err != nil || len(missing) == 0 {
		return err
	}
	if offline {
		return fmt.Errorf("offline, and the partial mirror lacks %d files of %s", len(missing), subdir)
	}
	// As git's own promisor fetch does: ask for the objects by id, with no
	// negotiation and no refs written.
	cmd := exec.CommandContext(ctx, "git", "--git-dir", mirror, "-c", "fetch.negotiationAlgorithm=noop",
		"fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--recurse-submodules=no", "--filter=blob:none", "--stdin", "origin")
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=true", "LC_ALL=C")
	cmd.Stdin = strings.NewReader(strings.Join(missing, "\n") + "\n")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("fetch the %d files of %s: %w: %s", len(missing), subdir, err, redact(strings.TrimSpace(errb.String())))
	}
	return nil
}

// missingBlobs lists the blob ids under subdir at commit that the mirror
// does not hold, without fetching any (rev-list --missing=print reports
// instead of fetching).
func missingBlobs(ctx context.Context, mirror, commit, subdir string) ([]string, error) {
	out, err := git(ctx, mirror, "rev-list", "--objects", "--no-walk", "--missing=print", commit+":"+subdir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "?") {
			ids = append(ids, strings.TrimPrefix(l, "?"))
		}
	}
	return ids, nil
}

// listTopLevel lists the files at the root of commit's tree without their
// sizes: `ls-tree -l` would make a partial mirror fetch every blob it
// lists. Sizes are 0.
func listTopLevel(ctx context.Context, mirror, commit string) ([]treeEntry, error) {
	out, err := git(ctx, mirror, "ls-tree", "-z", "--full-tree", commit)
	if err != nil {
		return nil, err
	}
	var es []treeEntry
	for _, rec := range bytes.Split(out, []byte{0}) {
		meta, p, ok := bytes.Cut(rec, []byte{'\t'})
		if !ok {
			continue
		}
		f := strings.Fields(string(meta))
		if len(f) != 3 || f[1] != "blob" {
			continue
		}
		es = append(es, treeEntry{Path: string(p), Mode: f[0], Blob: f[2]})
	}
	return es, nil
}
