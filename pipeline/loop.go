package pipeline

import (
	"context"
	"sync"
)

// Loop joins a source channel with a feedback path, for stages whose items come
// back for another round (refinement). Items from the source enter the loop; an
// item sent back with Again re-enters without a new count; Done marks one item
// finished for good. Out is closed once the source is closed and every item that
// entered is done. The feedback queue is unbounded so a feedback send never
// blocks a stage that the loop's own consumers wait on (no deadlock by cycle).
type Loop[T any] struct {
	mu       sync.Mutex
	cond     *sync.Cond
	queue    []T
	inflight int
	srcDone  bool
	out      chan T
}

// NewLoop starts a loop in g fed by src.
func NewLoop[T any](g *Group, src <-chan T) *Loop[T] {
	l := &Loop[T]{out: make(chan T)}
	l.cond = sync.NewCond(&l.mu)
	g.Go(func(ctx context.Context) error {
		for x := range src {
			l.mu.Lock()
			l.inflight++
			l.queue = append(l.queue, x)
			l.mu.Unlock()
			l.cond.Broadcast()
		}
		l.mu.Lock()
		l.srcDone = true
		l.mu.Unlock()
		l.cond.Broadcast()
		return nil
	})
	// Wake the pump on cancellation so it can exit.
	stop := context.AfterFunc(g.Context(), func() { l.cond.Broadcast() })
	g.Go(func(ctx context.Context) error {
		defer stop()
		defer close(l.out)
		for {
			l.mu.Lock()
			for len(l.queue) == 0 && !(l.srcDone && l.inflight == 0) && ctx.Err() == nil {
				l.cond.Wait()
			}
			if ctx.Err() != nil || len(l.queue) == 0 {
				l.mu.Unlock()
				return nil
			}
			x := l.queue[0]
			var zero T
			l.queue[0] = zero
			l.queue = l.queue[1:]
			l.mu.Unlock()
			select {
			case l.out <- x:
			case <-ctx.Done():
				return nil
			}
		}
	})
	return l
}

// Out is the loop's output.
func (l *Loop[T]) Out() <-chan T { return l.out }

// Again sends an item that is still in flight back into the loop.
func (l *Loop[T]) Again(x T) {
	l.mu.Lock()
	l.queue = append(l.queue, x)
	l.mu.Unlock()
	l.cond.Broadcast()
}

// Done marks one item finished.
func (l *Loop[T]) Done() {
	l.mu.Lock()
	l.inflight--
	l.mu.Unlock()
	l.cond.Broadcast()
}
