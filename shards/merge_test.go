package shards

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"kforge/datasets"
)

// writeShard writes d, sorted, as a complete shard directory.
func writeShard(t *testing.T, dir string, d datasets.ShardData) {
	t.Helper()
	d.Sort()
	os.MkdirAll(dir, 0o755)
	for name, write := range map[string]func(f *os.File) error{
		TasksFile:    func(f *os.File) error { return datasets.WriteJSONL(f, d.Tasks) },
		VariantsFile: func(f *os.File) error { return datasets.WriteJSONL(f, d.Variants) },
		VerdictsFile: func(f *os.File) error { return datasets.WriteJSONL(f, d.Verdicts) },
		DoneFile:     func(f *os.File) error { return nil },
	} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := write(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

func mergeTestData(n int) datasets.ShardData {
	var d datasets.ShardData
	for i := range n {
		id := fmt.Sprintf("task%02d", (i*7)%n)
		d.Tasks = append(d.Tasks, datasets.Task{ID: id, Op: "op"})
		for s := range 2 {
			vid := fmt.Sprintf("%s-v%d", id, s)
			d.Variants = append(d.Variants, datasets.Variant{ID: vid, TaskID: id, Sample: s})
			d.Verdicts = append(d.Verdicts, datasets.Verdict{VariantID: vid, TaskID: id, Status: datasets.StatusKept})
		}
	}
	return d
}

func collect(t *testing.T, dirs []string) []datasets.ShardData {
	t.Helper()
	var got []datasets.ShardData
	if err := Merge(dirs, func(d *datasets.ShardData) error { got = append(got, *d); return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestMergeShardsOrderDoesNotDependOnSharding(t *testing.T) {
	all := mergeTestData(10)
	root := t.TempDir()
	writeShard(t, filepath.Join(root, "one"), all)
	// The same tasks split over three shards, unevenly.
	parts := make([]datasets.ShardData, 3)
	for i, tk := range all.Tasks {
		p := &parts[(i*5)%3]
		p.Tasks = append(p.Tasks, tk)
		for _, v := range all.Variants {
			if v.TaskID == tk.ID {
				p.Variants = append(p.Variants, v)
			}
		}
		for _, v := range all.Verdicts {
			if v.TaskID == tk.ID {
				p.Verdicts = append(p.Verdicts, v)
			}
		}
	}
	var dirs []string
	for i, p := range parts {
		d := filepath.Join(root, fmt.Sprintf("s%d", i))
		writeShard(t, d, p)
		dirs = append(dirs, d)
	}
	one := collect(t, []string{filepath.Join(root, "one")})
	three := collect(t, dirs)
	if len(one) != 10 || !reflect.DeepEqual(one, three) {
		t.Fatalf("one shard gave %d groups, three gave %d; equal=%v", len(one), len(three), reflect.DeepEqual(one, three))
	}
	for i, g := range one {
		if len(g.Tasks) != 1 || len(g.Variants) != 2 || len(g.Verdicts) != 2 || g.Tasks[0].ID != fmt.Sprintf("task%02d", i) {
			t.Fatalf("group %d: %+v", i, g)
		}
	}
}

func TestMergeShardsRefusesIncompleteAndUnsorted(t *testing.T) {
	root := t.TempDir()
	d := filepath.Join(root, "s")
	writeShard(t, d, mergeTestData(3))
	os.Remove(filepath.Join(d, DoneFile))
	if err := Merge([]string{d}, func(*datasets.ShardData) error { return nil }); err == nil || !strings.Contains(err.Error(), "not complete") {
		t.Errorf("incomplete shard: %v", err)
	}
	os.WriteFile(filepath.Join(d, DoneFile), nil, 0o644)
	os.WriteFile(filepath.Join(d, TasksFile), []byte("{\"id\":\"b\"}\n{\"id\":\"a\"}\n"), 0o644)
	if err := Merge([]string{d}, func(*datasets.ShardData) error { return nil }); err == nil || !strings.Contains(err.Error(), "tasks.jsonl:2: not in canonical order") {
		t.Errorf("unsorted shard: %v", err)
	}
	os.WriteFile(filepath.Join(d, TasksFile), []byte("{\"id\":\"a\"}\n{broken\n"), 0o644)
	if err := Merge([]string{d}, func(*datasets.ShardData) error { return nil }); err == nil || !strings.Contains(err.Error(), "tasks.jsonl:2") {
		t.Errorf("broken line: %v", err)
	}
	// Valid up to its key, broken after it: found when the line is decoded.
	os.WriteFile(filepath.Join(d, TasksFile), []byte("{\"id\":\"a\"}\n{\"id\":\"b\", broken\n"), 0o644)
	if err := Merge([]string{d}, func(*datasets.ShardData) error { return nil }); err == nil || !strings.Contains(err.Error(), "tasks.jsonl:2") {
		t.Errorf("line broken after its key: %v", err)
	}
	// Duplicate keys: the key read first and the value decoded last differ.
	os.WriteFile(filepath.Join(d, TasksFile), []byte("{\"id\":\"a\",\"ID\":\"z\"}\n"), 0o644)
	if err := Merge([]string{d}, func(*datasets.ShardData) error { return nil }); err == nil || !strings.Contains(err.Error(), "duplicate keys") {
		t.Errorf("duplicate keys: %v", err)
	}
}

// TestMergeShardsStopsCleanly: an error from fn, early or late, comes back
// and leaves no reader or decoder goroutine behind.
func TestMergeShardsStopsCleanly(t *testing.T) {
	root := t.TempDir()
	var dirs []string
	for i, n := range []int{40, 25} {
		d := filepath.Join(root, fmt.Sprint("s", i))
		writeShard(t, d, mergeTestData(n))
		dirs = append(dirs, d)
	}
	before := runtime.NumGoroutine()
	for _, stopAt := range []int{0, 7, 39} {
		calls := 0
		stop := errors.New("stop")
		err := Merge(dirs, func(*datasets.ShardData) error {
			calls++
			if calls > stopAt {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || calls != stopAt+1 {
			t.Errorf("stop at %d: %d calls, err %v", stopAt, calls, err)
		}
	}
	for deadline := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > before && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left behind", n-before)
	}
}

// TestJSONKey reads one top-level key and stops there, as the merge reads a
// line's task id before it decodes the line.
func TestJSONKey(t *testing.T) {
	key := jsonKey("task_id")
	for _, c := range []struct {
		line, want string
		err        bool
	}{
		{`{"id":"v1","task_id":"t1","messages":[{"role":"user","content":"x"}]}`, "t1", false},
		{`{"task_id":"t2"}`, "t2", false},
		{`{"nested":{"task_id":"inner"},"code":"\"task_id\":\"fake\"","task_id":"t3"}`, "t3", false},
		{`{"Task_ID":"t4"}`, "t4", false}, // encoding/json matches keys case-insensitively too
		{` { "id" : 7 , "task_id" : "t5" } `, "t5", false},
		{`{"id":"v1"}`, "", false},
		{`{"task_id":"t6", broken`, "t6", false}, // the whole line is validated when it is decoded
		{`{"id":"v1", broken`, "", true},
		{`["task_id","t1"]`, "", true},
		{`{"task_id":17}`, "", true},
		{`not json`, "", true},
	} {
		got, err := key([]byte(c.line))
		if got != c.want || (err != nil) != c.err {
			t.Errorf("%s: got %q, %v; want %q (error %v)", c.line, got, err, c.want, c.err)
		}
	}
}
