package build

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"kforge/configs"
	"kforge/datasets"
	"kforge/pipeline"
	"kforge/sinks/hub"
	"kforge/sources/repos"
)

// memShard is a shard directory in memory.
type memShard struct {
	complete bool
	snap     pipeline.Snapshot
	failures []datasets.Failure
	cleaned  int
	reopened int
	written  *datasets.ShardData
}

func (m *memShard) Path() string { return "mem" }
func (m *memShard) Clean() error { m.cleaned++; return nil }
func (m *memShard) Recorded() (pipeline.Snapshot, bool, error) {
	return m.snap, m.complete, nil
}
func (m *memShard) Failures() ([]datasets.Failure, error) { return m.failures, nil }
func (m *memShard) Reopen() error {
	if !m.complete {
		return errors.New("reopening an incomplete shard")
	}
	m.complete = false
	m.reopened++
	return nil
}
func (m *memShard) Write(data *datasets.ShardData, stats *pipeline.Stats, failures []datasets.Failure) error {
	if m.complete {
		return errors.New("writing over a complete shard")
	}
	m.written, m.failures, m.snap, m.complete = data, failures, stats.Snapshot(), true
	return nil
}

// harness is a Build over fakes, counting what the build asked for.
type harness struct {
	b                           *Build
	dir                         *memShard
	gen                         *fakeGen
	ver                         *fakeVer
	log                         *bytes.Buffer
	starts, releases, publishes int
}

func newHarness(cfg *configs.Config, shard pipeline.Shard, mined *repos.Result) *harness {
	h := &harness{dir: &memShard{}, gen: &fakeGen{concurrency: 2}, log: &bytes.Buffer{}}
	h.ver = &fakeVer{judge: func(k key) datasets.Verdict { return kept(1.5) }}
	h.b = &Build{
		Config: cfg, Shard: shard, Dir: h.dir,
		Log: slog.New(slog.NewTextHandler(h.log, nil)),
		Start: func(ctx context.Context, stats *pipeline.Stats) (*Inputs, error) {
			h.starts++
			return &Inputs{Generator: h.gen, Verifier: h.ver, Mined: mined}, nil
		},
		Release: func(ctx context.Context, stats *pipeline.Stats) error { h.releases++; return nil },
		Publish: func(ctx context.Context) error { h.publishes++; return nil },
	}
	return h
}

func testConfig() *configs.Config {
	cfg := &configs.Config{}
	cfg.Model.Samples, cfg.Model.Rounds = 2, 1
	cfg.Verify.CompileWorkers = 1
	return cfg
}

func minedTasks(ids ...string) *repos.Result {
	r := &repos.Result{}
	for _, id := range ids {
		r.Tasks = append(r.Tasks, datasets.Task{ID: id})
	}
	return r
}

// TestBuildResume: a complete shard without failed items does nothing but
// the release decision; one with failed items is reopened and built again;
// an incomplete one is built.
func TestBuildResume(t *testing.T) {
	ctx := context.Background()
	t.Run("incomplete", func(t *testing.T) {
		h := newHarness(testConfig(), pipeline.All, minedTasks("a", "b"))
		res, err := h.b.Run(ctx)
		if err != nil || res.Failed != 0 {
			t.Fatalf("res %+v err %v", res, err)
		}
		if h.starts != 1 || h.releases != 1 || h.dir.cleaned != 1 || h.dir.written == nil || len(h.dir.written.Tasks) != 2 {
			t.Fatalf("starts %d releases %d cleaned %d written %v", h.starts, h.releases, h.dir.cleaned, h.dir.written)
		}
		// Rerun: complete, nothing to do but the release decision.
		h.gen.reqs = nil
		res, err = h.b.Run(ctx)
		if err != nil || res.Failed != 0 || h.starts != 1 || h.releases != 2 || h.gen.calls() != 0 {
			t.Fatalf("rerun of a complete shard: res %+v err %v starts %d releases %d calls %d", res, err, h.starts, h.releases, h.gen.calls())
		}
		if !strings.Contains(h.log.String(), "shard already complete") {
			t.Errorf("log: %s", h.log)
		}
	})
	t.Run("complete with failed items", func(t *testing.T) {
		h := newHarness(testConfig(), pipeline.All, minedTasks("a"))
		stats := pipeline.NewStats()
		stats.Fail("generate", errors.New("503"))
		h.dir.complete, h.dir.snap = true, stats.Snapshot()
		h.dir.failures = []datasets.Failure{{Stage: "generate", TaskID: "a", Error: "503"}}
		res, err := h.b.Run(ctx)
		if err != nil || res.Failed != 0 || h.dir.reopened != 1 || h.starts != 1 || h.dir.written == nil {
			t.Fatalf("res %+v err %v reopened %d starts %d", res, err, h.dir.reopened, h.starts)
		}
		if !strings.Contains(h.log.String(), "retrying exactly those") || !strings.Contains(h.log.String(), "task=a") {
			t.Errorf("log does not name the retried items: %s", h.log)
		}
	})
}

// TestBuildFinish: the exit-deciding outcome and whether the release is
// written and published.
func TestBuildFinish(t *testing.T) {
	failingGen := func(h *harness) {
		h.gen.fail = func(k key) error {
			if k.task == "a" {
				return errors.New("model server: 503")
			}
			return nil
		}
	}
	cases := []struct {
		name          string
		shard         pipeline.Shard
		maxFailed     int
		publish       *hub.Config
		fail          bool
		wantFailed    int64
		wantErr       string
		wantReleases  int
		wantPublishes int
	}{
		{name: "clean unsharded build publishes", shard: pipeline.All, maxFailed: -1, publish: &hub.Config{Repo: "o/n"}, wantReleases: 1, wantPublishes: 1},
		{name: "a shard of many leaves the release to merge", shard: pipeline.Shard{I: 0, N: 2}, maxFailed: -1, publish: &hub.Config{Repo: "o/n"}},
		{name: "failed items are not published", shard: pipeline.All, maxFailed: -1, publish: &hub.Config{Repo: "o/n"}, fail: true,
			wantFailed: 2, wantErr: "not publishing: 2 items failed, more than publish.max_failed_items=0", wantReleases: 1},
		{name: "within the publish budget", shard: pipeline.All, maxFailed: -1, publish: &hub.Config{Repo: "o/n", MaxFailedItems: 2, MaxFailedFraction: 1}, fail: true,
			wantFailed: 2, wantReleases: 1, wantPublishes: 1},
		{name: "over run.max_failed_items", shard: pipeline.All, maxFailed: 1, fail: true,
			wantFailed: 2, wantErr: "2 items failed, more than run.max_failed_items=1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Run.MaxFailedItems = tc.maxFailed
			cfg.Publish = tc.publish
			ids := []string{"a", "b", "c", "d", "e", "f"}
			h := newHarness(cfg, tc.shard, minedTasks(ids...))
			if tc.fail {
				failingGen(h)
			}
			res, err := h.b.Run(context.Background())
			if tc.shard.N > 1 {
				n := 0
				for _, id := range ids {
					if tc.shard.Owns(id) {
						n++
					}
				}
				if len(h.dir.written.Tasks) != n {
					t.Errorf("shard wrote %d tasks, owns %d", len(h.dir.written.Tasks), n)
				}
			}
			if res.Failed != tc.wantFailed {
				t.Errorf("failed = %d, want %d", res.Failed, tc.wantFailed)
			}
			if (err == nil) != (tc.wantErr == "") || err != nil && err.Error() != tc.wantErr {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			var np *NotPublishedError
			if strings.HasPrefix(tc.wantErr, "not publishing") != errors.As(err, &np) {
				t.Errorf("err %T: want a NotPublishedError exactly when not publishing", err)
			}
			if h.releases != tc.wantReleases || h.publishes != tc.wantPublishes {
				t.Errorf("releases %d publishes %d, want %d %d", h.releases, h.publishes, tc.wantReleases, tc.wantPublishes)
			}
		})
	}
}

// TestUnreadableSources: a source mining could not read is a failed item
// unless the recipe allows a partial build, and is named either way.
func TestUnreadableSources(t *testing.T) {
	for _, allow := range []bool{false, true} {
		cfg := testConfig()
		cfg.Run.MaxFailedItems = -1
		cfg.Sources.AllowPartial = allow
		mined := minedTasks("a")
		mined.Repos = []repos.RepoInfo{{URL: "https://example.invalid/r.git", Error: "unreachable"}, {URL: "ok"}}
		h := newHarness(cfg, pipeline.All, mined)
		res, err := h.b.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := int64(1)
		if allow {
			want = 0
		}
		if res.Failed != want || len(h.dir.failures) != 1 || h.dir.failures[0].Source != "https://example.invalid/r.git" || h.dir.failures[0].Allowed != allow {
			t.Errorf("allow_partial=%v: failed %d, failures %+v", allow, res.Failed, h.dir.failures)
		}
		if !strings.Contains(h.log.String(), "unreadable_sources") {
			t.Errorf("the summary does not name the source: %s", h.log)
		}
	}
}
