package parquet

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"kforge/datasets"
)

// variedRow returns row i of a config with the shapes the level builder must
// get right: empty and long lists, nulls in nullable columns, empty strings;
// scale lengthens the conversations (so that column chunks span pages).
func variedRow(config string, i, scale int) datasets.Row {
	msgs := func(k int) []datasets.ChatMessage {
		var ms []datasets.ChatMessage
		for j := range k {
			m := datasets.ChatMessage{Role: []string{"system", "user", "assistant"}[j%3],
				Content: strings.Repeat(fmt.Sprintf("line %d of %d\n", j, i), i%5*scale)}
			if m.Role == "assistant" && i%2 == 0 && (config == datasets.ConfigSFT || config == "rl+verl") {
				m.ReasoningContent = fmt.Sprint("thought ", i)
			}
			ms = append(ms, m)
		}
		return ms
	}
	opt := func(s string) string { // null every third row
		if i%3 == 0 {
			return ""
		}
		return s
	}
	switch config {
	case datasets.ConfigSFT:
		all := msgs(i % 4)
		var prompt, completion []datasets.ChatMessage
		if len(all) > 0 {
			prompt, completion = all[:len(all)-1], all[len(all)-1:]
		}
		return &datasets.SFTRecord{ID: fmt.Sprint("v", i), Messages: all, Prompt: prompt, Completion: completion, Reasoning: opt("because"),
			TaskID: opt(fmt.Sprint("t", i/3)), Op: opt("gemm"), Speedup: float64(i), VGPRs: int32(i),
			NumTurns: int32(i % 3), IsReplay: i%7 == 0, ReplaySource: map[bool]string{true: "replay/x"}[i%7 == 0]}
	case datasets.ConfigRL:
		return &datasets.RLRecord{ID: fmt.Sprint("t", i), Prompt: msgs(i%3 + 1), Dtypes: []string{"fp16", "bf16", ""}[:i%4%3],
			Archs: []string{"gfx90a"}, RegionRules: nil, TaskSpec: "{}", HasTolerance: i%2 == 0, RTol: 1e-3, ATol: 1e-5,
			Baselines: []datasets.Baseline{
				{Device: "MI210", Arch: "gfx90a", Toolchain: "rocm", ReferenceMS: 2},
				{Device: "H200", Arch: "sm_90", Toolchain: "cuda", ReferenceMS: 1.5}}[:i%3],
			BestSpeedup: 1.1, NumKept: int32(i)}
	case "rl+verl":
		r := variedRow(datasets.ConfigRL, i, scale).(*datasets.RLRecord)
		r.Verl = &datasets.VerlColumns{DataSource: "kforge", Ability: "gpu-kernels", Style: "rule", GroundTruth: opt("{}"),
			Split: "train", Index: int32(i), TaskID: fmt.Sprint("t", i), BestSpeedup: float64(i), Reference: strings.Repeat("x", i%5*scale)}
		return r
	case datasets.ConfigPairs:
		return &datasets.PairRecord{ID: fmt.Sprint("p", i), Prompt: msgs(2), Chosen: msgs(1), Rejected: msgs(i % 2),
			ChosenID: "c", RejectedID: "r", ChosenSpeedup: 1.2, RejectedSpeedup: float64(i % 2), RejectedStatus: "slower"}
	case datasets.ConfigMultiturn:
		turns := []datasets.Turn{{Round: 0, VariantID: "v0", Status: "gated", Reason: "pointer cast"},
			{Round: 1, VariantID: "v1", Status: "kept", Speedup: 1.3}, {Round: 2, VariantID: "v2", Status: "slower", Speedup: 0.9}}
		return &datasets.MultiturnRecord{ID: fmt.Sprint("m", i), Messages: msgs(i%6 + 1), NumTurns: int32(i % 4), Turns: turns[:i%4], FinalSpeedup: 1}
	}
	panic(config)
}

// TestColumnsEncodeAsPqarrow checks the column-parallel row groups against
// pqarrow's own FileWriter on the same records: the files must be the same
// bytes, so the level builder, the parallel encoding and the text written
// by reference change nothing. No column is dictionary-encoded: with
// dictionaries the sink deliberately differs where pqarrow gets statistics
// wrong (TestStatisticsKeepEmptyStrings).
func TestColumnsEncodeAsPqarrow(t *testing.T) {
	for _, name := range append(slices.Clone(datasets.Configs), "rl+verl") {
		t.Run(name, func(t *testing.T) {
			config, schema := name, Schema(name)
			if name == "rl+verl" {
				config, schema = datasets.ConfigRL, SchemaWith(datasets.ConfigRL, SchemaOptions{Verl: true})
			}
			w := NewWriter(t.TempDir(), config, "train", schema, Options{})
			plain := PlainColumns(config)
			storage := func(path string) Storage {
				if slices.Contains(plain, path) {
					return Referenced
				}
				return Copied
			}
			var batches []*Columns
			var recs []arrow.RecordBatch
			for _, n := range []struct{ rows, scale int }{{1, 1}, {57, 1}, {300, 1}, {2500, 40}} {
				b := NewColumns(schema, storage)
				for i := range n.rows {
					b.Append(variedRow(name, i, n.scale))
				}
				batches = append(batches, b)
				recs = append(recs, b.Record())
			}
			defer func() {
				for _, r := range recs {
					r.Release()
				}
			}()

			var want bytes.Buffer
			ref, err := pqarrow.NewFileWriter(recs[0].Schema(), &want, w.props, w.arrowProps)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if err := ref.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := ref.Close(); err != nil {
				t.Fatal(err)
			}

			var got bytes.Buffer
			fw, err := w.newFileWriter(&got)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range batches {
				if err := w.writeRowGroup(fw, b); err != nil {
					t.Fatal(err)
				}
			}
			if err := fw.Close(); err != nil {
				t.Fatal(err)
			}
			if pages := pageCount(t, got.Bytes()); pages <= len(recs) {
				t.Errorf("%d data pages: the test should span pages", pages)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("%s: %d bytes differ from pqarrow's %d", config, got.Len(), want.Len())
			}
		})
	}
}

// TestLeavesRefuseWhatTheyCannotWrite: shapes outside the dataset schemas
// are an error, never a silently wrong file.
func TestLeavesRefuseWhatTheyCannotWrite(t *testing.T) {
	mem := memory.NewGoAllocator()
	elem := arrow.StructOf(arrow.Field{Name: "a", Type: arrow.BinaryTypes.String})
	lt := arrow.ListOf(elem)
	lb := array.NewListBuilder(mem, elem)
	defer lb.Release()
	lb.Append(true)
	lb.ValueBuilder().(*array.StructBuilder).AppendNull() // a null struct element
	lb.ValueBuilder().(*array.StructBuilder).FieldBuilder(0).(*array.StringBuilder).AppendNull()
	col := lb.NewArray()
	defer col.Release()

	sb := array.NewStringBuilder(mem)
	sb.AppendNull()
	nulls := sb.NewArray()
	defer nulls.Release()

	cases := []struct {
		name string
		f    arrow.Field
		col  arrow.Array
		want string
	}{
		{"null struct element", arrow.Field{Name: "l", Type: lt}, col, "null list element"},
		{"nullable struct column", arrow.Field{Name: "s", Type: elem, Nullable: true}, col, "not supported"},
		{"null in required", arrow.Field{Name: "r", Type: arrow.BinaryTypes.String}, nulls, "null in a non-nullable column"},
		{"map column", arrow.Field{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String)}, nulls, "not supported"},
	}
	for _, c := range cases {
		ls, err := leaves(c.f, c.col)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
		releaseLeaves(ls)
	}
}

// pageCount is the most data pages of any column chunk, by the offset index,
// summed over the row groups.
func pageCount(t *testing.T, data []byte) int {
	t.Helper()
	r, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	total := 0
	for g := range r.NumRowGroups() {
		rg, err := r.GetPageIndexReader().RowGroup(g)
		if err != nil {
			t.Fatal(err)
		}
		most := 0
		for c := range r.MetaData().Schema.NumColumns() {
			oi, err := rg.GetOffsetIndex(c)
			if err != nil {
				t.Fatal(err)
			}
			most = max(most, len(oi.GetPageLocations()))
		}
		total += most
	}
	return total
}

// TestStatisticsKeepEmptyStrings: every column chunk has a column index, and
// "" counts in the minimum (pqarrow's dictionary path drops it; the sink
// writes such columns plain). A wrong minimum would let readers skip pages.
func TestStatisticsKeepEmptyStrings(t *testing.T) {
	for _, config := range datasets.Configs {
		dir := t.TempDir()
		w := NewWriter(dir, config, "train", Schema(config), Options{RowGroupBytes: 20_000})
		for i := range 600 {
			if err := w.Append(variedRow(config, i, 1)); err != nil {
				t.Fatal(err)
			}
		}
		files, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		r, err := file.OpenParquetFile(filepath.Join(dir, files[0].Path), false)
		if err != nil {
			t.Fatal(err)
		}
		for g := range r.NumRowGroups() {
			pi, err := r.GetPageIndexReader().RowGroup(g)
			if err != nil {
				t.Fatal(err)
			}
			for c := range r.MetaData().Schema.NumColumns() {
				path := r.MetaData().Schema.Column(c).Path()
				cc, _ := r.MetaData().RowGroup(g).ColumnChunk(c)
				st, _ := cc.Statistics()
				if ci, err := pi.GetColumnIndex(c); st != nil && st.HasMinMax() && (err != nil || ci == nil) {
					t.Errorf("%s row group %d %s: values but no column index (%v)", config, g, path, err)
				}
				empty := map[string]string{datasets.ConfigRL: "kind", datasets.ConfigMultiturn: "turns.list.element.reason"}
				if path == empty[config] && (st == nil || !st.HasMinMax() || len(st.EncodeMin()) != 0) {
					t.Errorf("%s row group %d %s: statistics %v, want minimum \"\"", config, g, path, st)
				}
			}
		}
		r.Close()
	}
}
