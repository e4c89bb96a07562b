package parquet

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"kforge/datasets"
)

// batchRow is row i of a batch: runs of one value, nulls first and between,
// empty strings, empty and long lists, a value that returns after others.
func batchRow(config string, i int) datasets.Row {
	pick := func(vals ...string) string { return vals[(i/3)%len(vals)] }
	msgs := []datasets.ChatMessage{{Role: "system", Content: "s"}, {Role: "user", Content: fmt.Sprint("q", i)}, {Role: "assistant", Content: ""}}[:i%4%3]
	switch config {
	case datasets.ConfigSFT:
		return &datasets.SFTRecord{ID: fmt.Sprint("v", i), Messages: msgs, Reasoning: pick("", "r"), TaskID: pick("", "t1", "t1", "t2"),
			Op: pick("gemm", "", "softmax", "gemm"), Device: pick(""), Speedup: float64(i), IsReplay: i%5 == 0, ReplaySource: pick("", "x")}
	case datasets.ConfigRL:
		return &datasets.RLRecord{ID: fmt.Sprint("t", i), Prompt: msgs, TaskID: pick("", "t"), Dtypes: []string{"fp16", "", "bf16"}[:i%4%3],
			Baselines: []datasets.Baseline{{Device: pick("", "MI210"), Arch: "gfx90a", ReferenceMS: 1}}[:i%2], HasTolerance: i%2 == 0}
	case datasets.ConfigPairs:
		return &datasets.PairRecord{ID: fmt.Sprint("p", i), Prompt: msgs, Chosen: msgs, Rejected: msgs[:len(msgs)/2], RejectedReason: pick("", "slower")}
	case datasets.ConfigMultiturn:
		return &datasets.MultiturnRecord{ID: fmt.Sprint("m", i), Messages: msgs,
			Turns: []datasets.Turn{{Round: 1, VariantID: pick("a", "b"), Status: "kept", Reason: pick("", "cast")}}[:i%2]}
	}
	panic(config)
}

// TestColumnsStorageMatchesCopied builds the same rows with the writers'
// storage (dictionaries, text by reference) and with every string copied,
// three batches through one reused Columns each, and requires valid records
// with the same values (JSON renders a dictionary array by its values).
func TestColumnsStorageMatchesCopied(t *testing.T) {
	for _, config := range datasets.Configs {
		schema := Schema(config)
		dict, dense := NewColumns(schema, StringStorage(config)), NewColumns(schema, nil)
		row := 0
		for batch, n := range []int{40, 7, 1} {
			for range n {
				dict.Append(batchRow(config, row))
				dense.Append(batchRow(config, row))
				row++
			}
			a, b := dict.Record(), dense.Record()
			for _, rec := range []arrow.RecordBatch{a, b} {
				if err := array.ValidateRecordFull(rec); err != nil {
					t.Fatalf("%s batch %d: %v", config, batch, err)
				}
				if rec.NumRows() != int64(n) {
					t.Fatalf("%s batch %d: %d rows, want %d", config, batch, rec.NumRows(), n)
				}
			}
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) != string(jb) {
				t.Errorf("%s batch %d: dictionary and plain records differ:\n%s\n%s", config, batch, ja, jb)
			}
			checkShape(t, dict, b)
			if config == datasets.ConfigSFT && batch == 0 {
				checkSFTValues(t, a, row-n)
			}
			a.Release()
			b.Release()
			dict.Reset()
			dense.Reset()
		}
	}
}

// checkSFTValues compares some columns of an sft record with the rows, as
// Go values, so that the two builds above cannot agree on a wrong answer.
func checkSFTValues(t *testing.T, rec arrow.RecordBatch, first int) {
	t.Helper()
	col := func(name string) arrow.Array { return rec.Column(rec.Schema().FieldIndices(name)[0]) }
	for i := range int(rec.NumRows()) {
		r := batchRow(datasets.ConfigSFT, first+i).(*datasets.SFTRecord)
		js, _ := json.Marshal(col("messages").GetOneForMarshal(i))
		var got []datasets.ChatMessage
		if err := json.Unmarshal(js, &got); err != nil || !slices.Equal(got, r.Messages) {
			t.Errorf("row %d messages %s, want %v", i, js, r.Messages)
		}
		for name, v := range map[string]string{"op": r.Op, "task_id": r.TaskID, "reasoning": r.Reasoning, "device": r.Device} {
			c := col(name)
			if (v == "") != c.IsNull(i) || (v != "" && c.ValueStr(i) != v) {
				t.Errorf("row %d %s = %q (null %v), want %q", i, name, c.ValueStr(i), c.IsNull(i), v)
			}
		}
		if col("id").ValueStr(i) != r.ID || col("is_replay").(*array.Boolean).Value(i) != r.IsReplay {
			t.Errorf("row %d: id/is_replay differ", i)
		}
	}
}

// checkShape compares a batch's ShapeRecord and Referenced leaves with the
// same rows built with every string copied (want): the shape must be a
// valid record that differs from want only in that Referenced values are
// "", and the leaves' Strings must be want's values of those columns.
func checkShape(t *testing.T, c *Columns, want arrow.RecordBatch) {
	t.Helper()
	shape := c.ShapeRecord()
	defer shape.Release()
	if err := array.ValidateRecordFull(shape); err != nil {
		t.Fatalf("shape: %v", err)
	}
	// Leaf arrays of a record, in the order of Leaves.
	var leaves func(a arrow.Array) []arrow.Array
	leaves = func(a arrow.Array) []arrow.Array {
		switch a := a.(type) {
		case *array.List:
			return leaves(a.ListValues())
		case *array.Struct:
			var out []arrow.Array
			for i := range a.NumField() {
				out = append(out, leaves(a.Field(i))...)
			}
			return out
		}
		return []arrow.Array{a}
	}
	var got, exp []arrow.Array
	for i := range int(shape.NumCols()) {
		got = append(got, leaves(shape.Column(i))...)
		exp = append(exp, leaves(want.Column(i))...)
	}
	cols := c.Leaves()
	if len(cols) != len(got) || len(got) != len(exp) {
		t.Fatalf("%d leaves, shape has %d, want %d", len(cols), len(got), len(exp))
	}
	refs := 0
	for k, col := range cols {
		g, e := got[k], exp[k]
		if g.Len() != e.Len() || g.NullN() != e.NullN() {
			t.Fatalf("leaf %d: %d values, %d null; want %d, %d", k, g.Len(), g.NullN(), e.Len(), e.NullN())
		}
		if !col.Referenced() {
			if col.Strings() != nil {
				t.Errorf("leaf %d is not Referenced but has strings", k)
			}
			continue
		}
		refs++
		strs, es := col.Strings(), e.(*array.String)
		if len(strs) != e.Len() {
			t.Fatalf("leaf %d: %d strings, want %d", k, len(strs), e.Len())
		}
		for i := range e.Len() {
			if g.IsNull(i) != e.IsNull(i) || g.(*array.String).Value(i) != "" || strs[i] != es.Value(i) {
				t.Errorf("leaf %d value %d: shape %q (null %v), string %q; want %q (null %v)",
					k, i, g.(*array.String).Value(i), g.IsNull(i), strs[i], es.Value(i), e.IsNull(i))
			}
		}
	}
	if refs == 0 {
		t.Errorf("no Referenced leaf")
	}
}
