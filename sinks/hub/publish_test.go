package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testToken = "hf_kforgeTESTtoken0123456789abcdefXYZ"
	testRepo  = "kforge/kernels"
	testTag   = "v2026.11.29"
)

// harness runs Publish against a fakeHub, recording logs, output and the
// backoff waits (which are not slept).
type harness struct {
	fh   *fakeHub
	logs bytes.Buffer
	out  bytes.Buffer
	env  map[string]string

	mu     sync.Mutex
	sleeps []time.Duration
}

func newHarness(t *testing.T) *harness {
	h := &harness{fh: newFakeHub(t, testToken), env: map[string]string{"HF_TOKEN": testToken}}
	return h
}

func (h *harness) opts(dir string) Options {
	return Options{
		Dir:    dir,
		Config: Config{Repo: testRepo, Revision: "main", Tag: testTag, Private: true, Endpoint: h.fh.hub.URL},
		Out:    &h.out,
		Log:    slog.New(slog.NewTextHandler(&h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv: func(k string) string { return h.env[k] },
		Retry: RetryPolicy{Sleep: func(ctx context.Context, d time.Duration) error {
			h.mu.Lock()
			h.sleeps = append(h.sleeps, d)
			h.mu.Unlock()
			return ctx.Err()
		}},
		AttemptTimeout: 300 * time.Millisecond,
		UserAgent:      "kforge/test",
	}
}

func (h *harness) publish(t *testing.T, dir string, mut ...func(*Options)) (*Result, error) {
	t.Helper()
	o := h.opts(dir)
	for _, m := range mut {
		m(&o)
	}
	return Publish(context.Background(), o)
}

func fixture(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk("testdata/release", func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("testdata/release", p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func releaseFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			m[filepath.ToSlash(rel)], _ = os.ReadFile(p)
		}
		return nil
	})
	return m
}

func writes(calls []string) []string {
	var w []string
	for _, c := range calls {
		if writeRoutes[c] {
			w = append(w, c)
		}
	}
	return w
}

func TestPublishNewRepoOneCommitThenTag(t *testing.T) {
	h := newHarness(t)
	dir := fixture(t)
	res, err := h.publish(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Commit == "" || !res.Tagged {
		t.Fatalf("result %+v", res)
	}
	// Exactly one commit after the repo's initial one, holding every file.
	if got := h.fh.snapshot(testRepo); !strings.Contains(got, "commits=2") {
		t.Fatalf("snapshot %s", got)
	}
	c := h.fh.headCommit(testRepo, "main")
	if c.oid != res.Commit || c.summary != "Publish "+testTag {
		t.Fatalf("head %s %q, result %s", c.oid, c.summary, res.Commit)
	}
	want := releaseFiles(t, dir)
	for p, b := range want {
		got, ok := c.files[p]
		if !ok || !bytes.Equal(got.data, b) {
			t.Errorf("%s: missing or different on the Hub", p)
		}
		if wantLFS := strings.HasSuffix(p, ".parquet"); got.lfs != wantLFS {
			t.Errorf("%s: lfs=%v, want %v", p, got.lfs, wantLFS)
		}
	}
	if len(c.files) != len(want)+1 { // + .gitattributes
		t.Errorf("head has %d files, want %d", len(c.files), len(want)+1)
	}
	// One basic PUT (1500 B), three parts (6000 B in 2048 B chunks), two verifies.
	for route, n := range map[string]int{"create": 1, "put": 1, "part": 3, "complete": 1, "verify": 2, "commit": 1, "tag": 1} {
		if got := h.fh.count(route); got != n {
			t.Errorf("%s called %d times, want %d", route, got, n)
		}
	}
	if res.UploadedFiles != 2 || res.UploadedBytes != 7500 {
		t.Errorf("uploaded %d files %d bytes", res.UploadedFiles, res.UploadedBytes)
	}
	// Order: create, then LFS, then the commit, then the tag.
	w := writes(h.fh.callList())
	idx := func(r string) int { return slices.Index(w, r) }
	if !(idx("create") < idx("batch") && idx("batch") < idx("put") && slices.Index(w, "verify") < idx("commit") && idx("commit") < idx("tag")) {
		t.Errorf("write order %v", w)
	}
	if got := h.fh.snapshot(testRepo); !strings.Contains(got, "tags=map["+testTag+":"+res.Commit+"]") {
		t.Errorf("tag not on the commit: %s", got)
	}
}

func TestPublishTwiceUploadsNothing(t *testing.T) {
	h := newHarness(t)
	dir := fixture(t)
	first, err := h.publish(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	before := len(h.fh.callList())
	snap := h.fh.snapshot(testRepo)
	h.out.Reset()
	second, err := h.publish(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	calls := h.fh.callList()[before:]
	if w := writes(calls); len(w) != 0 {
		t.Fatalf("second publish wrote %v", w)
	}
	if second.Commit != "" || second.Head != first.Commit || second.Changes() != 0 || second.UploadedBytes != 0 {
		t.Fatalf("second result %+v", second)
	}
	if got := h.fh.snapshot(testRepo); got != snap {
		t.Fatalf("repo changed: %s -> %s", snap, got)
	}
	t.Logf("second publish calls: %v\n%s", calls, h.out.String())
	if !strings.Contains(h.out.String(), "nothing uploaded, no commit") {
		t.Errorf("summary: %s", h.out.String())
	}

	// A new tag on the same release: only the tag is written, on the same commit.
	before = len(h.fh.callList())
	third, err := h.publish(t, dir, func(o *Options) { o.Config.Tag = "v2026.12.01" })
	if err != nil {
		t.Fatal(err)
	}
	if w := writes(h.fh.callList()[before:]); !slices.Equal(w, []string{"tag"}) {
		t.Fatalf("retag wrote %v", w)
	}
	if !third.Tagged || third.Head != first.Commit {
		t.Fatalf("third %+v", third)
	}
}

func TestPublishChangedReleaseSendsOnlyChanges(t *testing.T) {
	h := newHarness(t)
	dir := fixture(t)
	if _, err := h.publish(t, dir); err != nil {
		t.Fatal(err)
	}
	// Someone left an extra shard under data/ and a file outside it.
	h.fh.concurrentCommit(testRepo, "main", "data/sft/train-00001-of-00002.parquet", []byte("stale"))
	h.fh.concurrentCommit(testRepo, "main", "docs/notes.md", []byte("keep me"))
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"version":"v2"}`+"\n"), 0o644)
	before := len(h.fh.callList())
	res, err := h.publish(t, dir, func(o *Options) { o.Config.Tag = "v2" })
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, f := range res.Files {
		states[f.Path] = f.State
	}
	want := map[string]string{
		"README.md": StateUnchanged, "manifest.json": StateChanged,
		"data/sft/train-00000-of-00001.parquet": StateUnchanged, "data/rl/train-00000-of-00001.parquet": StateUnchanged,
		"data/sft/train-00001-of-00002.parquet": StateDelete,
	}
	for p, s := range want {
		if states[p] != s {
			t.Errorf("%s: %s, want %s", p, states[p], s)
		}
	}
	if _, ok := states["docs/notes.md"]; ok {
		t.Error("a file outside data/ was planned")
	}
	if w := writes(h.fh.callList()[before:]); !slices.Equal(w, []string{"commit", "tag"}) {
		t.Errorf("writes %v, want commit and tag only (no LFS)", w)
	}
	files := h.fh.headFiles(testRepo, "main")
	if _, ok := files["data/sft/train-00001-of-00002.parquet"]; ok {
		t.Error("stale shard not deleted")
	}
	if string(files["docs/notes.md"].data) != "keep me" || string(files["manifest.json"].data) != `{"version":"v2"}`+"\n" {
		t.Error("unexpected head contents")
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	t.Run("missing repo", func(t *testing.T) {
		h := newHarness(t)
		res, err := h.publish(t, fixture(t), func(o *Options) { o.DryRun = true })
		if err != nil {
			t.Fatal(err)
		}
		if w := writes(h.fh.callList()); len(w) != 0 {
			t.Fatalf("dry run wrote %v", w)
		}
		if h.fh.snapshot(testRepo) != "missing" || res.RepoExists {
			t.Fatal("dry run created the repo")
		}
		out := h.out.String()
		for _, s := range []string{"would be created (private)", "new    lfs?", "data/sft/train-00000-of-00001.parquet", "nothing written"} {
			if !strings.Contains(out, s) {
				t.Errorf("plan lacks %q:\n%s", s, out)
			}
		}
		t.Logf("\n%s", out)
	})
	t.Run("offline", func(t *testing.T) {
		h := newHarness(t)
		h.fh.inject("revision", many(fault{status: 503}, 6)...)
		res, err := h.publish(t, fixture(t), func(o *Options) { o.DryRun = true })
		if err != nil || len(res.Files) != 4 || !strings.Contains(h.out.String(), "Hub not reachable") {
			t.Fatalf("err %v res %+v\n%s", err, res, h.out.String())
		}
		if w := writes(h.fh.callList()); len(w) != 0 {
			t.Fatalf("dry run wrote %v", w)
		}
	})
	t.Run("existing repo, changes", func(t *testing.T) {
		h := newHarness(t)
		dir := fixture(t)
		if _, err := h.publish(t, dir); err != nil {
			t.Fatal(err)
		}
		h.fh.concurrentCommit(testRepo, "main", "data/rl/train-00000-of-00002.parquet", []byte("old"))
		os.WriteFile(filepath.Join(dir, "data/sft/train-00000-of-00001.parquet"), bytes.Repeat([]byte{1, 0}, 3000), 0o644)
		snap := h.fh.snapshot(testRepo)
		before := len(h.fh.callList())
		h.out.Reset()
		res, err := h.publish(t, dir, func(o *Options) { o.DryRun = true; o.Config.Tag = "v2" })
		if err != nil {
			t.Fatal(err)
		}
		if w := writes(h.fh.callList()[before:]); len(w) != 0 {
			t.Fatalf("dry run wrote %v", w)
		}
		if h.fh.snapshot(testRepo) != snap {
			t.Fatal("dry run changed the repo")
		}
		if res.Changes() != 2 {
			t.Errorf("changes %d, want 2 (one changed shard, one delete)", res.Changes())
		}
		out := h.out.String()
		for _, s := range []string{"changed    lfs", "unchanged  regular", "delete     -", "send: 1 files", "nothing written"} {
			if !strings.Contains(out, s) {
				t.Errorf("plan lacks %q:\n%s", s, out)
			}
		}
		t.Logf("\n%s", out)
	})
}

func TestPublishRetriesTransientFailures(t *testing.T) {
	h := newHarness(t)
	h.fh.seedRepo(testRepo, true)
	rl := http.Header{"Ratelimit": {`"api";r=0;t=7`}, "Ratelimit-Policy": {`"fixed window";"api";q=1000;w=300`}}
	h.fh.inject("preupload", fault{status: 429, header: rl})
	h.fh.inject("batch", fault{status: 429, header: http.Header{"Retry-After": {"3"}}})
	h.fh.inject("part", fault{status: 502}, fault{status: 503})
	h.fh.inject("put", fault{hang: true})                                                 // attempt timeout
	h.fh.inject("tree", fault{status: 500})                                               //
	h.fh.inject("verify", fault{status: 408})                                             //
	h.fh.inject("commit", fault{status: 429, header: http.Header{"Retry-After": {"11"}}}) // not landed: the head is checked, then the commit is sent again
	h.fh.inject("revision", fault{hang: true})                                            // first read times out
	res, err := h.publish(t, fixture(t))
	if err != nil {
		t.Fatalf("%v\nlogs:\n%s", err, h.logs.String())
	}
	if got := h.fh.snapshot(testRepo); !strings.Contains(got, "commits=2") {
		t.Fatalf("want exactly one new commit: %s", got)
	}
	if h.fh.headCommit(testRepo, "main").oid != res.Commit {
		t.Fatal("result is not the head")
	}
	if h.fh.count("commit") != 2 {
		t.Errorf("commit sent %d times, want 2 (429, then success)", h.fh.count("commit"))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !slices.Contains(h.sleeps, 8*time.Second) {
		t.Errorf("RateLimit t=7 not honoured (want an 8s wait): %v", h.sleeps)
	}
	if !slices.Contains(h.sleeps, 11*time.Second) {
		t.Errorf("the commit's Retry-After: 11 not honoured: %v", h.sleeps)
	}
	if !slices.Contains(h.sleeps, 3*time.Second) {
		t.Errorf("Retry-After: 3 not honoured: %v", h.sleeps)
	}
	if !slices.Contains(h.sleeps, 2*time.Second) {
		t.Errorf("no exponential backoff seen (second 5xx of a part should wait 2s): %v", h.sleeps)
	}
}

func TestLostCommitResponseIsNotRepeated(t *testing.T) {
	h := newHarness(t)
	h.fh.seedRepo(testRepo, false)
	h.fh.inject("commit", fault{lost: true})
	res, err := h.publish(t, fixture(t))
	if err != nil {
		t.Fatalf("%v\nlogs:\n%s", err, h.logs.String())
	}
	if n := h.fh.count("commit"); n != 1 {
		t.Fatalf("commit sent %d times after a lost answer, want 1", n)
	}
	head := h.fh.headCommit(testRepo, "main")
	if res.Commit != head.oid || !strings.Contains(h.fh.snapshot(testRepo), "commits=2") {
		t.Fatalf("result %s, head %s, %s", res.Commit, head.oid, h.fh.snapshot(testRepo))
	}
	if !strings.Contains(h.fh.snapshot(testRepo), testTag+":"+head.oid) {
		t.Errorf("tag not on the landed commit: %s", h.fh.snapshot(testRepo))
	}
	if !strings.Contains(h.logs.String(), "landed despite the lost answer") {
		t.Errorf("logs do not say the commit landed:\n%s", h.logs.String())
	}
}

func many(f fault, n int) []fault {
	out := make([]fault, n)
	for i := range out {
		out[i] = f
	}
	return out
}

func TestFailedPublishLeavesRepoUnchanged(t *testing.T) {
	cases := []struct {
		name    string
		route   string
		faults  func(h *harness) []fault
		wantErr string
		other   bool // another writer committed meanwhile
	}{
		{"part keeps failing", "part", func(*harness) []fault { return many(fault{status: 500}, 6) }, "500", false},
		{"verify refused", "verify", func(*harness) []fault { return []fault{{status: 403}} }, "verify", false},
		{"lfs batch refused", "batch", func(*harness) []fault { return []fault{{status: 403}} }, "lfs batch", false},
		{"commit refused", "commit", func(*harness) []fault { return []fault{{status: 422}} }, "commit refused", false},
		{"stale parent", "commit", func(h *harness) []fault {
			return []fault{{before: func() { h.fh.concurrentCommit(testRepo, "main", "other.txt", []byte("x")) }}}
		}, "another writer", true},
		{"lost commit, branch moved by another", "commit", func(h *harness) []fault {
			return []fault{{status: 502, before: func() { h.fh.concurrentCommit(testRepo, "main", "other.txt", []byte("x")) }}}
		}, "without our files", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.fh.seedRepo(testRepo, true)
			snap := h.fh.snapshot(testRepo)
			h.fh.inject(tc.route, tc.faults(h)...)
			_, err := h.publish(t, fixture(t))
			t.Logf("err: %v", err)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
			if h.fh.count("tag") != 0 {
				t.Error("tagged after a failure")
			}
			if !tc.other {
				if got := h.fh.snapshot(testRepo); got != snap {
					t.Fatalf("repo changed: %s -> %s", snap, got)
				}
				return
			}
			files := h.fh.headFiles(testRepo, "main")
			if _, ok := files["README.md"]; ok {
				t.Fatal("our files reached the branch")
			}
		})
	}
}

func TestTokenNeverLeaks(t *testing.T) {
	check := func(t *testing.T, h *harness, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("want an error")
		}
		for what, s := range map[string]string{"error": err.Error(), "logs": h.logs.String(), "output": h.out.String()} {
			if strings.Contains(s, testToken) || strings.Contains(s, testToken[3:]) {
				t.Errorf("token in %s: %s", what, s)
			}
		}
		var he *Error
		if errors.As(err, &he) && strings.Contains(he.Message, testToken) {
			t.Errorf("token in Error.Message: %s", he.Message)
		}
	}
	t.Run("server echoes the header in errors", func(t *testing.T) {
		h := newHarness(t)
		h.fh.echoAuth = true
		h.fh.seedRepo(testRepo, true)
		h.fh.inject("preupload", fault{status: 503}, fault{status: 503}, fault{status: 400})
		_, err := h.publish(t, fixture(t))
		check(t, h, err)
		if !strings.Contains(err.Error(), "Bearer hf_***") {
			t.Errorf("expected the masked echo in %v", err)
		}
		if !strings.Contains(h.logs.String(), "retrying") {
			t.Error("retries were not logged")
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		h := newHarness(t)
		h.fh.echoAuth = true
		h.fh.token = "hf_theRightOneIsElsewhere000000000"
		_, err := h.publish(t, fixture(t))
		check(t, h, err)
		if StatusOf(err) != 401 {
			t.Errorf("status %d, want 401: %v", StatusOf(err), err)
		}
	})
	t.Run("token inside the manifest", func(t *testing.T) {
		h := newHarness(t)
		dir := fixture(t)
		os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"env":{"HF_TOKEN":"`+testToken+`"}}`), 0o644)
		_, err := h.publish(t, dir)
		check(t, h, err)
		if !strings.Contains(err.Error(), "manifest.json contains the Hugging Face token") {
			t.Errorf("err %v", err)
		}
		if len(h.fh.callList()) != 0 {
			t.Errorf("calls made: %v", h.fh.callList())
		}
	})
	t.Run("token file in HF_HOME", func(t *testing.T) {
		h := newHarness(t)
		home := t.TempDir()
		os.WriteFile(filepath.Join(home, "token"), []byte(testToken+"\n"), 0o600)
		h.env = map[string]string{"HF_HOME": home}
		h.fh.echoAuth = true
		h.fh.seedRepo(testRepo, true)
		h.fh.inject("commit", fault{status: 403})
		_, err := h.publish(t, fixture(t))
		check(t, h, err) // the token from the file worked up to the commit
		if StatusOf(err) != 403 {
			t.Errorf("err %v", err)
		}
	})
}

func TestCardRejectedOnlineBeforeAnyWrite(t *testing.T) {
	h := newHarness(t)
	h.fh.seedRepo(testRepo, true)
	dir := fixture(t)
	readme, _ := os.ReadFile(filepath.Join(dir, "README.md"))
	os.WriteFile(filepath.Join(dir, "README.md"), bytes.Replace(readme, []byte("license: apache-2.0"), []byte("license: made-up-1.0"), 1), 0o644)
	_, err := h.publish(t, dir)
	if err == nil || !strings.Contains(err.Error(), "card rejected by the Hub") || !strings.Contains(err.Error(), `"license" must be one of`) {
		t.Fatalf("err %v", err)
	}
	if w := writes(h.fh.callList()); len(w) != 0 {
		t.Fatalf("wrote %v", w)
	}
}

func TestCardRejectedLocallyBeforeAnyCall(t *testing.T) {
	h := newHarness(t)
	dir := fixture(t)
	readme, _ := os.ReadFile(filepath.Join(dir, "README.md"))
	os.WriteFile(filepath.Join(dir, "README.md"), bytes.Replace(readme, []byte("data/rl/train-*"), []byte("data/rl/test-*"), 1), 0o644)
	_, err := h.publish(t, dir)
	if err == nil || !strings.Contains(err.Error(), `data_files "data/rl/test-*" matches no file`) {
		t.Fatalf("err %v", err)
	}
	if len(h.fh.callList()) != 0 {
		t.Fatalf("calls %v", h.fh.callList())
	}
}

func TestTagTakenByAnotherReleaseFailsBeforeWrites(t *testing.T) {
	h := newHarness(t)
	dir := fixture(t)
	if _, err := h.publish(t, dir); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte("{}\n"), 0o644)
	before := len(h.fh.callList())
	_, err := h.publish(t, dir)
	if err == nil || !strings.Contains(err.Error(), "tag "+testTag+" already exists") {
		t.Fatalf("err %v", err)
	}
	if w := writes(h.fh.callList()[before:]); len(w) != 0 {
		t.Fatalf("wrote %v", w)
	}
}

func TestPublishCreateConflictAndNewBranch(t *testing.T) {
	h := newHarness(t)
	h.fh.inject("create", fault{status: 409, msg: "Cannot create repo: another conflicting operation is in progress"})
	res, err := h.publish(t, fixture(t), func(o *Options) { o.Config.Revision = "release" })
	if err != nil {
		t.Fatal(err)
	}
	if h.fh.count("create") != 2 || h.fh.count("branch") != 1 || !res.Created {
		t.Fatalf("create %d branch %d created %v", h.fh.count("create"), h.fh.count("branch"), res.Created)
	}
	if h.fh.headCommit(testRepo, "release").oid != res.Commit || len(h.fh.headFiles(testRepo, "main")) != 1 {
		t.Fatal("commit not on the new branch alone")
	}
	// The repository now exists: a second create answers 409 and is fine.
	if created, err := mustClient(t, h).CreateRepo(context.Background(), testRepo, true); err != nil || created {
		t.Fatalf("created %v err %v", created, err)
	}
}

func mustClient(t *testing.T, h *harness) *Client {
	t.Helper()
	c, err := NewClient(ClientOptions{Endpoint: h.fh.hub.URL, Getenv: func(k string) string { return h.env[k] },
		Retry: h.opts("").Retry, AttemptTimeout: time.Second, UserAgent: "kforge/test"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestReleaseRefusesLinksAndNeedsCard(t *testing.T) {
	h := newHarness(t)
	dir := fixture(t)
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "data", "passwd")); err != nil {
		t.Skip(err)
	}
	if _, err := h.publish(t, dir); err == nil || !strings.Contains(err.Error(), "data/passwd: not a regular file") {
		t.Fatalf("err %v", err)
	}
	os.Remove(filepath.Join(dir, "data", "passwd"))
	os.Remove(filepath.Join(dir, "README.md"))
	os.WriteFile(filepath.Join(dir, ".README.md.tmp-123"), []byte("half written"), 0o644)
	if _, err := h.publish(t, dir); err == nil || !strings.Contains(err.Error(), "no README.md") {
		t.Fatalf("err %v", err)
	}
	if len(h.fh.callList()) != 0 {
		t.Fatalf("calls %v", h.fh.callList())
	}
}

func TestPublishNeedsToken(t *testing.T) {
	h := newHarness(t)
	h.env = map[string]string{"HOME": t.TempDir()}
	_, err := h.publish(t, fixture(t))
	if !errors.Is(err, ErrNoToken) {
		t.Fatalf("err %v", err)
	}
}

func TestDownload(t *testing.T) {
	h := newHarness(t)
	if _, err := h.publish(t, fixture(t)); err != nil {
		t.Fatal(err)
	}
	c := mustClient(t, h)
	cache := t.TempDir()
	h.fh.inject("obj", fault{lost: true}) // the first LFS download is cut in half
	paths, err := c.Download(context.Background(), testRepo, testTag, cache)
	if err != nil {
		t.Fatal(err)
	}
	want := releaseFiles(t, "testdata/release")
	if len(paths) != 2 {
		t.Fatalf("paths %v", paths)
	}
	head := h.fh.headCommit(testRepo, "main").oid
	for _, p := range paths {
		rel, _ := filepath.Rel(filepath.Join(cache, "datasets", "kforge", "kernels", head), p)
		got, _ := os.ReadFile(p)
		if !bytes.Equal(got, want[filepath.ToSlash(rel)]) {
			t.Errorf("%s: content differs", rel)
		}
	}
	// Cached: a second call fetches no file.
	n := h.fh.count("resolve")
	if _, err := c.Download(context.Background(), testRepo, head, cache); err != nil {
		t.Fatal(err)
	}
	if h.fh.count("resolve") != n {
		t.Error("second download fetched files again")
	}
	if _, err := c.Download(context.Background(), "kforge/missing", "main", cache); err == nil {
		t.Error("missing repo: want an error")
	}
}

// TestPublishCreatesRepoWithVisibility: a missing repository is created
// with the visibility field current clients send ("private"/"public"),
// never the legacy boolean private (the fake refuses it).
func TestPublishCreatesRepoWithVisibility(t *testing.T) {
	for _, private := range []bool{true, false} {
		h := newHarness(t)
		_, err := h.publish(t, fixture(t), func(o *Options) { o.Config.Private = private })
		if err != nil {
			t.Fatalf("private=%v: %v", private, err)
		}
		want := "public"
		if private {
			want = "private"
		}
		h.fh.mu.Lock()
		created, repoPrivate := h.fh.created, h.fh.repos[testRepo].private
		h.fh.mu.Unlock()
		if !slices.Equal(created, []string{want}) || repoPrivate != private {
			t.Errorf("private=%v: create requests %v, repo private %v; want [%s]", private, created, repoPrivate, want)
		}
	}
}

// TestPublishNoTokenAdvice: without a token the error says how to get one
// with the current CLI (`hf auth login`); huggingface_hub no longer ships
// `huggingface-cli login`.
func TestPublishNoTokenAdvice(t *testing.T) {
	h := newHarness(t)
	h.env = map[string]string{"HOME": t.TempDir()}
	_, err := h.publish(t, fixture(t))
	if !errors.Is(err, ErrNoToken) {
		t.Fatalf("err %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "hf auth login") || !strings.Contains(msg, "HF_TOKEN") || strings.Contains(msg, "huggingface-cli") {
		t.Errorf("advice %q: want HF_TOKEN or `hf auth login`, and no huggingface-cli", msg)
	}
}

// TestPublishUploadsLFSInParallel: LFS objects go up several at a time,
// never more than the bound (4), and the commit is sent only after every
// upload finished and was verified.
func TestPublishUploadsLFSInParallel(t *testing.T) {
	h := newHarness(t)
	h.fh.putHold = 40 * time.Millisecond
	dir := fixture(t)
	// Ten more shards of 2000 B each: LFS (>= 1024 B), basic transfer.
	for i := 1; i <= 10; i++ {
		b := bytes.Repeat([]byte{byte(i), 0}, 1000)
		p := filepath.Join(dir, "data", "rl", fmt.Sprintf("train-%05d-of-00011.parquet", i))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := h.publish(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.UploadedFiles != 12 {
		t.Fatalf("uploaded %d LFS objects, want 12", res.UploadedFiles)
	}
	if n := h.fh.maxConcurrentPuts(); n < 2 || n > 4 {
		t.Errorf("at most %d storage PUTs were in flight at once; want 2 to 4", n)
	}
	calls := h.fh.callList()
	commit := slices.Index(calls, "commit")
	for i, c := range calls {
		if (c == "put" || c == "part" || c == "complete" || c == "verify") && i > commit {
			t.Errorf("%s (call %d) after the commit (call %d)", c, i, commit)
		}
	}
	h.fh.mu.Lock()
	during := h.fh.commitsDuringUpload
	h.fh.mu.Unlock()
	if during != 0 || h.fh.count("verify") != 12 || h.fh.count("commit") != 1 {
		t.Errorf("commits during uploads %d, verifies %d, commits %d", during, h.fh.count("verify"), h.fh.count("commit"))
	}
}

// TestPublishReportsUploadProgress checks that the progress callback sees
// every uploaded LFS byte, and no more than the plan said would be sent.
func TestPublishReportsUploadProgress(t *testing.T) {
	h := newHarness(t)
	dir := fixture(t)
	var mu sync.Mutex
	var sent []int64
	o := h.opts(dir)
	o.OnUploaded = func(n int64) { mu.Lock(); sent = append(sent, n); mu.Unlock() }
	pub, err := NewPublisher(o)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := pub.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res, err := pub.Apply(context.Background(), pl)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, n := range sent {
		total += n
	}
	if len(sent) != res.UploadedFiles || total != res.UploadedBytes || total != pl.UploadBytes() || total == 0 {
		t.Errorf("callbacks %v (sum %d); result %d files %d bytes; plan %d bytes", sent, total, res.UploadedFiles, res.UploadedBytes, pl.UploadBytes())
	}
	// A second publish sends nothing and reports nothing.
	sent = nil
	if _, err := h.publish(t, dir, func(o *Options) { o.OnUploaded = func(n int64) { sent = append(sent, n) } }); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 0 {
		t.Errorf("unchanged release reported uploads %v", sent)
	}
}
