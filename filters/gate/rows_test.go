package gate

import (
	"testing"

	"kforge/datasets"
)

func TestTileRows(t *testing.T) {
	ref := "if (a.n % 4 == 0)\n    r = run_<trait_<T, 1, 2, 64, 4, true>>(s, a);\nelse\n    r = run_<trait_<T, 1, 8, 64, 1, true>>(s, a);"
	reg := datasets.Region{Kind: KindTileRows, Text: ref}
	cases := []struct {
		name, cand, rule string
	}{
		{"unchanged", ref, ""},
		{"numbers and flags", "if (a.n % 4 == 0)\n r = run_<trait_<T, 2, 1, 128, 4, false>>(s, a);\nelse\n r = run_<trait_<T, 1, 4, 256, 1, true>>(s, a); /* tuned */", ""},
		{"data type", "if (a.n % 4 == 0)\n r = run_<trait_<U, 1, 2, 64, 4, true>>(s, a);\nelse\n r = run_<trait_<T, 1, 8, 64, 1, true>>(s, a);", RuleTileRows},
		{"condition", "if (a.n % 8 == 0)\n r = run_<trait_<T, 1, 2, 64, 4, true>>(s, a);\nelse\n r = run_<trait_<T, 1, 8, 64, 1, true>>(s, a);", RuleTileRows},
		{"flag for number", "if (a.n % 4 == 0)\n r = run_<trait_<T, 1, 2, 64, true, true>>(s, a);\nelse\n r = run_<trait_<T, 1, 8, 64, 1, true>>(s, a);", RuleTileRows},
		{"expression", "if (a.n % 4 == 0)\n r = run_<trait_<T, 1, 2, 64, 4+1, true>>(s, a);\nelse\n r = run_<trait_<T, 1, 8, 64, 1, true>>(s, a);", RuleTileRows},
		{"extra statement", "if (a.n % 4 == 0)\n r = run_<trait_<T, 1, 2, 64, 4, true>>(s, a);\nelse\n r = run_<trait_<T, 1, 8, 64, 1, true>>(s, a); r = 0;", RuleTileRows},
		{"call arguments", "if (a.n % 4 == 0)\n r = run_<trait_<T, 1, 2, 64, 4, true>>(s, b);\nelse\n r = run_<trait_<T, 1, 8, 64, 1, true>>(s, a);", RuleTileRows},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rej := Check(reg, c.cand)
			switch {
			case c.rule == "" && rej != nil:
				t.Fatalf("rejected: %v", rej)
			case c.rule != "" && (rej == nil || rej.Rule != c.rule):
				t.Fatalf("got %v, want rule %s", rej, c.rule)
			}
		})
	}
}
