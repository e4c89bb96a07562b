package dedup

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func longKernel(seed int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "__global__ void k%d(float* out, const float* in, int n) {\n  int i = blockIdx.x * blockDim.x + threadIdx.x;\n", seed)
	for j := 0; j < 60; j++ {
		fmt.Fprintf(&b, "  float t%d = in[(i + %d) %% n] * %d.5f - %d;\n", j, j*seed+1, j+seed, j^seed)
	}
	b.WriteString("  out[i] = t0;\n}\n")
	return b.String()
}

func TestTokens(t *testing.T) {
	tests := []struct {
		code string
		want []string
	}{
		{"a+b", []string{"a", "+", "b"}},
		{"x = 1.5f; // comment\ny", []string{"x", "=", "1.5f", ";", "y"}},
		{"/* block\n */ int  i", []string{"int", "i"}},
		{`s = "a // not a comment";`, []string{"s", "=", `"a // not a comment"`, ";"}},
		{"__global__ void k()", []string{"__global__", "void", "k", "(", ")"}},
		{"/* unterminated", nil},
	}
	for _, tc := range tests {
		if got := Tokens(tc.code); !slices.Equal(got, tc.want) {
			t.Errorf("Tokens(%q) = %q, want %q", tc.code, got, tc.want)
		}
	}
	if Normalize("int   a =\n\t1; // x") != "int a = 1 ;" {
		t.Errorf("Normalize: %q", Normalize("int   a =\n\t1; // x"))
	}
}

// tieWinner is the id that wins a tie of speed: the smallest id hash.
func tieWinner(ids ...string) string {
	best := ids[0]
	for _, id := range ids[1:] {
		if hashTokens([]string{id}) < hashTokens([]string{best}) {
			best = id
		}
	}
	return best
}

func TestDedup(t *testing.T) {
	base := longKernel(3)
	edited := strings.Replace(base, "float t7 =", "float t7b =", 1) // one token changed
	type item struct {
		id      string
		code    string
		speedup float64
	}
	tests := []struct {
		name      string
		threshold float64
		items     []item
		keep      []string
		exact     int
		near      int
	}{
		{"distinct kernels all stay", 0.9,
			[]item{{"a", longKernel(1), 1.5}, {"b", longKernel(2), 1.2}, {"c", longKernel(5), 2}},
			[]string{"a", "b", "c"}, 0, 0},
		{"reformatted copy is an exact duplicate; the fastest stays", 0.9,
			[]item{{"a", base, 1.5}, {"b", "// tuned\n" + strings.ReplaceAll(base, "\n", "\n\n  "), 1.9}},
			[]string{"b"}, 1, 0},
		{"one-token edit is a near duplicate", 0.8,
			[]item{{"a", base, 2.5}, {"b", edited, 1.1}, {"c", longKernel(9), 1.0}},
			[]string{"a", "c"}, 0, 1},
		{"near detection off above 1", 1.01,
			[]item{{"a", base, 2.5}, {"b", edited, 1.1}, {"d", base, 1.0}},
			[]string{"a", "b"}, 1, 0},
		{"equal speed: one stays whatever the order", 0.9,
			[]item{{"z", base, 2}, {"m", base, 2}, {"q", base, 2}},
			[]string{tieWinner("z", "m", "q")}, 2, 0},
		{"equal speed, other order", 0.9,
			[]item{{"q", base, 2}, {"z", base, 2}, {"m", base, 2}},
			[]string{tieWinner("z", "m", "q")}, 2, 0},
		{"transitive cluster across tasks", 0.8,
			[]item{{"a", base, 1}, {"b", edited, 1.2}, {"c", strings.Replace(edited, "float t9 =", "float t9b =", 1), 3}},
			[]string{"c"}, 0, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := New(tc.threshold)
			for _, it := range tc.items {
				d.Add(it.id, it.code, it.speedup)
			}
			res := d.Run()
			var kept []string
			for i, k := range res.Keep {
				if k {
					kept = append(kept, tc.items[i].id)
				}
			}
			slices.Sort(kept)
			if !slices.Equal(kept, tc.keep) || res.Exact != tc.exact || res.Near != tc.near {
				t.Errorf("kept %v exact %d near %d; want %v %d %d", kept, res.Exact, res.Near, tc.keep, tc.exact, tc.near)
			}
			for i, j := range res.Of {
				if res.Keep[i] || !res.Keep[j] {
					t.Errorf("Of[%d] = %d is inconsistent with Keep", i, j)
				}
			}
		})
	}
}

func TestSimilarityEstimate(t *testing.T) {
	d := New(0.9)
	a := d.Add("a", longKernel(4), 1)
	b := d.Add("b", longKernel(4), 1)
	c := d.Add("c", longKernel(11), 1)
	if s := d.similarity(a, b); s != 1 {
		t.Errorf("identical code: similarity %.2f", s)
	}
	if s := d.similarity(a, c); s > 0.5 {
		t.Errorf("different code: similarity %.2f", s)
	}
}

func BenchmarkDedup(b *testing.B) {
	codes := make([]string, 1000)
	for i := range codes {
		codes[i] = longKernel(i)
	}
	b.ResetTimer()
	for range b.N {
		d := New(0.9)
		for i, c := range codes {
			d.Add(fmt.Sprint(i), c, float64(i))
		}
		d.Run()
	}
}
