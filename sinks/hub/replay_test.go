package hub

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	pgo "github.com/parquet-go/parquet-go"

	"kforge/datasets"
	"kforge/internal/hubclient"
	"kforge/sources/replay"
)

// TestReplayDownloadsThroughHubClient: a Hub replay source is downloaded
// by the Hub client (now internal/hubclient) from the strict fake Hub,
// pinned to a commit, and read back row by row; a second read uses the
// cache.
func TestReplayDownloadsThroughHubClient(t *testing.T) {
	h := newHarness(t)
	dir := fixture(t)
	type row struct {
		Prompt   string `parquet:"prompt"`
		Response string `parquet:"response"`
	}
	shards := map[string][]row{
		"data/rl/train-00000-of-00001.parquet":  {{"rl q", "rl a"}},
		"data/sft/train-00000-of-00001.parquet": {{"sft q1", "sft a1"}, {"sft q2", "sft a2"}},
	}
	for p, rows := range shards {
		if err := pgo.WriteFile(filepath.Join(dir, filepath.FromSlash(p)), rows); err != nil {
			t.Fatal(err)
		}
	}
	res, err := h.publish(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := hubclient.NewClient(hubclient.ClientOptions{Endpoint: h.fh.hub.URL, Getenv: func(k string) string { return h.env[k] },
		Retry: h.opts("").Retry, AttemptTimeout: 5 * time.Second, UserAgent: "kforge/test"})
	if err != nil {
		t.Fatal(err)
	}
	var fetcher replay.HubFetcher = c
	src := datasets.ReplaySource{Hub: testRepo, Revision: res.Commit, Split: "train"}
	opt := replay.Options{Hub: fetcher, CacheDir: t.TempDir()}
	read := func() []string {
		var got []string
		if _, err := replay.Each(context.Background(), src, opt, func(r replay.Row) error {
			got = append(got, r.Messages[0].Content+"|"+r.Messages[1].Content)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := []string{"rl q|rl a", "sft q1|sft a1", "sft q2|sft a2"}
	if got := read(); !slices.Equal(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	n := h.fh.count("resolve")
	if n != 2 {
		t.Errorf("%d files fetched, want 2", n)
	}
	if got := read(); !slices.Equal(got, want) || h.fh.count("resolve") != n {
		t.Errorf("second read: rows %v, %d more fetches", got, h.fh.count("resolve")-n)
	}
	if _, err := os.Stat(filepath.Join(opt.CacheDir, "datasets", "kforge", "kernels", res.Commit, "data", "sft", "train-00000-of-00001.parquet")); err != nil {
		t.Errorf("not cached under the commit: %v", err)
	}
}
