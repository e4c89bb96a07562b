package parquet

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"gopkg.in/yaml.v3"

	"kforge/datasets"
)

func TestSchemasCarryFeatures(t *testing.T) {
	for _, c := range datasets.Configs {
		s := Schema(c)
		if s == nil {
			t.Fatalf("%s: no schema", c)
		}
		v, ok := s.Metadata().GetValue("huggingface")
		if !ok {
			t.Fatalf("%s: no huggingface metadata", c)
		}
		var meta struct {
			Info struct {
				Features map[string]json.RawMessage `json:"features"`
			} `json:"info"`
		}
		if err := json.Unmarshal([]byte(v), &meta); err != nil {
			t.Fatalf("%s: metadata is not JSON: %v", c, err)
		}
		if len(meta.Info.Features) != s.NumFields() {
			t.Errorf("%s: %d features for %d columns", c, len(meta.Info.Features), s.NumFields())
		}
		// Features keep column order (datasets uses it).
		last := -1
		for _, f := range s.Fields() {
			i := strings.Index(v, `"`+f.Name+`":{`)
			if j := strings.Index(v, `"`+f.Name+`":[`); i < 0 {
				i = j
			}
			if i < last {
				t.Errorf("%s: feature %s out of order", c, f.Name)
			}
			last = i
		}
		if _, err := yaml.Marshal(YAMLFeatures(s)); err != nil {
			t.Errorf("%s: yaml: %v", c, err)
		}
	}
	if Schema("dpo") != nil {
		t.Errorf("unknown config has a schema")
	}
	sft := string(must(yaml.Marshal(YAMLFeatures(Schema(datasets.ConfigSFT)))))
	for _, want := range []string{"- name: messages\n  list:\n    - name: role\n      dtype: string", "- name: is_replay\n  dtype: bool"} {
		if !strings.Contains(sft, want) {
			t.Errorf("sft yaml features lack %q:\n%s", want, sft)
		}
	}
	if !strings.Contains(string(must(yaml.Marshal(YAMLFeatures(Schema(datasets.ConfigRL))))), "- name: dtypes\n  list: string") {
		t.Errorf("rl dtypes is not list: string")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestRowsAppend(t *testing.T) {
	rows := map[string]datasets.Row{
		datasets.ConfigSFT: &datasets.SFTRecord{ID: "a", Messages: []datasets.ChatMessage{{Role: "user", Content: "q"}, {Role: "assistant", Content: "x"}}, Speedup: 1.5, NumTurns: 1},
		datasets.ConfigRL: &datasets.RLRecord{ID: "t", Prompt: []datasets.ChatMessage{{Role: "user", Content: "q"}}, Dtypes: []string{"fp16"}, RegionRules: []string{"r"},
			Baselines: []datasets.Baseline{{Device: "MI210", Arch: "gfx90a", Toolchain: "rocm", ReferenceMS: 2}}, HasTolerance: true, RTol: 1e-3},
		datasets.ConfigPairs:     &datasets.PairRecord{ID: "p", Prompt: []datasets.ChatMessage{{Role: "user", Content: "q"}}, Chosen: []datasets.ChatMessage{{Role: "assistant", Content: "a"}}, Rejected: []datasets.ChatMessage{{Role: "assistant", Content: "b"}}},
		datasets.ConfigMultiturn: &datasets.MultiturnRecord{ID: "m", Messages: []datasets.ChatMessage{{Role: "user", Content: "q"}}, Turns: []datasets.Turn{{Round: 0, VariantID: "v0", Status: "kept", Speedup: 1.2}}},
	}
	for c, r := range rows {
		b := NewColumns(Schema(c), StringStorage(c))
		b.Append(r)
		b.Append(r)
		rec := b.Record()
		if rec.NumRows() != 2 || rowSize(r) <= 0 || r.Config() != c {
			t.Errorf("%s: %d rows, size %d, config %s", c, rec.NumRows(), rowSize(r), r.Config())
		}
		for i, col := range rec.Columns() {
			if col.Len() != 2 {
				t.Errorf("%s: column %s has %d values", c, rec.Schema().Field(i).Name, col.Len())
			}
		}
		if err := array.ValidateRecordFull(rec); err != nil {
			t.Errorf("%s: %v", c, err)
		}
		rec.Release()
	}
	// Replay rows have null task columns.
	b := NewColumns(Schema(datasets.ConfigSFT), StringStorage(datasets.ConfigSFT))
	b.Append(&datasets.SFTRecord{ID: "r", Messages: []datasets.ChatMessage{{Role: "user", Content: "q"}}, IsReplay: true})
	rec := b.Record()
	if !rec.Column(rec.Schema().FieldIndices("speedup")[0]).IsNull(0) || !rec.Column(rec.Schema().FieldIndices("task_id")[0]).IsNull(0) {
		t.Errorf("replay row has task values")
	}
}

// TestEveryColumnDocumented requires a documentation (datasets.ColumnDoc,
// which the dataset card prints) for every column of every schema.
func TestEveryColumnDocumented(t *testing.T) {
	for _, c := range datasets.Configs {
		for _, f := range SchemaWith(c, SchemaOptions{Verl: true}).Fields() {
			if datasets.ColumnDoc(c, f.Name) == "" {
				t.Errorf("%s.%s has no documentation", c, f.Name)
			}
		}
	}
}
