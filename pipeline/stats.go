package pipeline

import (
	"encoding/json"
	"fmt"
	"kforge/internal/redact"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FunnelSteps are the counters that make kforge's funnel, in order.
var FunnelSteps = []string{"mined", "generated", "gated", "compiled", "correct", "faster", "kept"}

// Stats are a run's counters: named integers, float sums, and per stage and
// reason the items that failed (the run could not judge them: a request that
// kept failing, a crashed compiler) and the items that were rejected (judged
// and dropped: a gate rule, a wrong result). Safe for concurrent use.
type Stats struct {
	start      time.Time
	mu         sync.Mutex
	counters   map[string]*atomic.Int64
	sums       map[string]float64
	failures   map[string]map[string]int64
	rejections map[string]map[string]int64
}

// NewStats returns empty counters, starting the run's clock.
func NewStats() *Stats {
	return &Stats{start: time.Now(), counters: map[string]*atomic.Int64{}, sums: map[string]float64{},
		failures: map[string]map[string]int64{}, rejections: map[string]map[string]int64{}}
}

// Counter returns the named counter, creating it at zero.
func (s *Stats) Counter(name string) *atomic.Int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.counters[name]
	if !ok {
		c = new(atomic.Int64)
		s.counters[name] = c
	}
	return c
}

// Add adds n to the named counter.
func (s *Stats) Add(name string, n int64) { s.Counter(name).Add(n) }

// Get returns the named counter's value.
func (s *Stats) Get(name string) int64 { return s.Counter(name).Load() }

// AddFloat adds x to the named sum (seconds, tokens as floats).
func (s *Stats) AddFloat(name string, x float64) {
	s.mu.Lock()
	s.sums[name] += x
	s.mu.Unlock()
}

// Fail records the failure of one item in stage with its reason; counter
// "<stage>.failed". A build with failed items exits 3.
func (s *Stats) Fail(stage string, err error) {
	s.record(s.failures, stage, err.Error())
	s.Counter(stage + ".failed").Add(1)
}

// Reject records one item judged and dropped by stage for reason; counter
// "<stage>.rejected". Rejections are the product working, not failures.
func (s *Stats) Reject(stage, reason string) {
	s.record(s.rejections, stage, reason)
	s.Counter(stage + ".rejected").Add(1)
}

// record counts reason under stage. Reasons are cut to their first line and
// 200 bytes so that counts group.
func (s *Stats) record(into map[string]map[string]int64, stage, reason string) {
	reason = redact.Text(reason) // a failure's text may name a server URL with credentials
	if i := strings.IndexByte(reason, '\n'); i >= 0 {
		reason = reason[:i]
	}
	if len(reason) > 200 {
		reason = reason[:200]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := into[stage]
	if !ok {
		m = map[string]int64{}
		into[stage] = m
	}
	m[reason]++
}

// Failed is the number of failed items over every stage.
func (s *Stats) Failed() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := int64(0)
	for _, m := range s.failures {
		for _, c := range m {
			n += c
		}
	}
	return n
}

// FunnelLine renders the funnel as "mined 10 → generated 40 → …".
func (s *Stats) FunnelLine() string {
	var b strings.Builder
	for i, step := range FunnelSteps {
		if i > 0 {
			b.WriteString(" → ")
		}
		fmt.Fprintf(&b, "%s %d", step, s.Get(step))
	}
	return b.String()
}

// Snapshot is a point-in-time copy of the stats, as written to stats.json.
type Snapshot struct {
	Seconds    float64                     `json:"seconds"`
	Funnel     []FunnelStep                `json:"funnel"`
	Counters   map[string]int64            `json:"counters"`
	Sums       map[string]float64          `json:"sums,omitempty"`
	Failures   map[string]map[string]int64 `json:"failures,omitempty"`
	Rejections map[string]map[string]int64 `json:"rejections,omitempty"`
}

// FunnelStep is one step of the funnel.
type FunnelStep struct {
	Step  string `json:"step"`
	Count int64  `json:"count"`
}

// Snapshot copies the stats.
func (s *Stats) Snapshot() Snapshot {
	snap := Snapshot{Seconds: time.Since(s.start).Seconds(), Counters: map[string]int64{}, Sums: map[string]float64{},
		Failures: map[string]map[string]int64{}, Rejections: map[string]map[string]int64{}}
	s.mu.Lock()
	for k, v := range s.counters {
		snap.Counters[k] = v.Load()
	}
	maps.Copy(snap.Sums, s.sums)
	for k, v := range s.failures {
		snap.Failures[k] = maps.Clone(v)
	}
	for k, v := range s.rejections {
		snap.Rejections[k] = maps.Clone(v)
	}
	s.mu.Unlock()
	for _, step := range FunnelSteps {
		snap.Funnel = append(snap.Funnel, FunnelStep{step, snap.Counters[step]})
	}
	return snap
}

// MarshalJSON writes a snapshot with sorted keys (encoding/json sorts maps).
func (s *Stats) MarshalJSON() ([]byte, error) { return json.Marshal(s.Snapshot()) }

// Merge adds the counters, sums and failures of snap into s (for merging shards).
func (s *Stats) Merge(snap Snapshot) {
	for _, k := range slices.Sorted(maps.Keys(snap.Counters)) {
		s.Add(k, snap.Counters[k])
	}
	for k, v := range snap.Sums {
		s.AddFloat(k, v)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pair := range []struct{ into, from map[string]map[string]int64 }{{s.failures, snap.Failures}, {s.rejections, snap.Rejections}} {
		for st, m := range pair.from {
			if pair.into[st] == nil {
				pair.into[st] = map[string]int64{}
			}
			for r, n := range m {
				pair.into[st][r] += n
			}
		}
	}
}
