package hiprt

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestOutputParams(t *testing.T) {
	for _, c := range []struct {
		sig  string
		name string
		outs []int
	}{
		{"__global__ void poly(const float* x, float* y, int n)", "poly", []int{1}},
		{"__global__ void __launch_bounds__(256) gemm(float const* __restrict__ a, const float* b, float* __restrict__ c, int m)", "gemm", []int{2}},
		{"__global__ void k(float* const out, const int* idx, std::pair<int, int> p, double** tab)", "k", []int{0, 3}},
		{"__global__ void ns::nothing(void)", "nothing", nil},
	} {
		name, outs, ok := OutputParams(c.sig)
		if !ok || name != c.name || !reflect.DeepEqual(outs, c.outs) {
			t.Errorf("%s: %s %v %v", c.sig, name, outs, ok)
		}
	}
	if got := ScrubKernels([]string{"__global__ void b(float* y)", "__global__ void a(const float* x, float* y, float* z)"}); got != "a=1,2;b=0" {
		t.Errorf("ScrubKernels: %q", got)
	}
}

func TestParseReport(t *testing.T) {
	r := ParseReport([]byte("poly 1.5\npoly 0.5\nother 2\ngarbage\npoly -1\n!nondeterministic launch 3 of poly left other results\n"))
	if !reflect.DeepEqual(r.Launches["poly"], []float64{1.5, 0.5}) || len(r.Launches["other"]) != 1 {
		t.Fatalf("%+v", r)
	}
	if rule, detail, ok := r.Failed(); !ok || rule != "nondeterministic" || detail == "" {
		t.Fatalf("%q %q %v", rule, detail, ok)
	}
}

func TestWriteHeaders(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "inc")
	if err := WriteHeaders(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"hip/hip_runtime.h", "hip/hip_runtime_api.h"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if len(Hash()) != 16 {
		t.Fatal(Hash())
	}
}
