package decontam

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pgo "github.com/parquet-go/parquet-go"
)

func TestContaminated(t *testing.T) {
	dir := t.TempDir()
	pqPath := filepath.Join(dir, "eval.parquet")
	type evalRow struct {
		ID   int64  `parquet:"id"`
		Code string `parquet:"code"`
	}
	rows := []evalRow{{1, "__global__ void eval_gelu(float* y, const float* x, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = 0.5f * x[i] * (1.0f + tanhf(0.79788456f * x[i])); }"}}
	if err := pgo.WriteFile(pqPath, rows); err != nil {
		t.Fatal(err)
	}
	ix, err := Load(context.Background(), []string{"testdata/eval.jsonl", "testdata/evalset", pqPath}, 13)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Texts != 3 {
		t.Errorf("indexed %d texts, want 3 (the short one and the binary file are ignored)", ix.Texts)
	}
	scan, _ := os.ReadFile("testdata/evalset/sub/scan.hip")
	tests := []struct {
		name string
		code string
		want bool
	}{
		{"copied from the directory set, reformatted", strings.ReplaceAll(string(scan), "  ", "\t "), true},
		{"13 tokens of the JSONL set inside other code", "void f() { x = 1; } for (int c = threadIdx.x; c < cols; c += blockDim.x) m = 0;", true},
		{"from the Parquet set", "y[i] = 0.5f * x[i] * (1.0f + tanhf(0.79788456f * x[i]));", true},
		{"12 shared tokens are not enough", "for (int c = threadIdx.x; c < cols) q", false},
		{"unrelated kernel", "__global__ void mine(int* p) { p[threadIdx.x] = 7; }", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		if got := ix.Contaminated(tc.code); got != tc.want {
			t.Errorf("%s: Contaminated = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"code\": \"x\"}\n{not json\n"), 0o644)
	notPq := filepath.Join(dir, "x.parquet")
	os.WriteFile(notPq, []byte("PAR1 not really"), 0o644)
	for _, p := range []string{bad, notPq, filepath.Join(dir, "missing.jsonl")} {
		if _, err := Load(context.Background(), []string{p}, 13); err == nil || !strings.Contains(err.Error(), "decontamination set") {
			t.Errorf("Load(%s) err = %v", p, err)
		}
	}
	ix, err := Load(context.Background(), nil, 13)
	if err != nil || ix.Contaminated("anything at all goes here with many many tokens in it for sure yes") {
		t.Errorf("an empty index must flag nothing")
	}
}
