package pipeline

import (
	"fmt"
	"testing"
)

func TestShardsPartitionIDs(t *testing.T) {
	const n = 7
	counts := make([]int, n)
	for i := range 7000 {
		id := fmt.Sprintf("task-%d", i)
		owners := 0
		for s := range n {
			if (Shard{s, n}).Owns(id) {
				owners++
				counts[s]++
			}
		}
		if owners != 1 {
			t.Fatalf("%s has %d owners", id, owners)
		}
	}
	for s, c := range counts {
		if c < 800 || c > 1200 {
			t.Errorf("shard %d has %d of 7000 ids: unbalanced", s, c)
		}
	}
}

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		ok   bool
	}{
		{"0/1", Shard{0, 1}, true}, {"3/16", Shard{3, 16}, true},
		{"16/16", Shard{}, false}, {"-1/4", Shard{}, false}, {"1", Shard{}, false}, {"a/b", Shard{}, false}, {"0/0", Shard{}, false},
	} {
		got, err := ParseShard(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v", tc.in, got, err)
		}
	}
	if (Shard{3, 16}).Name() != "00003-of-00016" {
		t.Error("name")
	}
}

func TestShardFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		name  string
		env   map[string]string
		count int
		want  Shard
		ok    bool
		err   bool
	}{
		{"none", nil, 0, Shard{}, false, false},
		{"slurm", map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4"}, 0, Shard{2, 4}, true, false},
		{"slurm offset array", map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"}, 0, Shard{}, false, true},
		{"k8s", map[string]string{"JOB_COMPLETION_INDEX": "5", "KFORGE_SHARDS": "8"}, 0, Shard{5, 8}, true, false},
		{"k8s count from config", map[string]string{"JOB_COMPLETION_INDEX": "1"}, 3, Shard{1, 3}, true, false},
		{"k8s without count", map[string]string{"JOB_COMPLETION_INDEX": "1"}, 0, Shard{}, false, true},
	} {
		s, ok, err := ShardFromEnv(env(tc.env), tc.count)
		if s != tc.want || ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("%s: got %v %v %v", tc.name, s, ok, err)
		}
	}
}
