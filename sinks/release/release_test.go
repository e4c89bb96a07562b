package release_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"kforge/assemble"
	"kforge/internal/parquetrows"
	"kforge/pipeline"
	"kforge/sources/replay"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	pgo "github.com/parquet-go/parquet-go"
	"gopkg.in/yaml.v3"

	"kforge/configs"
	"kforge/datasets"
	"kforge/shards"
	pq "kforge/sinks/parquet"
	"kforge/sinks/release"
	"kforge/sinks/release/releasetest"
)

// fixture writes the hand-made build and an evaluation set holding the
// leaking kernel; it returns the complete shards and the eval file.
func fixture(t *testing.T) (dirs []string, eval string, fixtures *fixtureData) {
	t.Helper()
	root := t.TempDir()
	build, err := releasetest.Build(root)
	if err != nil {
		t.Fatal(err)
	}
	complete, missing, err := shards.Find([]string{build})
	if err != nil {
		t.Fatal(err)
	}
	if len(complete) != 2 || len(missing) != 1 || !strings.HasSuffix(missing[0], "00002-of-00003") {
		t.Fatalf("FindShards: complete %v missing %v", complete, missing)
	}
	eval = filepath.Join(root, "eval.jsonl")
	b, _ := json.Marshal(map[string]string{"name": "leak", "code": releasetest.Contaminated})
	if err := os.WriteFile(eval, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	fd := &fixtureData{status: map[string]string{}, region: map[string]string{}, op: map[string]string{}}
	for _, dir := range complete {
		d, err := shards.Read(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range d.Verdicts {
			fd.status[v.VariantID] = v.Status
		}
		for _, v := range d.Variants {
			fd.region[v.ID] = v.Region
		}
		for _, tk := range d.Tasks {
			fd.op[tk.ID] = tk.Op
		}
	}
	return complete, eval, fd
}

type fixtureData struct {
	status map[string]string // variant id -> verdict status
	region map[string]string // variant id -> code
	op     map[string]string // task id -> op
}

func config(t *testing.T, eval string, fraction float64) datasets.Config {
	t.Helper()
	var ds datasets.Config
	if err := configs.ApplyDefaults(&ds); err != nil {
		t.Fatal(err)
	}
	ds.HeldOutOps = []string{"softmax"}
	ds.HeldOutFraction = 0.25
	ds.Decontaminate = []string{eval}
	ds.Replay.Fraction = fraction
	if fraction > 0 {
		ds.Replay.Sources = []datasets.ReplaySource{{Path: filepath.Join("testdata", "replay", "general.jsonl"), Split: "train", Weight: 1}}
	}
	return ds
}

// readParquet reads every row of a file with parquet-go, an independent reader.
func readParquet(t *testing.T, path string) ([]map[string]any, map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := pgo.OpenFile(f, st.Size())
	if err != nil {
		t.Fatalf("parquet-go cannot open %s: %v", path, err)
	}
	var rows []map[string]any
	if err := parquetrows.Each(context.Background(), path, func(m map[string]any) error { rows = append(rows, m); return nil }); err != nil {
		t.Fatalf("parquet-go cannot read %s: %v", path, err)
	}
	if int64(len(rows)) != pf.NumRows() {
		t.Fatalf("%s: read %d rows, footer says %d", path, len(rows), pf.NumRows())
	}
	kv := map[string]string{}
	for _, e := range pf.Metadata().KeyValueMetadata {
		kv[e.Key] = e.Value
	}
	for _, rg := range pf.Metadata().RowGroups {
		for _, c := range rg.Columns {
			if c.MetaData.Codec.String() != "ZSTD" {
				t.Fatalf("%s: column %v codec %v, want ZSTD", path, c.MetaData.PathInSchema, c.MetaData.Codec)
			}
			if c.ColumnIndexOffset == 0 || c.OffsetIndexOffset == 0 {
				t.Fatalf("%s: column %v has no page index", path, c.MetaData.PathInSchema)
			}
		}
	}
	if pf.Metadata().CreatedBy != "kforge parquet sink (arrow-go v18)" {
		t.Fatalf("created_by %q", pf.Metadata().CreatedBy)
	}
	return rows, kv
}

func TestBuildRelease(t *testing.T) {
	dirs, eval, fd := fixture(t)
	out := t.TempDir()
	ds := config(t, eval, 0.2)
	sum, err := release.Build(context.Background(), release.Options{Replay: replay.Reader{}, Shards: dirs, Out: out, Dataset: ds,
		Lineage: &shards.Lineage{Model: &shards.ModelRef{Model: "test-coder:7b"}}})
	if err != nil {
		t.Fatal(err)
	}

	// Filters, counted.
	f := sum.Filtered
	if f.Contaminated != 1 {
		t.Errorf("contaminated = %d, want 1", f.Contaminated)
	}
	if f.ExactDuplicates != 1 || f.NearDuplicates != 1 {
		t.Errorf("duplicates exact %d near %d, want 1 and 1", f.ExactDuplicates, f.NearDuplicates)
	}
	want := map[string]int64{"kept": 11, "rejected": 2, "unverified": 3, "quarantined": 1}
	for s, n := range want {
		if f.Verdicts[s] != n {
			t.Errorf("verdicts[%s] = %d, want %d", s, f.Verdicts[s], n)
		}
	}

	// Every file reads back with parquet-go; gather the rows.
	rows := map[string][]map[string]any{}
	var dataFiles []string
	for _, p := range sum.Files {
		if !strings.HasPrefix(p, "data/") {
			continue
		}
		dataFiles = append(dataFiles, p)
		r, kv := readParquet(t, filepath.Join(out, p))
		if !strings.Contains(kv["huggingface"], `"features"`) {
			t.Errorf("%s: no huggingface features metadata", p)
		}
		parts := strings.Split(p, "/")
		key := parts[1] + "/" + parts[2][:strings.Index(parts[2], "-")]
		rows[key] = append(rows[key], r...)
	}
	for k, n := range sum.Rows {
		if int64(len(rows[k])) != n {
			t.Errorf("%s: parquet-go read %d rows, summary says %d", k, len(rows[k]), n)
		}
	}

	// Only kept variants become sft rows; replay rows are marked and only in train.
	taskSplit := map[string]string{}
	var replayRows int
	for _, key := range []string{"sft/train", "sft/test"} {
		for _, r := range rows[key] {
			id := r["id"].(string)
			if r["is_replay"].(bool) {
				replayRows++
				if key != "sft/train" || r["task_id"] != nil || !strings.HasPrefix(r["replay_source"].(string), "path:") {
					t.Errorf("bad replay row in %s: %v", key, r)
				}
				continue
			}
			if fd.status[id] != datasets.StatusKept {
				t.Errorf("%s row %s has status %q: only kept variants may be sft rows", key, id, fd.status[id])
			}
			if fd.region[id] == releasetest.Contaminated {
				t.Errorf("contaminated variant %s reached %s", id, key)
			}
			tid := r["task_id"].(string)
			split := strings.TrimPrefix(key, "sft/")
			if s, ok := taskSplit[tid]; ok && s != split {
				t.Errorf("task %s in two splits", tid)
			}
			taskSplit[tid] = split
			if fd.op[tid] == "softmax" && split != datasets.SplitTest {
				t.Errorf("held-out op softmax in %s", split)
			}
			msgs := r["messages"].([]any)
			last := msgs[len(msgs)-1].(map[string]any)
			if last["role"] != "assistant" || !strings.Contains(last["content"].(string), strings.TrimSpace(fd.region[id])[:40]) {
				t.Errorf("row %s: last message is not the verified code: %v", id, last)
			}
		}
	}
	if replayRows == 0 || int64(replayRows) != sum.Replay.Rows {
		t.Errorf("replay rows %d, summary %d", replayRows, sum.Replay.Rows)
	}
	if d := sum.Replay.Realised - 0.2; d > 0.1 || d < -0.1 {
		t.Errorf("realised replay fraction %.3f, want about 0.2", sum.Replay.Realised)
	}
	for _, key := range []string{"rl/train", "pairs/train", "multiturn/train", "rl/test", "pairs/test"} {
		for _, r := range rows[key] {
			if _, ok := r["is_replay"]; ok {
				t.Errorf("%s has replay column", key)
			}
			if s, ok := taskSplit[r["task_id"].(string)]; ok && "rl/"+s != key && "pairs/"+s != key && "multiturn/"+s != key {
				t.Errorf("%s: task %s is in sft/%s", key, r["task_id"], s)
			}
		}
	}
	// rl: one row per task with a selected variant; the reference solution is the fastest.
	for _, r := range rows["rl/train"] {
		var task datasets.Task
		if err := json.Unmarshal([]byte(r["task_spec"].(string)), &task); err != nil || task.ID != r["task_id"] {
			t.Errorf("rl task_spec does not decode to its task: %v", err)
		}
		if task.Op == "gemm" && r["best_speedup"].(float64) != 3.0 {
			t.Errorf("gemm best speedup %v, want 3", r["best_speedup"])
		}
		if len(r["baselines"].([]any)) == 0 {
			t.Errorf("rl row without baselines")
		}
	}
	// pairs: chosen faster than rejected; rejected carries a reason; never unverified/quarantined.
	var sawIncorrect bool
	for _, k := range []string{"pairs/train", "pairs/test"} {
		for _, r := range rows[k] {
			rs := fd.status[r["rejected_id"].(string)]
			if rs != datasets.StatusRejected && rs != datasets.StatusKept {
				t.Errorf("pair rejected side has status %s", rs)
			}
			if r["rejected_reason"].(string) == "" {
				t.Errorf("pair without a reason: %v", r)
			}
			if strings.Contains(r["rejected_reason"].(string), "max error") {
				sawIncorrect = true
			}
		}
	}
	if !sawIncorrect {
		t.Errorf("no pair with an incorrect rejected side")
	}
	// multiturn: the refinement chain of the gemm task.
	if mt := append(rows["multiturn/train"], rows["multiturn/test"]...); len(mt) != 1 || len(mt[0]["turns"].([]any)) != 2 {
		t.Errorf("multiturn rows: %v", mt)
	}

	// The card's front matter parses and lists every data file.
	card, err := os.ReadFile(filepath.Join(out, release.CardFile))
	if err != nil {
		t.Fatal(err)
	}
	checkCard(t, card, dataFiles, sum)

	var man map[string]any
	raw, _ := os.ReadFile(filepath.Join(out, release.ManifestFile))
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if man["lineage"].(map[string]any)["model"] == nil || man["release"].(map[string]any)["replay"] == nil {
		t.Errorf("manifest lacks lineage or replay: %s", raw[:200])
	}
	png, _ := os.ReadFile(filepath.Join(out, release.PlotFile))
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("speedup plot is not a PNG")
	}

	runDuckDB(t, out, sum, false)
}

func checkCard(t *testing.T, card []byte, dataFiles []string, sum *release.Summary) {
	t.Helper()
	s := string(card)
	if !strings.HasPrefix(s, "---\n") {
		t.Fatalf("card has no front matter")
	}
	end := strings.Index(s[4:], "\n---\n")
	if end < 0 {
		t.Fatalf("front matter not closed")
	}
	var fm struct {
		PrettyName     string   `yaml:"pretty_name"`
		License        string   `yaml:"license"`
		Language       []string `yaml:"language"`
		TaskCategories []string `yaml:"task_categories"`
		Tags           []string `yaml:"tags"`
		SizeCategories []string `yaml:"size_categories"`
		Configs        []struct {
			ConfigName string `yaml:"config_name"`
			DataFiles  []struct {
				Split string   `yaml:"split"`
				Path  []string `yaml:"path"`
			} `yaml:"data_files"`
		} `yaml:"configs"`
		DatasetInfo []struct {
			ConfigName string           `yaml:"config_name"`
			Features   []map[string]any `yaml:"features"`
			Splits     []struct {
				Name        string `yaml:"name"`
				NumExamples int64  `yaml:"num_examples"`
			} `yaml:"splits"`
		} `yaml:"dataset_info"`
	}
	dec := yaml.NewDecoder(strings.NewReader(s[4 : 4+end+1]))
	if err := dec.Decode(&fm); err != nil {
		t.Fatalf("front matter: %v", err)
	}
	if fm.PrettyName == "" || fm.License == "" || len(fm.TaskCategories) == 0 || len(fm.Tags) == 0 || len(fm.SizeCategories) != 1 {
		t.Errorf("front matter misses fields: %+v", fm)
	}
	var listed []string
	for _, c := range fm.Configs {
		for _, df := range c.DataFiles {
			listed = append(listed, df.Path...)
		}
	}
	slices.Sort(listed)
	slices.Sort(dataFiles)
	if !slices.Equal(listed, dataFiles) {
		t.Errorf("card lists %v, release has %v", listed, dataFiles)
	}
	for _, di := range fm.DatasetInfo {
		if len(di.Features) == 0 {
			t.Errorf("%s: no features", di.ConfigName)
		}
		for _, sp := range di.Splits {
			if sp.NumExamples != sum.Rows[di.ConfigName+"/"+sp.Name] {
				t.Errorf("%s/%s: card says %d rows, summary %d", di.ConfigName, sp.Name, sp.NumExamples, sum.Rows[di.ConfigName+"/"+sp.Name])
			}
		}
	}
	for _, want := range []string{"## Funnel", "speedup.png", "## Per op", "## Per architecture", "## Replay", "## Sources", "abababab"} {
		if !strings.Contains(s, want) {
			t.Errorf("card lacks %q", want)
		}
	}
}

// runDuckDB has DuckDB read the shards and check schema, rows and replay.
func runDuckDB(t *testing.T, out string, sum *release.Summary, everyShard bool) {
	t.Helper()
	root, _ := filepath.Abs("../..")
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "@duckdb", "node-api")); err != nil {
		t.Skip("npm module @duckdb/node-api not installed (npm install in the repository root)")
	}
	type split struct {
		Rows    int64             `json:"rows"`
		Columns []string          `json:"columns"`
		Types   map[string]string `json:"types,omitempty"`
	}
	exp := map[string]any{}
	splits := map[string]split{}
	for k, n := range sum.Rows {
		cfg := strings.Split(k, "/")[0]
		var cols []string
		for _, f := range pq.Schema(cfg).Fields() {
			cols = append(cols, f.Name)
		}
		sp := split{Rows: n, Columns: cols}
		if cfg == "sft" {
			sp.Types = map[string]string{"messages": `STRUCT("role" VARCHAR, "content" VARCHAR, reasoning_content VARCHAR)[]`, "is_replay": "BOOLEAN", "speedup": "DOUBLE"}
		}
		splits[k] = sp
	}
	exp["splits"] = splits
	exp["replay"] = map[string]any{"split": "sft/train", "rows": sum.Replay.Rows, "fraction": sum.Replay.Realised, "mode": sum.Replay.Mode, "every_shard": everyShard}
	b, _ := json.Marshal(exp)
	ef := filepath.Join(t.TempDir(), "expect.json")
	os.WriteFile(ef, b, 0o644)
	cmd := exec.Command("node", filepath.Join(root, "scripts", "duckdb-check.mjs"), out, ef)
	cmd.Dir = root
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb check failed: %v\n%s", err, res)
	}
	t.Logf("duckdb: %s", res)
}

// TestReplayInEveryShard splits sft/train into several small shards and
// checks with DuckDB that each holds replay rows.
func TestReplayInEveryShard(t *testing.T) {
	dirs, eval, _ := fixture(t)
	out := t.TempDir()
	ds := config(t, eval, 0.3)
	ds.HeldOutOps, ds.HeldOutFraction = nil, 0
	sum, err := release.Build(context.Background(), release.Options{Replay: replay.Reader{}, Shards: dirs, Out: out, Dataset: ds,
		MaxShardBytes: 8000, RowGroupBytes: 2000}) // sft rows hold each message twice (messages, prompt/completion)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, f := range sum.Files {
		if strings.HasPrefix(f, "data/sft/train-") {
			n++
			rows, _ := readParquet(t, filepath.Join(out, f))
			replay := 0
			for _, r := range rows {
				if r["is_replay"].(bool) {
					replay++
				}
			}
			if replay == 0 {
				t.Errorf("%s has no replay rows", f)
			}
		}
	}
	if n < 2 {
		t.Fatalf("sft/train has %d shards, want several", n)
	}
	runDuckDB(t, out, sum, true)
}

// TestReplayIsDecontaminated: a replay row quoting evaluation code is never
// sampled, and is counted, in the summary and the card.
func TestReplayIsDecontaminated(t *testing.T) {
	dirs, eval, _ := fixture(t)
	var src bytes.Buffer
	for i := range 6 {
		answer := fmt.Sprintf("A general answer number %d, about gardens and weather.", i)
		if i == 3 {
			answer = "Here is a transpose kernel:\n" + releasetest.Contaminated
		}
		b, _ := json.Marshal(map[string]any{"messages": []map[string]string{
			{"role": "user", "content": fmt.Sprint("Question ", i)}, {"role": "assistant", "content": answer}}})
		src.Write(append(b, '\n'))
	}
	path := filepath.Join(t.TempDir(), "general.jsonl")
	if err := os.WriteFile(path, src.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ds := config(t, eval, 0.9) // a quota above the source: every eligible row is sampled
	ds.Replay.Mode = assemble.ReplayRows
	ds.Replay.Sources = []datasets.ReplaySource{{Path: path, Split: "train", Weight: 1}}
	out := t.TempDir()
	sum, err := release.Build(context.Background(), release.Options{Replay: replay.Reader{}, Shards: dirs, Out: out, Dataset: ds})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Filtered.ContaminatedReplay != 1 || sum.Replay.Rows != 5 {
		t.Errorf("contaminated replay %d, replay rows %d; want 1 and 5", sum.Filtered.ContaminatedReplay, sum.Replay.Rows)
	}
	for _, f := range sum.Files {
		if !strings.HasPrefix(f, "data/sft/") {
			continue
		}
		rows, _ := readParquet(t, filepath.Join(out, f))
		for _, r := range rows {
			if js, _ := json.Marshal(r["messages"]); strings.Contains(string(js), "leak_transpose") {
				t.Errorf("%s: a row quotes the evaluation kernel: %v", f, r["id"])
			}
		}
	}
	card, err := os.ReadFile(filepath.Join(out, "README.md"))
	if err != nil || !strings.Contains(string(card), "1 replay rows leaking evaluation code") {
		t.Errorf("the card does not count the leaking replay row (%v)", err)
	}
}

func TestExportsAreByteIdentical(t *testing.T) {
	dirs, eval, _ := fixture(t)
	ds := config(t, eval, 0.05)
	var outs []string
	for i := 0; i < 2; i++ {
		out := t.TempDir()
		// The order shards are given in must not matter.
		sh := slices.Clone(dirs)
		if i == 1 {
			slices.Reverse(sh)
		}
		if _, err := release.Build(context.Background(), release.Options{Replay: replay.Reader{}, Shards: sh, Out: out, Dataset: ds}); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	a, b := listFiles(t, outs[0]), listFiles(t, outs[1])
	if !slices.Equal(slices.Sorted(mapKeys(a)), slices.Sorted(mapKeys(b))) {
		t.Fatalf("file sets differ: %v vs %v", slices.Sorted(mapKeys(a)), slices.Sorted(mapKeys(b)))
	}
	for p, x := range a {
		if !bytes.Equal(x, b[p]) {
			t.Errorf("%s differs between two exports", p)
		}
	}
	// A third export into the first directory with another config replaces
	// its data files and leaves no stale ones behind.
	ds.Formats = []string{"sft"}
	if _, err := release.Build(context.Background(), release.Options{Replay: replay.Reader{}, Shards: dirs, Out: outs[0], Dataset: ds}); err != nil {
		t.Fatal(err)
	}
	for p := range listFiles(t, outs[0]) {
		if strings.HasPrefix(p, "data/") && !strings.HasPrefix(p, "data/sft/") {
			t.Errorf("stale data file %s", p)
		}
	}
}

func mapKeys(m map[string][]byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func listFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, _ := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if len(out) == 0 {
		t.Fatalf("no files in %s", dir)
	}
	return out
}

func TestBuildErrors(t *testing.T) {
	dirs, eval, _ := fixture(t)
	ds := config(t, eval, 0)
	tests := []struct {
		name string
		opt  release.Options
		want string
	}{
		{"no shards", release.Options{Replay: replay.Reader{}, Out: t.TempDir(), Dataset: ds}, "no shards"},
		{"incomplete shard", release.Options{Replay: replay.Reader{}, Shards: []string{filepath.Join(filepath.Dir(dirs[0]), "00002-of-00003")}, Out: t.TempDir(), Dataset: ds}, "not complete"},
		{"missing eval set", release.Options{Replay: replay.Reader{}, Shards: dirs, Out: t.TempDir(), Dataset: func() datasets.Config {
			d := ds
			d.Decontaminate = []string{"/nonexistent/eval.jsonl"}
			return d
		}()}, "decontamination set"},
		{"bad replay source", release.Options{Replay: replay.Reader{}, Shards: dirs, Out: t.TempDir(), Dataset: func() datasets.Config {
			d := ds
			d.Replay.Fraction = 0.1
			d.Replay.Sources = []datasets.ReplaySource{{Hub: "org/general", Revision: "abc", Weight: 1}}
			return d
		}()}, "no Hub client"},
		{"unknown format", release.Options{Replay: replay.Reader{}, Shards: dirs, Out: t.TempDir(), Dataset: func() datasets.Config {
			d := ds
			d.Formats = []string{"sft", "dpo"}
			return d
		}()}, "unknown dataset config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := release.Build(context.Background(), tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			// Nothing half-written is left under final names.
			if ents, _ := os.ReadDir(filepath.Join(tc.opt.Out, "data")); len(ents) > 0 {
				files := listFilesOrEmpty(filepath.Join(tc.opt.Out, "data"))
				for _, f := range files {
					if strings.HasSuffix(f, ".parquet") {
						t.Errorf("left %s behind", f)
					}
				}
			}
		})
	}
}

func listFilesOrEmpty(dir string) []string {
	var out []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestReleaseSwapsInWhole: a release is written beside its directory and
// renamed into place. A run killed midway (its temporary directory and a
// hidden temporary file inside the old release left behind) is cleaned up by
// the next, whose release is byte-identical to an uninterrupted one; a
// canceled run says so in one line and leaves the old release untouched.
func TestReleaseSwapsInWhole(t *testing.T) {
	dirs, eval, _ := fixture(t)
	ds := config(t, eval, 0.05)
	clean := filepath.Join(t.TempDir(), "release")
	if _, err := release.Build(context.Background(), release.Options{Replay: replay.Reader{}, Shards: dirs, Out: clean, Dataset: ds}); err != nil {
		t.Fatal(err)
	}
	want := listFiles(t, clean)

	root := t.TempDir()
	out := filepath.Join(root, "release")
	ds1 := ds
	ds1.Formats = []string{"sft"} // an older, different release in place
	if _, err := release.Build(context.Background(), release.Options{Replay: replay.Reader{}, Shards: dirs, Out: out, Dataset: ds1}); err != nil {
		t.Fatal(err)
	}
	old := listFiles(t, out)

	// Canceled once the new release is whole, just before the swap.
	ctx, cancel := context.WithCancel(context.Background())
	release.SetTestHookBeforeSwap(t, func(string) { cancel() })
	_, err := release.Build(ctx, release.Options{Replay: replay.Reader{}, Shards: dirs, Out: out, Dataset: ds})
	if !errors.Is(err, release.ErrCanceled) || err.Error() != "release: canceled (context canceled)" {
		t.Fatalf("canceled build: %v", err)
	}
	release.SetTestHookBeforeSwap(t, nil)
	sameFiles(t, "after a canceled build", listFiles(t, out), old)
	if left := tempLeftovers(root); len(left) > 0 {
		t.Fatalf("a canceled build left %v", left)
	}

	// Killed: what a SIGKILL leaves (a temporary release beside it, a hidden
	// temporary file in the old release's data) is removed by the next build.
	killed := filepath.Join(root, ".release.tmp-123")
	if err := os.MkdirAll(filepath.Join(killed, "data", "sft"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(killed, "data", "sft", ".train.tmp-9"), "half")
	writeTestFile(t, filepath.Join(out, "data", "sft", ".train.tmp-7"), "half")
	if _, err := release.Build(context.Background(), release.Options{Replay: replay.Reader{}, Shards: dirs, Out: out, Dataset: ds}); err != nil {
		t.Fatal(err)
	}
	if left := tempLeftovers(root); len(left) > 0 {
		t.Fatalf("leftovers of a killed build remain: %v", left)
	}
	sameFiles(t, "after a killed build", listFiles(t, out), want)

	// Killed between the two renames of a swap without an atomic exchange:
	// the release is missing and the old one is aside; it is put back.
	if err := os.Rename(out, filepath.Join(root, ".release.old-5")); err != nil {
		t.Fatal(err)
	}
	if err := release.RemoveLeftovers(out); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "restored", listFiles(t, out), want)
}

func sameFiles(t *testing.T, what string, got, want map[string][]byte) {
	t.Helper()
	if !slices.Equal(slices.Sorted(mapKeys(got)), slices.Sorted(mapKeys(want))) {
		t.Fatalf("%s: files %v, want %v", what, slices.Sorted(mapKeys(got)), slices.Sorted(mapKeys(want)))
	}
	for p, b := range want {
		if !bytes.Equal(got[p], b) {
			t.Errorf("%s: %s differs", what, p)
		}
	}
}

// tempLeftovers lists temporary files and directories under root.
func tempLeftovers(root string) []string {
	var left []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && (pipeline.IsTempName(d.Name()) || strings.Contains(d.Name(), ".old-")) {
			left = append(left, p)
		}
		return nil
	})
	return left
}

func writeTestFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReleaseProgress: the progress callback counts every task read while
// planning (total unknown), then every task again while writing rows, out
// of the tasks planned.
func TestReleaseProgress(t *testing.T) {
	dirs, eval, _ := fixture(t)
	var calls []string
	var lastPlan, lastRows [2]int64
	_, err := release.Build(context.Background(), release.Options{Replay: replay.Reader{}, Shards: dirs, Out: t.TempDir(),
		Dataset: config(t, eval, 0), Progress: func(stage string, done, total int64) {
			if len(calls) == 0 || calls[len(calls)-1] != stage {
				calls = append(calls, stage)
			}
			switch stage {
			case "reading shards":
				lastPlan = [2]int64{done, total}
			case "writing rows":
				lastRows = [2]int64{done, total}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	var tasks int64
	for _, d := range dirs {
		data, err := shards.Read(d)
		if err != nil {
			t.Fatal(err)
		}
		tasks += int64(len(data.Tasks))
	}
	if want := []string{"reading shards", "writing rows"}; !slices.Equal(calls, want) {
		t.Errorf("stages %q, want %q", calls, want)
	}
	if lastPlan != [2]int64{tasks, 0} || lastRows != [2]int64{tasks, tasks} || tasks == 0 {
		t.Errorf("planning ended at %v, rows at %v; the shards hold %d tasks", lastPlan, lastRows, tasks)
	}
}
