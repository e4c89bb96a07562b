package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"
)

func TestChainMovesEveryItemAndCountsFailures(t *testing.T) {
	g := NewGroup(context.Background(), nil)
	src := make([]int, 1000)
	for i := range src {
		src[i] = i
	}
	doubled := Map(g, "double", 4, From(g, src), func(_ context.Context, x int) (int, error) {
		if x%100 == 7 {
			return 0, fmt.Errorf("item %d: bad input", x)
		}
		return 2 * x, nil
	})
	var got []int
	Drain(g, doubled, func(x int) error { got = append(got, x); return nil })
	if err := g.Wait(); err != nil {
		t.Fatalf("an item's failure stopped the run: %v", err)
	}
	if len(got) != 990 {
		t.Fatalf("got %d items, want 990", len(got))
	}
	sort.Ints(got)
	if got[0] != 0 || got[len(got)-1] != 1998 {
		t.Errorf("wrong values %d..%d", got[0], got[len(got)-1])
	}
	s := g.Stats().Snapshot()
	if s.Counters["double.in"] != 1000 || s.Counters["double.out"] != 990 || s.Counters["double.failed"] != 10 {
		t.Errorf("counters %v", s.Counters)
	}
	if n := len(s.Failures["double"]); n != 10 {
		t.Errorf("want 10 distinct reasons, got %d", n)
	}
}

func TestFatalStopsTheRun(t *testing.T) {
	g := NewGroup(context.Background(), nil)
	var seen atomic.Int64
	out := Map(g, "s", 2, From(g, make([]int, 100000)), func(_ context.Context, x int) (int, error) {
		if seen.Add(1) == 50 {
			return 0, Fatalf("disk gone")
		}
		return x, nil
	})
	Drain(g, out, nil)
	err := g.Wait()
	var f *Fatal
	if !errors.As(err, &f) {
		t.Fatalf("want a fatal error, got %v", err)
	}
	if seen.Load() >= 100000 {
		t.Errorf("the run went on after a fatal error")
	}
}

func TestCancelStopsEveryStage(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	g := NewGroup(ctx, nil)
	block := make(chan struct{})
	out := Map(g, "slow", 3, From(g, make([]int, 10)), func(ctx context.Context, x int) (int, error) {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return x, ctx.Err()
	})
	Drain(g, out, nil)
	cancel()
	if err := g.Wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if n := g.Stats().Get("slow.failed"); n != 0 {
		t.Errorf("cancelled items were counted as failures: %d", n)
	}
}

func TestLoopFeedsItemsBackUntilDone(t *testing.T) {
	g := NewGroup(context.Background(), nil)
	type job struct{ id, round int }
	src := []job{{1, 0}, {2, 0}, {3, 0}}
	loop := NewLoop(g, From(g, src))
	work := Map(g, "work", 2, loop.Out(), func(_ context.Context, j job) (job, error) { return j, nil })
	rounds := map[int]int{}
	Drain(g, work, func(j job) error {
		rounds[j.id]++
		if j.round < j.id { // job i runs i+1 rounds
			loop.Again(job{j.id, j.round + 1})
		} else {
			loop.Done()
		}
		return nil
	})
	done := make(chan error)
	go func() { done <- g.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("loop did not close: deadlock")
	}
	for id, n := range rounds {
		if n != id+1 {
			t.Errorf("job %d ran %d rounds, want %d", id, n, id+1)
		}
	}
}

func TestLoopWithEmptySourceCloses(t *testing.T) {
	g := NewGroup(context.Background(), nil)
	loop := NewLoop(g, From(g, []int(nil)))
	Drain(g, loop.Out(), nil)
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}
