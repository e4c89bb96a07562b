package verify

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kforge/datasets"
)

// polyTask loads the fixture task.
func polyTask(t *testing.T) *datasets.Task {
	t.Helper()
	f, err := os.Open("testdata/poly/tasks.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	if !sc.Scan() {
		t.Fatal("empty tasks.jsonl")
	}
	var tk datasets.Task
	if err := json.Unmarshal(sc.Bytes(), &tk); err != nil {
		t.Fatal(err)
	}
	return &tk
}

// candidate is a variant holding the fixture candidate name (or the text itself).
func candidate(t *testing.T, tk *datasets.Task, name string) *datasets.Variant {
	t.Helper()
	text := name
	if b, err := os.ReadFile(filepath.Join("testdata/poly/candidates", name+".hip")); err == nil {
		text = string(b)
	} else if name == "reference" {
		text = tk.Region.Text
	}
	v := &datasets.Variant{TaskID: tk.ID, Model: "fixture", PromptVersion: "test", Region: text, Sample: len(name)}
	v.ID = datasets.VariantID(v)
	return v
}

func testConfig(backend string) Config {
	return Config{
		Backend: backend, Archs: []string{"gfx90a"}, CompileTimeout: 5 * time.Minute, RunTimeout: 8 * time.Second,
		Warmup: 1, Repetitions: 5, Seeds: 2, MinSpeedup: 1.05, MaxSpeedup: 10, Profiler: "auto",
	}
}
