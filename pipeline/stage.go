// Package pipeline is kforge's engine: typed stages joined by bounded channels,
// each with its own concurrency, plus the run's counters, progress, cache and
// sharding. It knows nothing about kernels; stages bring their own logic.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Fatal marks an error that must stop the whole run (a broken cache
// directory, a lost GPU). Any other error a stage function returns is the
// failure of one item: it is counted with its reason and the run goes on.
type Fatal struct{ Err error }

func (f *Fatal) Error() string { return "fatal: " + f.Err.Error() }
func (f *Fatal) Unwrap() error { return f.Err }

// Fatalf returns a *Fatal built like fmt.Errorf.
func Fatalf(format string, args ...any) error { return &Fatal{fmt.Errorf(format, args...)} }

// Group runs the stages of one run and collects the first fatal error.
// Cancelling its context (or a fatal error) stops every stage.
type Group struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
	stats  *Stats
	mu     sync.Mutex
	err    error
}

// NewGroup returns a group whose stages run under ctx and count into stats.
func NewGroup(ctx context.Context, stats *Stats) *Group {
	ctx, cancel := context.WithCancelCause(ctx)
	if stats == nil {
		stats = NewStats()
	}
	return &Group{ctx: ctx, cancel: cancel, stats: stats}
}

// Context is the group's context; it is cancelled on the first fatal error.
func (g *Group) Context() context.Context { return g.ctx }

// Stats are the counters of the group's run.
func (g *Group) Stats() *Stats { return g.stats }

// Go runs fn as part of the group. An error stops the run.
func (g *Group) Go(fn func(ctx context.Context) error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := fn(g.ctx); err != nil {
			g.fail(err)
		}
	}()
}

func (g *Group) fail(err error) {
	g.mu.Lock()
	if g.err == nil {
		g.err = err
	}
	g.mu.Unlock()
	g.cancel(err)
}

// Wait waits for every stage and returns the first fatal error, or the
// context's error when the run was cancelled from outside.
func (g *Group) Wait() error {
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return g.err
	}
	if err := context.Cause(g.ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return g.ctx.Err()
}

// DefaultBuffer is the output channel capacity of a stage that sets none.
const DefaultBuffer = 64

// Stage describes one step of a chain: a name for its counters, how many
// items it works on at once, and the function applied to each item.
type Stage[In, Out any] struct {
	Name    string
	Workers int // items in flight at once; <1 means 1
	// Fn handles one item and emits zero or more outputs. A *Fatal error
	// stops the run; any other error is the failure of this item, counted
	// under the stage's name with its reason.
	Fn func(ctx context.Context, in In, emit func(Out)) error
	// Buffer is the capacity of the output channel; <1 means DefaultBuffer.
	// Items are small (pointers, ids), so a buffer lets a fast stage run ahead
	// of a slow one without a goroutine switch per item.
	Buffer int
}

// Run starts the stage in g, reading from in until it is closed, and returns
// its output channel, which is closed once every worker is done. Counters:
// "<name>.in", "<name>.out", "<name>.failed".
func Run[In, Out any](g *Group, s Stage[In, Out], in <-chan In) <-chan Out {
	workers := max(s.Workers, 1)
	buf := s.Buffer
	if buf < 1 {
		buf = DefaultBuffer
	}
	out := make(chan Out, buf)
	var wg sync.WaitGroup
	wg.Add(workers)
	counterIn := g.stats.Counter(s.Name + ".in")
	counterOut := g.stats.Counter(s.Name + ".out")
	for range workers {
		g.Go(func(ctx context.Context) error {
			defer wg.Done()
			emit := func(o Out) {
				counterOut.Add(1)
				select {
				case out <- o: // fast path: room in the buffer
					return
				default:
				}
				select {
				case out <- o:
				case <-ctx.Done():
				}
			}
			// Upstream stages close their outputs when cancelled, so ranging
			// over in ends on cancellation too; the check below stops work early.
			for item := range in {
				if ctx.Err() != nil {
					return nil
				}
				counterIn.Add(1)
				if err := s.Fn(ctx, item, emit); err != nil {
					var f *Fatal
					if errors.As(err, &f) {
						return fmt.Errorf("stage %s: %w", s.Name, err)
					}
					if ctx.Err() != nil {
						return nil
					}
					g.stats.Fail(s.Name, err)
				}
			}
			return nil
		})
	}
	go func() { wg.Wait(); close(out) }()
	return out
}

// Map is Run for a stage that turns each item into exactly one output.
func Map[In, Out any](g *Group, name string, workers int, in <-chan In, fn func(context.Context, In) (Out, error)) <-chan Out {
	return Run(g, Stage[In, Out]{Name: name, Workers: workers, Fn: func(ctx context.Context, x In, emit func(Out)) error {
		o, err := fn(ctx, x)
		if err != nil {
			return err
		}
		emit(o)
		return nil
	}}, in)
}

// From feeds items into a new channel from a goroutine in g.
func From[T any](g *Group, items []T) <-chan T {
	out := make(chan T)
	g.Go(func(ctx context.Context) error {
		defer close(out)
		for _, it := range items {
			select {
			case out <- it:
			case <-ctx.Done():
				return nil
			}
		}
		return nil
	})
	return out
}

// Drain consumes in, calling fn for each item, in g. An error from fn stops the run.
func Drain[T any](g *Group, in <-chan T, fn func(T) error) {
	g.Go(func(ctx context.Context) error {
		for x := range in {
			if fn != nil {
				if err := fn(x); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
