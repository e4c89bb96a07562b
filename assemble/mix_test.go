package assemble

import (
	"math"
	"slices"
	"testing"
)

func TestReplayQuota(t *testing.T) {
	tests := []struct {
		task     int64
		fraction float64
		want     int64
	}{
		{990, 0.01, 10}, {1000, 0.01, 11}, {100, 0, 0}, {0, 0.1, 0}, {300, 0.25, 100},
	}
	for _, tc := range tests {
		if got := ReplayQuota(tc.task, tc.fraction); got != tc.want {
			t.Errorf("ReplayQuota(%d, %g) = %d, want %d", tc.task, tc.fraction, got, tc.want)
		}
	}
}

func TestSampleWithoutReplacement(t *testing.T) {
	s := NewSample[int](500)
	for i := range 10_000 {
		s.Offer(SampleKey(1, "src", i), 10, i)
	}
	items := s.Items()
	if len(items) != 50 || s.Sum() != 500 {
		t.Fatalf("sampled %d items summing %d, want 50 and 500", len(items), s.Sum())
	}
	sorted := slices.Clone(items)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != 50 {
		t.Errorf("an item was sampled twice")
	}
	// The same seed gives the same sample whatever the read order.
	r := NewSample[int](500)
	for i := 9_999; i >= 0; i-- {
		r.Offer(SampleKey(1, "src", i), 10, i)
	}
	if !slices.Equal(r.Items(), items) {
		t.Errorf("sample depends on read order")
	}
	o := NewSample[int](500)
	for i := range 10_000 {
		o.Offer(SampleKey(2, "src", i), 10, i)
	}
	if slices.Equal(o.Items(), items) {
		t.Errorf("sample does not depend on the seed")
	}
	// Keys ascend with items.
	if !slices.IsSorted(s.Keys()) {
		t.Errorf("keys not in order")
	}
}

func TestSampleUnevenAmounts(t *testing.T) {
	s := NewSample[int](1000)
	for i := range 2000 {
		s.Offer(SampleKey(3, i), int64(1+i%97), i)
	}
	// The kept set is the smallest-key prefix that just reaches the quota.
	if s.Sum() < 1000 || s.Sum()-97 >= 1000 {
		t.Errorf("sum %d is not the minimal prefix reaching 1000", s.Sum())
	}
	if NewSample[int](0).Sum() != 0 {
		t.Errorf("zero quota must sample nothing")
	}
}

func TestMixerEveryPrefix(t *testing.T) {
	m := NewMixer(0.05)
	replay := 0
	for i := range 5000 {
		m.AddTask(int64(100 + i%300))
		for m.Due(120) {
			m.AddReplay(120)
			replay++
		}
		if i > 200 {
			f, _, _ := m.Realised()
			if math.Abs(f-0.05) > 0.01 {
				t.Fatalf("after %d task rows the fraction is %.4f", i, f)
			}
		}
	}
	f, task, rp := m.Realised()
	if math.Abs(f-0.05) > 0.001 || rp != int64(replay)*120 || task == 0 {
		t.Errorf("realised %.4f (%d/%d)", f, rp, task)
	}
	if NewMixer(0).Due(1) || NewMixer(0.1).Due(1) {
		t.Errorf("no fraction or no task rows: nothing is due")
	}
}
