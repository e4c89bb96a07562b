// Package layers holds one test: the import rules that keep the folders
// telling the data flow (sources → filters → assembly → sinks, over
// datasets and pipeline, wired by cmd).
package layers

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// rank orders kforge's packages: a package may import packages of its own
// rank or lower, never higher (no import runs back up). The first matching
// prefix decides.
var rank = []struct {
	prefix string
	rank   int
}{
	{"kforge/datasets", 0},
	{"kforge/internal/redact", 0},
	{"kforge/internal/parquetrows", 0},
	{"kforge/pipeline", 1},
	{"kforge/internal", 1}, // hubclient, sched: transports over the engine
	{"kforge/shards", 1},   // the shard directory: build writes it, assembly reads it
	{"kforge/sources", 2},
	{"kforge/filters", 2},
	{"kforge/assemble", 3},
	{"kforge/sinks", 4},
	{"kforge/serve", 4},   // the verifier as a service: stages in, shards out
	{"kforge/configs", 5}, // composes every stage's section
	{"kforge/build", 6},   // the product loop over a whole recipe
	{"kforge/cmd", 7},
}

// forbidden are imports the ranks allow but the flow does not: sinks only
// write what they are given; filters judge what sources give them.
var forbidden = []struct{ from, to, why string }{
	{"kforge/sinks", "kforge/filters", "a sink writes what it is given; selection belongs before it"},
	{"kforge/sinks", "kforge/sources", "a sink writes what it is given; inputs come through the wiring"},
	{"kforge/filters", "kforge/sources", "filters judge what they are given; they do not fetch"},
}

func rankOf(p string) (int, bool) {
	for _, r := range rank {
		if p == r.prefix || strings.HasPrefix(p, r.prefix+"/") {
			return r.rank, true
		}
	}
	return 0, false
}

func under(p, prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }

func TestImportLayers(t *testing.T) {
	cmd := exec.Command("go", "list", "-tags", "hosttest", "-json=ImportPath,Imports", "kforge/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		from, ok := rankOf(p.ImportPath)
		if !ok {
			t.Errorf("%s has no rank: add its folder to the rank table (and README's layout)", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			if !under(imp, "kforge") {
				continue
			}
			if under(imp, "kforge/cmd") {
				t.Errorf("%s imports %s: nothing imports the CLI", p.ImportPath, imp)
			}
			to, ok := rankOf(imp)
			if ok && to > from {
				t.Errorf("%s (rank %d) imports %s (rank %d): an import runs back up", p.ImportPath, from, imp, to)
			}
			for _, f := range forbidden {
				if under(p.ImportPath, f.from) && under(imp, f.to) {
					t.Errorf("%s imports %s: %s", p.ImportPath, imp, f.why)
				}
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d packages listed", n)
	}
}
