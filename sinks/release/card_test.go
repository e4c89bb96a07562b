package release_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"kforge/assemble"
	"kforge/datasets"
	"kforge/datasets/tokenizer"
	"kforge/sinks/hub"
	"kforge/sinks/release"
	"kforge/sources/replay"
)

const tokenizerFixture = "../../datasets/tokenizer/testdata/bytebpe.json"

// buildCardRelease builds the fixture release with the given formats, verl
// columns, the fixture tokenizer and a known repo.
func buildCardRelease(t *testing.T, formats []string) (string, *release.Summary, string) {
	t.Helper()
	shards, eval, _ := fixture(t)
	out := t.TempDir()
	ds := config(t, eval, 0.2)
	ds.Formats = formats
	ds.Verl = true
	ds.Tokenizer = tokenizerFixture
	sum, err := release.Build(context.Background(), release.Options{Replay: replay.Reader{}, Shards: shards, Out: out, Dataset: ds, Repo: "kforge-org/kernels"})
	if err != nil {
		t.Fatal(err)
	}
	card, err := os.ReadFile(filepath.Join(out, release.CardFile))
	if err != nil {
		t.Fatal(err)
	}
	return out, sum, string(card)
}

// duckRows has DuckDB read every row of a config.
func duckRows(t *testing.T, out, config string) (map[string]string, []map[string]any) {
	t.Helper()
	root, _ := filepath.Abs("../..")
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "@duckdb", "node-api")); err != nil {
		t.Skip("npm module @duckdb/node-api not installed (npm ci in the repository root)")
	}
	cmd := exec.Command("node", filepath.Join(root, "scripts", "duckdb-rows.mjs"), out, config)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("duckdb %s: %v\n%s", config, err, stderr.String())
	}
	var got struct {
		Types map[string]string `json:"types"`
		Rows  []map[string]any  `json:"rows"`
	}
	if err := json.Unmarshal(res, &got); err != nil {
		t.Fatalf("duckdb output: %v", err)
	}
	return got.Types, got.Rows
}

type msg struct{ role, content, reasoning string }

func msgs(t *testing.T, v any) []msg {
	t.Helper()
	var out []msg
	for _, e := range v.([]any) {
		m := e.(map[string]any)
		r, _ := m["reasoning_content"].(string)
		out = append(out, msg{m["role"].(string), m["content"].(string), r})
	}
	return out
}

func count(tk tokenizer.Counter, ms []msg) int {
	n := 0
	for _, m := range ms {
		n += tk.Count(m.content) + tk.Count(m.reasoning) + release.TemplateTokensPerMessage
	}
	return n
}

// cardTokenRow parses the card's token table row of a config.
func cardTokenRow(t *testing.T, card, config string) []int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\| ` + config + ` \|((?: \d+ \|){8})$`).FindStringSubmatch(card)
	if m == nil {
		t.Fatalf("card has no token statistics for %s:\n%s", config, card)
	}
	var out []int
	for _, f := range strings.Fields(strings.ReplaceAll(m[1], "|", " ")) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

// TestCardMatchesRows reads each config back with DuckDB and checks the sft
// prompt/completion form, the verl columns of rl and, recounting every row
// with the fixture tokenizer, the card's token statistics and the TRL/verl
// lengths it recommends.
func TestCardMatchesRows(t *testing.T) {
	out, sum, card := buildCardRelease(t, nil)
	tk, err := tokenizer.Load(tokenizerFixture)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(card, "testdata/bytebpe.json") || strings.Contains(card, "**estimated**") {
		t.Errorf("card does not name the tokenizer it counted with")
	}
	if strings.Contains(card, "<repo>") || !strings.Contains(card, `REPO_ID = "kforge-org/kernels"`) {
		t.Errorf("card does not load the real repo id")
	}
	for _, config := range datasets.Configs {
		types, rows := duckRows(t, out, config)
		var n int64
		for k, v := range sum.Rows {
			if strings.HasPrefix(k, config+"/") {
				n += v
			}
		}
		if int64(len(rows)) != n || n == 0 {
			t.Fatalf("%s: DuckDB read %d rows, summary %d", config, len(rows), n)
		}
		var prompt, completion []int
		index := map[string]int{}
		for i, r := range rows {
			var p, c []msg
			switch config {
			case datasets.ConfigSFT:
				all := msgs(t, r["messages"])
				p, c = msgs(t, r["prompt"]), msgs(t, r["completion"])
				if len(c) != 1 || c[0].role != "assistant" || !reflect.DeepEqual(append(slices.Clone(p), c...), all) {
					t.Errorf("sft row %d: prompt %v + completion %v is not messages %v", i, p, c, all)
				}
				if rs, _ := r["reasoning"].(string); r["is_replay"] == false && c[0].reasoning != rs {
					t.Errorf("sft row %d: reasoning_content %q, reasoning column %q", i, c[0].reasoning, rs)
				}
			case datasets.ConfigRL:
				p = msgs(t, r["prompt"])
				c = []msg{{"assistant", "```cpp\n" + strings.TrimRight(r["reference_solution"].(string), "\n") + "\n```", ""}}
				rm, _ := r["reward_model"].(map[string]any)
				ei, _ := r["extra_info"].(map[string]any)
				if r["data_source"] != assemble.VerlDataSource || r["ability"] != assemble.VerlAbility || rm["style"] != assemble.VerlStyle ||
					rm["ground_truth"] != r["task_spec"] || ei["task_id"] != r["task_id"] || ei["reference_solution"] != r["reference_solution"] {
					t.Errorf("rl row %d: verl columns %v %v %v %v", i, r["data_source"], r["ability"], rm, ei)
				}
				split := ei["split"].(string)
				if got := int(ei["index"].(float64)); got != index[split] {
					t.Errorf("rl row %d: extra_info.index %d, want %d", i, got, index[split])
				}
				index[split]++
			case datasets.ConfigPairs:
				p = msgs(t, r["prompt"])
				ch, rj := msgs(t, r["chosen"]), msgs(t, r["rejected"])
				c = ch
				if count(tk, rj) > count(tk, ch) {
					c = rj
				}
			case datasets.ConfigMultiturn:
				all := msgs(t, r["messages"])
				k := slices.IndexFunc(all, func(m msg) bool { return m.role == "assistant" })
				p, c = all[:k], all[k:]
			}
			prompt = append(prompt, count(tk, p))
			completion = append(completion, count(tk, c))
		}
		if config == datasets.ConfigRL {
			for _, col := range []string{"data_source", "ability", "reward_model", "extra_info"} {
				if types[col] == "" {
					t.Errorf("rl lacks column %s", col)
				}
			}
		}
		total := 0
		for i := range prompt {
			total = max(total, prompt[i]+completion[i])
		}
		want := []int{len(rows), release.Percentile(prompt, 0.5), release.Percentile(prompt, 0.95), slices.Max(prompt),
			release.Percentile(completion, 0.5), release.Percentile(completion, 0.95), slices.Max(completion), total}
		got := cardTokenRow(t, card, config)
		if !slices.Equal(got, want) {
			t.Errorf("%s token statistics: card %v, rows %v", config, got, want)
		}
		var settings []string
		switch config {
		case datasets.ConfigSFT:
			settings = []string{fmt.Sprintf("SFTConfig(max_length=%d, completion_only_loss=True)", release.RoundUp64(total))}
		case datasets.ConfigRL:
			settings = []string{
				fmt.Sprintf("GRPOConfig(max_prompt_length=%d, max_completion_length=%d)", release.RoundUp64(slices.Max(prompt)), release.RoundUp64(slices.Max(completion))),
				fmt.Sprintf("data.max_prompt_length=%d data.max_response_length=%d", release.RoundUp64(slices.Max(prompt)), release.RoundUp64(slices.Max(completion))),
			}
		case datasets.ConfigPairs:
			settings = []string{fmt.Sprintf("DPOConfig(max_prompt_length=%d, max_completion_length=%d, max_length=%d)",
				release.RoundUp64(slices.Max(prompt)), release.RoundUp64(slices.Max(completion)), release.RoundUp64(total))}
		}
		for _, s := range settings {
			if !strings.Contains(card, s) {
				t.Errorf("card lacks %q", s)
			}
		}
	}
}

// TestCardFrontMatter parses the card's YAML and checks it against the
// Hub's card metadata rules: configs only for configs present, a license
// from the sources, size categories per config; and it passes the
// publisher's own validation.
func TestCardFrontMatter(t *testing.T) {
	formats := []string{datasets.ConfigSFT, datasets.ConfigRL, datasets.ConfigPairs}
	_, sum, card := buildCardRelease(t, formats)
	end := strings.Index(card[4:], "\n---\n")
	var fm struct {
		License        string   `yaml:"license"`
		LicenseName    string   `yaml:"license_name"`
		SizeCategories []string `yaml:"size_categories"`
		Configs        []struct {
			ConfigName string `yaml:"config_name"`
			DataFiles  []struct {
				Split string   `yaml:"split"`
				Path  []string `yaml:"path"`
			} `yaml:"data_files"`
		} `yaml:"configs"`
		DatasetInfo []struct {
			ConfigName string `yaml:"config_name"`
		} `yaml:"dataset_info"`
	}
	if err := yaml.Unmarshal([]byte(card[4:4+end+1]), &fm); err != nil {
		t.Fatalf("front matter: %v", err)
	}
	var names []string
	for _, c := range fm.Configs {
		names = append(names, c.ConfigName)
		if len(c.DataFiles) == 0 {
			t.Errorf("config %s has no data_files", c.ConfigName)
		}
	}
	if !slices.Equal(names, formats) || len(fm.DatasetInfo) != len(formats) {
		t.Errorf("configs %v, want %v", names, formats)
	}
	if strings.Contains(card, "multiturn") {
		t.Errorf("card mentions multiturn, which this release lacks")
	}
	if fm.License != "mit" || fm.LicenseName != "" { // every fixture source is MIT
		t.Errorf("license %q (%q), want mit", fm.License, fm.LicenseName)
	}
	for _, c := range formats {
		var n int64
		for k, v := range sum.Rows {
			if strings.HasPrefix(k, c+"/") {
				n += v
			}
		}
		if !slices.Contains(fm.SizeCategories, release.SizeCategories(map[string]int64{c + "/train": n})[0]) {
			t.Errorf("size_categories %v lack %s's", fm.SizeCategories, c)
		}
	}
	if err := hub.ValidateCard([]byte(card), sum.Files); err != nil {
		t.Errorf("hub validation: %v", err)
	}
}

func TestSizeCategoriesPerConfig(t *testing.T) {
	// 900 + 200 rows: each config is under 1K; together they would not be.
	got := release.SizeCategories(map[string]int64{"sft/train": 800, "sft/test": 100, "rl/train": 150, "rl/test": 50})
	if !slices.Equal(got, []string{"n<1K"}) {
		t.Errorf("size categories %v, want [n<1K]", got)
	}
	got = release.SizeCategories(map[string]int64{"sft/train": 5000, "rl/train": 10})
	if !slices.Equal(got, []string{"n<1K", "1K<n<10K"}) {
		t.Errorf("size categories %v", got)
	}
}

func TestReleaseLicense(t *testing.T) {
	for _, c := range []struct {
		override string
		sources  map[string]int
		id, name string
	}{
		{"", map[string]int{"MIT": 3}, "mit", ""},
		{"", map[string]int{"Apache-2.0": 1, "apache-2.0": 2}, "apache-2.0", ""},
		{"", map[string]int{"MIT": 1, "Apache-2.0": 1}, "other", "mixed-source-licenses"},
		{"", map[string]int{"Proprietary EULA": 1}, "other", "proprietary-eula"},
		{"", map[string]int{}, "other", "unknown"},
		{"cc-by-4.0", map[string]int{"MIT": 1}, "cc-by-4.0", ""},
	} {
		id, name, link := release.ReleaseLicense(c.override, c.sources)
		if id != c.id || name != c.name || (id == "other") != (link != "") {
			t.Errorf("%v %v: %q %q %q, want %q %q", c.override, c.sources, id, name, link, c.id, c.name)
		}
	}
}

// TestPlotHasLabels: the title, the axis labels and the tick labels put
// ink in the margins around the plot area, where bars and axes never go.
func TestPlotHasLabels(t *testing.T) {
	out, _, _ := buildCardRelease(t, nil)
	f, err := os.Open(filepath.Join(out, release.PlotFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	ink := func(r image.Rectangle) int {
		n := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if cr, cg, cb, _ := img.At(x, y).RGBA(); cr < 0x8000 && cg < 0x8000 && cb < 0x8000 {
					n++
				}
			}
		}
		return n
	}
	for name, r := range map[string]image.Rectangle{
		"title (top strip)":              image.Rect(b.Min.X+60, b.Min.Y, b.Max.X, b.Min.Y+22),
		"x label (bottom strip)":         image.Rect(b.Min.X+60, b.Max.Y-20, b.Max.X, b.Max.Y),
		"y label (left strip)":           image.Rect(b.Min.X, b.Min.Y+30, b.Min.X+24, b.Max.Y-60),
		"x tick labels (under the axis)": image.Rect(b.Min.X+40, b.Max.Y-46, b.Max.X, b.Max.Y-30),
	} {
		if n := ink(r); n < 20 {
			t.Errorf("%s: %d dark pixels, want text", name, n)
		}
	}
}
