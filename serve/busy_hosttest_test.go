//go:build hosttest

package serve

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"kforge/datasets"
	"kforge/filters/verify"
)

// TestHostTestWorkerUtilization measures how busy the pool keeps its
// measuring worker with the real host-test judge (the CPU standing in for
// the GPU) when candidates arrive faster than it measures: distinct
// binaries, so nothing is served from a cache. It reports the figure; it
// asserts only that every candidate was judged.
func TestHostTestWorkerUtilization(t *testing.T) {
	tasks, err := datasets.ReadJSONL[datasets.Task]("../filters/verify/testdata/poly/tasks.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile("../filters/verify/testdata/poly/candidates/single.hip")
	if err != nil {
		t.Fatal(err)
	}
	ver, err := verify.New(verify.Config{Backend: verify.BackendHostTest, Repetitions: 3, MaxSpeedup: 100, Seeds: 1, Warmup: 1,
		RunTimeout: 2 * time.Minute, CompileTimeout: 5 * time.Minute}, verify.Options{WorkDir: t.TempDir()})
	if err != nil {
		t.Skipf("host-test backend: %v", err)
	}
	pool := NewPool(ver, 0, 64, 10*time.Minute)
	const n = 8
	var wg sync.WaitGroup
	start := time.Now()
	var mu sync.Mutex
	statuses := map[string]int{}
	for i := range n {
		// A distinct guard constant: a distinct binary, same behaviour.
		region := strings.Replace(string(base), "if (i >= n) return;", fmt.Sprintf("if (i >= n || n < -%d) return;", i+1), 1)
		v := &datasets.Variant{TaskID: tasks[0].ID, Region: region, Sample: i}
		v.ID = datasets.VariantID(v)
		wg.Add(1)
		go func() {
			defer wg.Done()
			vd, _, err := pool.Judge(context.Background(), &tasks[0], v)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			statuses[vd.Status+" "+vd.RejectedBy]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	st := pool.Stats()
	pool.Close(context.Background())
	if st.Judged != n {
		t.Fatalf("%d judged, want %d (%v)", st.Judged, n, statuses)
	}
	// The first candidate's compile cannot overlap a measurement: count
	// utilization from the first measurement's start, as a steady state.
	t.Logf("host-test pool: %d candidates in %v; measuring worker busy %.1fs = %.0f%% of the wall time, %.0f%% from the first measurement to the last (compile workers %d); verdicts %v",
		n, wall.Round(time.Millisecond), st.BusySeconds, 100*st.BusySeconds/wall.Seconds(), 100*st.LoadedUtilization, runtime.NumCPU(), statuses)
}
