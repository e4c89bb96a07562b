package hub

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// plannedOps is what a plan says the commit will hold, in the fake Hub's
// notation.
func plannedOps(files []FileAction) []string {
	var ops []string
	for _, f := range files {
		switch {
		case f.State == StateDelete:
			ops = append(ops, "deletedFile "+f.Path)
		case f.State != StateNew && f.State != StateChanged:
		case f.Mode == "lfs":
			ops = append(ops, "lfsFile "+f.Path)
		default:
			ops = append(ops, "file "+f.Path)
		}
	}
	slices.Sort(ops)
	return ops
}

// TestPublishDryRunPlanIsWhatApplyDoes: for a missing repository, a
// changed release, a missing branch and an unchanged release, the dry run's
// plan (files and their modes, deletes, repository and branch creation,
// tag) is exactly what the real publish then does on the fake Hub.
func TestPublishDryRunPlanIsWhatApplyDoes(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, h *harness, dir string) // before the dry run
		mut   func(*Options)
		repo  bool // the repository is created
		br    bool // the branch is created
	}{
		{name: "missing repository", repo: true},
		{name: "changed release", setup: func(t *testing.T, h *harness, dir string) {
			if _, err := h.publish(t, dir); err != nil {
				t.Fatal(err)
			}
			h.fh.concurrentCommit(testRepo, "main", "data/sft/train-00001-of-00002.parquet", []byte("stale"))
			os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"v":2}`+"\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "data/rl/train-00000-of-00001.parquet"), bytes.Repeat([]byte{7, 0}, 900), 0o644)
		}, mut: func(o *Options) { o.Config.Tag = "v2" }},
		{name: "missing branch", br: true, setup: func(t *testing.T, h *harness, dir string) {
			if _, err := h.publish(t, dir); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"v":3}`+"\n"), 0o644)
		}, mut: func(o *Options) { o.Config.Revision = "release"; o.Config.Tag = "v3" }},
		{name: "unchanged, new tag", setup: func(t *testing.T, h *harness, dir string) {
			if _, err := h.publish(t, dir); err != nil {
				t.Fatal(err)
			}
		}, mut: func(o *Options) { o.Config.Tag = "v4" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			dir := fixture(t)
			if tc.setup != nil {
				tc.setup(t, h, dir)
			}
			mut := tc.mut
			if mut == nil {
				mut = func(*Options) {}
			}
			before := len(h.fh.callList())
			plan, err := h.publish(t, dir, mut, func(o *Options) { o.DryRun = true })
			if err != nil {
				t.Fatal(err)
			}
			if w := writes(h.fh.callList()[before:]); len(w) != 0 {
				t.Fatalf("dry run wrote %v", w)
			}
			out := h.out.String()
			if tc.repo != strings.Contains(out, "would be created (private)") {
				t.Errorf("plan says repository creation %v, want %v:\n%s", !tc.repo, tc.repo, out)
			}
			if tc.br != strings.Contains(out, "branch release missing, would be created") {
				t.Errorf("plan says branch creation %v, want %v:\n%s", !tc.br, tc.br, out)
			}

			h.fh.mu.Lock()
			created, commits := len(h.fh.created), len(h.fh.commitOps)
			h.fh.mu.Unlock()
			before = len(h.fh.callList())
			res, err := h.publish(t, dir, mut)
			if err != nil {
				t.Fatal(err)
			}
			w := writes(h.fh.callList()[before:])
			h.fh.mu.Lock()
			gotCreated, gotCommits := h.fh.created[created:], h.fh.commitOps[commits:]
			h.fh.mu.Unlock()
			if (len(gotCreated) == 1) != tc.repo || slices.Contains(w, "branch") != tc.br {
				t.Errorf("apply: create %v, branch %v; plan said %v, %v", gotCreated, slices.Contains(w, "branch"), tc.repo, tc.br)
			}
			want := plannedOps(plan.Files)
			switch {
			case len(want) == 0 && len(gotCommits) != 0:
				t.Errorf("plan: no commit; apply committed %v", gotCommits)
			case len(want) > 0 && (len(gotCommits) != 1 || !slices.Equal(gotCommits[0], want)):
				t.Errorf("plan: commit of %v\napply committed %v", want, gotCommits)
			}
			var lfs int
			for _, op := range want {
				if strings.HasPrefix(op, "lfsFile ") {
					lfs++
				}
			}
			if res.UploadedFiles != lfs {
				t.Errorf("plan: %d LFS uploads; apply made %d", lfs, res.UploadedFiles)
			}
			if !res.Tagged || !strings.Contains(h.fh.snapshot(testRepo), res.Tag+":"+res.Head) {
				t.Errorf("tag %s not made on %s: %s", res.Tag, res.Head, h.fh.snapshot(testRepo))
			}
			for i := range res.Files {
				res.Files[i].Guessed = false
			}
			for i := range plan.Files {
				plan.Files[i].Guessed = false
			}
			if !slices.Equal(res.Files, plan.Files) {
				t.Errorf("files planned %+v\napplied %+v", plan.Files, res.Files)
			}
		})
	}
}

// TestPublishPlanThenApply: Plan only reads; Apply carries out that plan;
// a dry-run publisher and a plan made without the Hub are never applied.
func TestPublishPlanThenApply(t *testing.T) {
	h := newHarness(t)
	dir := fixture(t)
	p, err := NewPublisher(h.opts(dir))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if w := writes(h.fh.callList()); len(w) != 0 || !plan.CreateRepo || plan.Changes() != 4 {
		t.Fatalf("plan wrote %v; plan %+v", w, plan)
	}
	var printed bytes.Buffer
	plan.Print(&printed)
	if !strings.Contains(printed.String(), "would be created (private)") || strings.Contains(printed.String(), "dry run") {
		t.Errorf("printed plan:\n%s", printed.String())
	}
	dryOpts := h.opts(dir)
	dryOpts.DryRun = true
	dry, err := NewPublisher(dryOpts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dry.Apply(context.Background(), plan); err == nil {
		t.Error("a dry-run publisher applied a plan")
	}
	if _, err := p.Apply(context.Background(), &Plan{Repo: testRepo, Revision: "main", Tag: testTag, Offline: true}); err == nil {
		t.Error("an offline plan was applied")
	}
	if w := writes(h.fh.callList()); len(w) != 0 {
		t.Fatalf("refused applies wrote %v", w)
	}
	res, err := p.Apply(context.Background(), plan)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || !res.Tagged || h.fh.headCommit(testRepo, "main").oid != res.Commit {
		t.Fatalf("result %+v", res)
	}
}
