package pipeline

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Shard is one part I of N of a build (0 <= I < N).
type Shard struct {
	I, N int
}

// All is the whole build as one shard.
var All = Shard{0, 1}

// ParseShard parses "I/N".
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want I/N, e.g. 3/16", s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want I/N with 0 <= I < N", s)
	}
	return Shard{i, n}, nil
}

// ShardFromEnv reads the shard from a scheduler's environment: Slurm job
// arrays (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT; the array must start
// at 0) or Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX, with the count from
// KFORGE_SHARDS or count). ok is false when neither is set.
func ShardFromEnv(getenv func(string) string, count int) (s Shard, ok bool, err error) {
	if id := getenv("SLURM_ARRAY_TASK_ID"); id != "" {
		n := getenv("SLURM_ARRAY_TASK_COUNT")
		if n == "" && count > 0 {
			n = strconv.Itoa(count)
		}
		if min := getenv("SLURM_ARRAY_TASK_MIN"); min != "" && min != "0" {
			return Shard{}, false, fmt.Errorf("slurm array starts at %s: kforge shards need --array=0-N", min)
		}
		s, err := ParseShard(id + "/" + n)
		return s, err == nil, err
	}
	if id := getenv("JOB_COMPLETION_INDEX"); id != "" {
		n := getenv("KFORGE_SHARDS")
		if n == "" && count > 0 {
			n = strconv.Itoa(count)
		}
		if n == "" {
			return Shard{}, false, fmt.Errorf("JOB_COMPLETION_INDEX is set but the shard count is not (set KFORGE_SHARDS or run.shards)")
		}
		s, err := ParseShard(id + "/" + n)
		return s, err == nil, err
	}
	return Shard{}, false, nil
}

// Owns reports whether the item with this id belongs to the shard:
// sha256(id) mod N == I. Hashing ids (not positions) means a growing task set
// moves no existing task between shards of the same N.
func (s Shard) Owns(id string) bool {
	if s.N <= 1 {
		return true
	}
	sum := sha256.Sum256([]byte(id))
	return binary.BigEndian.Uint64(sum[:8])%uint64(s.N) == uint64(s.I)
}

// Name is the shard's directory name, e.g. "00003-of-00016".
func (s Shard) Name() string { return fmt.Sprintf("%05d-of-%05d", s.I, s.N) }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.I, s.N) }
