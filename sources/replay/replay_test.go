package replay

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	pgo "github.com/parquet-go/parquet-go"

	"kforge/datasets"
)

func mk(role, content string) datasets.ChatMessage {
	return datasets.ChatMessage{Role: role, Content: content}
}

func collect(t *testing.T, src datasets.ReplaySource, opt Options) ([]Row, int64, error) {
	t.Helper()
	var rows []Row
	skipped, err := Each(context.Background(), src, opt, func(r Row) error { rows = append(rows, r); return nil })
	return rows, skipped, err
}

func TestJSONLShapes(t *testing.T) {
	rows, skipped, err := collect(t, datasets.ReplaySource{Path: "testdata/chat.jsonl"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || skipped != 2 {
		t.Fatalf("%d rows, %d skipped; want 5 and 2", len(rows), skipped)
	}
	want := [][]datasets.ChatMessage{
		{mk("system", "You are helpful."), mk("user", "Name three primary colours."), mk("assistant", "Red, yellow and blue in the traditional painter's model.")},
		{mk("user", "What is 7 times 8?"), mk("assistant", "56.")},
		{mk("user", "Translate to French\n\ngood morning"), mk("assistant", "bonjour")},
		{mk("user", "Say hi."), mk("assistant", "Hi!")},
		{mk("user", "Capital of Japan?"), mk("assistant", "Tokyo.")},
	}
	for i, w := range want {
		if !slices.Equal(rows[i].Messages, w) || rows[i].Index != int64(i) {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], w)
		}
	}
}

func TestParquetAnySchema(t *testing.T) {
	dir := t.TempDir()
	type msg struct {
		Role    string `parquet:"role"`
		Content string `parquet:"content"`
	}
	type chatRow struct {
		ID       int64 `parquet:"id"`
		Messages []msg `parquet:"messages,list"`
	}
	type pairRow struct {
		Prompt   string  `parquet:"prompt"`
		Response string  `parquet:"response"`
		Score    float64 `parquet:"score"`
	}
	chat := filepath.Join(dir, "chat.parquet")
	if err := pgo.WriteFile(chat, []chatRow{{1, []msg{{"user", "u1"}, {"assistant", "a1"}}}, {2, []msg{{"user", "u2"}, {"assistant", "a2"}}}}); err != nil {
		t.Fatal(err)
	}
	pairs := filepath.Join(dir, "pairs.parquet")
	if err := pgo.WriteFile(pairs, []pairRow{{"p1", "r1", 0.5}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want [][]datasets.ChatMessage
	}{
		{chat, [][]datasets.ChatMessage{{mk("user", "u1"), mk("assistant", "a1")}, {mk("user", "u2"), mk("assistant", "a2")}}},
		{pairs, [][]datasets.ChatMessage{{mk("user", "p1"), mk("assistant", "r1")}}},
	} {
		rows, _, err := collect(t, datasets.ReplaySource{Path: tc.path}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(tc.want) {
			t.Fatalf("%s: %d rows", tc.path, len(rows))
		}
		for i := range rows {
			if !slices.Equal(rows[i].Messages, tc.want[i]) {
				t.Errorf("%s row %d = %v", tc.path, i, rows[i].Messages)
			}
		}
	}
}

func TestLocalDatasetFolderSplits(t *testing.T) {
	for split, want := range map[string]string{"train": "train one", "test": "test one"} {
		rows, _, err := collect(t, datasets.ReplaySource{Path: "testdata/hfdataset", Split: split}, Options{})
		if err != nil || len(rows) != 1 || rows[0].Messages[0].Content != want {
			t.Errorf("split %s: %v %v", split, rows, err)
		}
	}
	if _, _, err := collect(t, datasets.ReplaySource{Path: "testdata/hfdataset", Split: "validation"}, Options{}); err == nil {
		t.Errorf("a missing split must be an error")
	}
}

func TestBadSources(t *testing.T) {
	tests := []struct {
		name string
		src  datasets.ReplaySource
		want string
	}{
		{"broken line", datasets.ReplaySource{Path: "testdata/broken.jsonl"}, "line 2"},
		{"no conversation shape", datasets.ReplaySource{Path: "testdata/textonly.jsonl"}, "no row has a messages or prompt/response shape"},
		{"missing file", datasets.ReplaySource{Path: "testdata/nope.jsonl"}, "no such file"},
		{"hub without client", datasets.ReplaySource{Hub: "org/data", Revision: "abc"}, "no Hub client"},
		{"hub without revision", datasets.ReplaySource{Hub: "org/data"}, "pinned revision"},
	}
	for _, tc := range tests {
		if _, _, err := collect(t, tc.src, Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	// A non-Parquet file with a .parquet name is an error, not a panic.
	bad := filepath.Join(t.TempDir(), "x.parquet")
	os.WriteFile(bad, []byte("not parquet at all"), 0o644)
	if _, _, err := collect(t, datasets.ReplaySource{Path: bad}, Options{}); err == nil {
		t.Errorf("garbage Parquet accepted")
	}
}

// fakeHub stands in for the Hugging Face Hub: it checks what the Hub checks
// (a repo id "owner/name", a revision) and serves files from a fixture
// folder, copying them into the cache once.
type fakeHub struct {
	files map[string]string // relative path -> content
	calls int
}

var repoID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)

func (h *fakeHub) Download(ctx context.Context, repo, revision, cacheDir string) ([]string, error) {
	h.calls++
	if !repoID.MatchString(repo) {
		return nil, errors.New("400: invalid repo id")
	}
	if revision != strings.Repeat("a", 40) {
		return nil, errors.New("404: revision not found")
	}
	var out []string
	for rel, content := range h.files {
		p := filepath.Join(cacheDir, repo, revision, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func TestHubSource(t *testing.T) {
	hub := &fakeHub{files: map[string]string{
		"data/train-00000-of-00001.jsonl": `{"prompt": "hub q", "response": "hub a"}` + "\n",
		"README.md":                       "card",
	}}
	opt := Options{Hub: hub, CacheDir: t.TempDir()}
	rev := strings.Repeat("a", 40)
	rows, _, err := collect(t, datasets.ReplaySource{Hub: "org/general", Revision: rev, Split: "train"}, opt)
	if err != nil || len(rows) != 1 || rows[0].Messages[1].Content != "hub a" {
		t.Fatalf("rows %v err %v", rows, err)
	}
	if Label(datasets.ReplaySource{Hub: "org/general", Revision: rev}) != "hub:org/general@"+rev {
		t.Errorf("label")
	}
	for _, src := range []datasets.ReplaySource{{Hub: "not a repo", Revision: rev}, {Hub: "org/general", Revision: "main"}} {
		if _, _, err := collect(t, src, opt); err == nil {
			t.Errorf("%+v accepted", src)
		}
	}
}
