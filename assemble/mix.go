package assemble

import (
	"cmp"
	"container/heap"
	"encoding/binary"
	"encoding/hex"
	"kforge/datasets"
	"math"
	"slices"
)

// Replay modes: the unit the replay fraction is counted in.
const (
	ReplayTokens = "tokens"
	ReplayRows   = "rows"
)

// ReplayQuota is how much replay (tokens or rows) makes replay/(replay+task)
// equal fraction, rounded up.
func ReplayQuota(task int64, fraction float64) int64 {
	if fraction <= 0 || task <= 0 {
		return 0
	}
	if fraction >= 1 {
		return math.MaxInt64
	}
	return int64(math.Ceil(float64(task) * fraction / (1 - fraction)))
}

// Amount is what one row counts for in mode: its estimated tokens, or 1.
func Amount(mode string, ms []datasets.ChatMessage) int64 {
	if mode == ReplayRows {
		return 1
	}
	return max(1, datasets.Tokens(ms))
}

// Mixer interleaves replay rows into a stream of task rows so that every
// prefix of the stream, hence every shard, holds about the target fraction.
type Mixer struct {
	fraction     float64
	task, replay int64
}

// NewMixer returns a mixer aiming at fraction replay.
func NewMixer(fraction float64) *Mixer { return &Mixer{fraction: fraction} }

// AddTask counts a task row of the given amount.
func (m *Mixer) AddTask(amount int64) { m.task += amount }

// Due reports whether adding a replay row of amount next brings the realised
// fraction closer to the target than leaving it out.
func (m *Mixer) Due(next int64) bool {
	if m.fraction <= 0 || m.task == 0 {
		return false
	}
	now := math.Abs(float64(m.replay)/float64(m.task+m.replay) - m.fraction)
	after := math.Abs(float64(m.replay+next)/float64(m.task+m.replay+next) - m.fraction)
	return after < now
}

// AddReplay counts a replay row of the given amount.
func (m *Mixer) AddReplay(amount int64) { m.replay += amount }

// Realised is the fraction mixed so far, and the task and replay amounts.
func (m *Mixer) Realised() (fraction float64, task, replay int64) {
	if m.task+m.replay == 0 {
		return 0, 0, 0
	}
	return float64(m.replay) / float64(m.task+m.replay), m.task, m.replay
}

// SampleKey is the seeded random priority of an item: sampling keeps the
// smallest keys, so it is without replacement and independent of read order.
func SampleKey(seed int, parts ...any) uint64 {
	h := datasets.Hash("sample", append([]any{seed}, parts...)...)
	b, _ := hex.DecodeString(h[:16])
	return binary.BigEndian.Uint64(b)
}

// Sample is a streaming bottom-k sample by amount: it keeps the items with the
// smallest keys whose amounts just reach the quota, holding no more than that
// in memory however long the stream.
type Sample[T any] struct {
	quota int64
	sum   int64
	h     sampleHeap[T]
}

// NewSample returns an empty sample that aims at quota.
func NewSample[T any](quota int64) *Sample[T] { return &Sample[T]{quota: quota} }

// Offer considers one item.
func (s *Sample[T]) Offer(key uint64, amount int64, item T) {
	if s.quota <= 0 {
		return
	}
	if len(s.h) > 0 && s.sum >= s.quota && key >= s.h[0].key {
		return // the sample is full and the item ranks after all of it
	}
	heap.Push(&s.h, sampleItem[T]{key, amount, item})
	s.sum += amount
	for len(s.h) > 1 && s.sum-s.h[0].amount >= s.quota {
		top := heap.Pop(&s.h).(sampleItem[T])
		s.sum -= top.amount
	}
}

// Items returns the sample in key order (a seeded random order).
func (s *Sample[T]) Items() []T {
	items := make([]sampleItem[T], len(s.h))
	copy(items, s.h)
	// Heap order is not key order; sort ascending.
	slices.SortFunc(items, func(a, b sampleItem[T]) int { return cmp.Compare(a.key, b.key) })
	out := make([]T, len(items))
	for i, it := range items {
		out[i] = it.item
	}
	return out
}

// Keys returns the keys of Items, in the same order.
func (s *Sample[T]) Keys() []uint64 {
	ks := make([]uint64, len(s.h))
	for i, it := range s.h {
		ks[i] = it.key
	}
	slices.Sort(ks)
	return ks
}

// Sum is the total amount sampled.
func (s *Sample[T]) Sum() int64 { return s.sum }

type sampleItem[T any] struct {
	key    uint64
	amount int64
	item   T
}

// sampleHeap is a max-heap by key.
type sampleHeap[T any] []sampleItem[T]

func (h sampleHeap[T]) Len() int           { return len(h) }
func (h sampleHeap[T]) Less(i, j int) bool { return h[i].key > h[j].key }
func (h sampleHeap[T]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *sampleHeap[T]) Push(x any)        { *h = append(*h, x.(sampleItem[T])) }
func (h *sampleHeap[T]) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
