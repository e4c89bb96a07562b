package shards

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"kforge/pipeline"
)

// makeShard writes a shard directory of build dir; done adds its DONE marker.
func makeShard(t *testing.T, dir string, i, n int, done bool) string {
	t.Helper()
	d := filepath.Join(dir, "shards", pipeline.Shard{I: i, N: n}.Name())
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{TasksFile, VariantsFile, VerdictsFile} {
		if err := os.WriteFile(filepath.Join(d, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(d, StatsFile), []byte(`{"counters":{"tasks":2}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if done {
		if err := os.WriteFile(filepath.Join(d, DoneFile), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func TestCheckShards(t *testing.T) {
	b := t.TempDir()
	s0 := makeShard(t, b, 0, 4, true)
	s1 := makeShard(t, b, 1, 4, true)
	s2 := makeShard(t, b, 2, 4, false) // died before DONE
	s3 := makeShard(t, b, 3, 4, true)
	other := makeShard(t, b, 0, 2, true)
	plain := filepath.Join(b, "plain")
	os.MkdirAll(plain, 0o755)
	os.WriteFile(filepath.Join(plain, DoneFile), nil, 0o644)
	absent := func(i int) string { return filepath.Join(b, "shards", pipeline.Shard{I: i, N: 4}.Name()) }

	for _, tc := range []struct {
		name              string
		dirs              []string
		complete, missing []string
		err               string
	}{
		{"all done", []string{s3, s0, s1}, []string{s3, s0, s1}, []string{absent(2)}, ""},
		{"unfinished and absent", []string{s0, s2}, []string{s0}, []string{absent(1), s2, absent(3)}, ""},
		{"mixed counts", []string{s0, other}, nil, nil, "different counts"},
		{"twice", []string{s0, s0}, nil, nil, "given twice"},
		{"unnamed counts by DONE", []string{plain}, []string{plain}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, m, err := checkShards(tc.dirs)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c, tc.complete) || !slices.Equal(m, tc.missing) {
				t.Fatalf("complete %q missing %q\nwant complete %q missing %q", c, m, tc.complete, tc.missing)
			}
		})
	}
}

func TestCollectShardsCanonicalOrder(t *testing.T) {
	b := t.TempDir()
	s0, s1, s2 := makeShard(t, b, 0, 3, true), makeShard(t, b, 1, 3, true), makeShard(t, b, 2, 3, true)
	for _, args := range [][]string{{s2, s0, s1}, {b}, {s1, s2, s0}} {
		c, m, err := Find(args)
		if err != nil || len(m) != 0 || !slices.Equal(c, []string{s0, s1, s2}) {
			t.Fatalf("Find(%q) = %q, %q, %v", args, c, m, err)
		}
	}
}
