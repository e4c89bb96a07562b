package gate

import (
	"testing"

	"kforge/datasets"
)

// TestGenRow: a generator-row candidate may change only the integers inside
// the row's call; everything else (the key, the call, strings, code) is
// rejected, whatever Python could make of it.
func TestGenRow(t *testing.T) {
	r := datasets.Region{Kind: KindGenRow, Text: "'128' : [FmhaTileSize(128, 64, 4, 1, -1),  # tuned\n    \"kr_vr\""}
	cases := []struct {
		name, cand string
		ok         bool
	}{
		{"reference", r.Text, true},
		{"numbers", "'128' : [FmhaTileSize(64, 128, 2, 1, 2), \"kr_vr\"", true},
		{"negative", "'128' : [FmhaTileSize(64, 128, -1, 1, -1), \"kr_vr\"", true},
		{"comment", "# faster\n'128' : [FmhaTileSize(64, 128, 2, 1, 2), # two\n \"kr_vr\"", true},
		{"key", "'256' : [FmhaTileSize(128, 64, 4, 1, -1), \"kr_vr\"", false},
		{"string", "'128' : [FmhaTileSize(128, 64, 4, 1, -1), \"kr_vr_fast\"", false},
		{"call", "'128' : [OtherTileSize(128, 64, 4, 1, -1), \"kr_vr\"", false},
		{"expr", "'128' : [FmhaTileSize(128, 64, 2 * 2, 1, -1), \"kr_vr\"", false},
		{"name", "'128' : [FmhaTileSize(128, 64, os, 1, -1), \"kr_vr\"", false},
		{"extra arg", "'128' : [FmhaTileSize(128, 64, 4, 1, -1, 2), \"kr_vr\"", false},
		{"huge", "'128' : [FmhaTileSize(1280000000, 64, 4, 1, -1), \"kr_vr\"", false},
		{"octal-ish", "'128' : [FmhaTileSize(0128, 64, 4, 1, -1), \"kr_vr\"", false},
		{"float", "'128' : [FmhaTileSize(128.0, 64, 4, 1, -1), \"kr_vr\"", false},
		{"continuation", "'128' : [FmhaTileSize(128, 64, \\\n 4, 1, -1), \"kr_vr\"", false},
		{"open string", "'128' : [FmhaTileSize(128, 64, 4, 1, -1), \"kr_vr", false},
		{"code after", "'128' : [FmhaTileSize(128, 64, 4, 1, -1), \"kr_vr\"; import os", false},
	}
	for _, c := range cases {
		rej := Check(r, c.cand)
		if (rej == nil) != c.ok {
			t.Errorf("%s: %q: rejection %v, want ok=%v", c.name, c.cand, rej, c.ok)
		}
	}
}
