package repos

import (
	"testing"

	"kforge/datasets"
)

// TestMinersTable: every kind has one complete row, and auto detection
// picks the detected kinds or, when none is detected, the fallback.
func TestMinersTable(t *testing.T) {
	seen := map[string]bool{}
	fallbacks := 0
	for _, m := range miners {
		if m.Kind == "" || m.Paths == nil || m.Mine == nil {
			t.Errorf("miner %q: incomplete row", m.Kind)
		}
		if seen[m.Kind] {
			t.Errorf("miner %q registered twice", m.Kind)
		}
		seen[m.Kind] = true
		if m.Detect == nil {
			fallbacks++
		}
	}
	for _, k := range []string{datasets.KindCKExample, datasets.KindCKTile, datasets.KindHIPProgram} {
		if !seen[k] {
			t.Errorf("kind %s has no miner", k)
		}
	}
	if fallbacks != 1 {
		t.Errorf("%d fallback miners, want 1", fallbacks)
	}
	ck := &tree{paths: []string{"example/01_gemm/gemm_xdl_fp16.cpp", "include/ck/ck.hpp"}}
	plainTree := &tree{paths: []string{"src/main.hip"}}
	for _, tc := range []struct {
		name string
		t    *tree
		kind string
		want []string
	}{
		{"ck checkout", ck, "auto", []string{datasets.KindCKExample}},
		{"plain tree", plainTree, "", []string{datasets.KindHIPProgram}},
		{"configured", plainTree, datasets.KindCKTile, []string{datasets.KindCKTile}},
	} {
		got := kindsFor(tc.t, tc.kind)
		if len(got) != len(tc.want) || got[0] != tc.want[0] {
			t.Errorf("%s: kindsFor = %v, want %v", tc.name, got, tc.want)
		}
	}
}
