package pipeline

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// BenchmarkChainNoop measures the engine's own cost: items through a chain of
// three no-op stages. Target: at least 1,000,000 items/s on 2 cores.
func BenchmarkChainNoop(b *testing.B) {
	items := make([]int, b.N)
	b.ResetTimer()
	g := NewGroup(context.Background(), nil)
	noop := func(_ context.Context, x int) (int, error) { return x, nil }
	s1 := Map(g, "a", 1, From(g, items), noop)
	s2 := Map(g, "b", 1, s1, noop)
	s3 := Map(g, "c", 1, s2, noop)
	Drain(g, s3, nil)
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkChainOverlap runs a "model" stage (5 ms, 8 at once) into a "GPU"
// stage (20 ms, one at once). With full overlap the chain takes as long as
// its slowest stage; overlap_ratio = wall time / (items × 20 ms), target ≤ 1.1.
func BenchmarkChainOverlap(b *testing.B) {
	const items = 50
	for range b.N {
		start := time.Now()
		g := NewGroup(context.Background(), nil)
		model := Map(g, "model", 8, From(g, make([]int, items)), func(ctx context.Context, x int) (int, error) {
			time.Sleep(5 * time.Millisecond)
			return x, nil
		})
		gpu := Map(g, "gpu", 1, model, func(ctx context.Context, x int) (int, error) {
			time.Sleep(20 * time.Millisecond)
			return x, nil
		})
		Drain(g, gpu, nil)
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds()/(items*0.020), "overlap_ratio")
	}
}

// BenchmarkDirCacheHit100KB measures a cache hit for a 100 KB value
// (read, length and checksum check). Target: under 1 ms.
func BenchmarkDirCacheHit100KB(b *testing.B) {
	ctx := context.Background()
	c, err := OpenDirCache(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	k := NewKey("bench", "v")
	if err := c.Put(ctx, k, bytes.Repeat([]byte("x"), 100<<10)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(100 << 10)
	b.ResetTimer()
	for range b.N {
		if _, ok, err := c.Get(ctx, k); !ok || err != nil {
			b.Fatal("miss")
		}
	}
}
