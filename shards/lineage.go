package shards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kforge/datasets"
)

// Lineage is what a shard was built from: written by the build into
// lineage.json, checked to agree across the shards of a release, and copied
// into the release's manifest. No timestamps and no host names, so
// identical inputs give identical releases.
//
// The JSON keys are the ones the map it replaced wrote, so lineage.json of
// older shards reads the same. The dataset section keeps its Go field names
// (datasets.Config has no json tags; the manifest's dataset_config is the
// same encoding). Empty sections are left out.
type Lineage struct {
	// Build is the recipe's name (the build's).
	Build string `json:"build,omitempty"`
	// Recipe names the recipe a release was made with when the shards carry
	// no lineage of their own (hand-made or old shards).
	Recipe   string           `json:"recipe,omitempty"`
	Sources  []SourceRef      `json:"sources,omitempty"`
	Skipped  map[string]int64 `json:"skipped,omitempty"`
	Model    *ModelRef        `json:"model,omitempty"`
	Sampling *Sampling        `json:"sampling,omitempty"`
	// Prompts are the prompt template versions by task kind.
	Prompts map[string]string `json:"prompts,omitempty"`
	Verify  *VerifyRef        `json:"verify,omitempty"`
	Dataset *datasets.Config  `json:"dataset,omitempty"`
	// Kforge is the version of kforge that built the shard.
	Kforge string `json:"kforge,omitempty"`
	// Serve is the reward section a `kforge serve` shard was recorded under
	// (absent for build shards), as that package writes it.
	Serve json.RawMessage `json:"serve,omitempty"`

	// datasetJSON is the dataset section as read, so that keys it lacks
	// can keep their defaults (DecodeDataset).
	datasetJSON json.RawMessage
}

// UnmarshalJSON decodes a lineage, keeping its dataset section as read.
func (l *Lineage) UnmarshalJSON(b []byte) error {
	type plain Lineage
	var raw struct {
		Dataset json.RawMessage `json:"dataset"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(b, (*plain)(l)); err != nil {
		return err
	}
	l.datasetJSON = raw.Dataset
	return nil
}

// DecodeDataset decodes the lineage's dataset section over d: the keys the
// lineage lacks keep d's values (the defaults, say). A lineage without a
// dataset section leaves d as it is.
func (l *Lineage) DecodeDataset(d *datasets.Config) error {
	raw := l.datasetJSON
	if len(raw) == 0 && l.Dataset != nil {
		raw, _ = json.Marshal(l.Dataset)
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return json.Unmarshal(raw, d)
}

// SourceRef is one mined repository as the build read it (what this run
// found in its caches, and how long it took, is not lineage).
type SourceRef struct {
	URL      string   `json:"url"`
	Ref      string   `json:"ref"`
	Commit   string   `json:"commit"`
	Subdir   string   `json:"subdir,omitempty"`
	Tasks    int      `json:"tasks"`
	Kinds    []string `json:"kinds,omitempty"`
	Files    int      `json:"files"`
	Programs int      `json:"programs"`
	Error    string   `json:"error,omitempty"`
}

// ModelRef is the generating model as the server described it.
type ModelRef struct {
	Provider     string   `json:"provider"`
	Host         string   `json:"host,omitempty"`
	Model        string   `json:"model"`
	Digest       string   `json:"digest,omitempty"`
	Family       string   `json:"family,omitempty"`
	ParamSize    string   `json:"parameter_size,omitempty"`
	Quantization string   `json:"quantization,omitempty"`
	Parameters   string   `json:"parameters,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`
}

// Sampling is how candidates were drawn.
type Sampling struct {
	Samples     int     `json:"samples"`
	Rounds      int     `json:"rounds"`
	Temperature float64 `json:"temperature"`
	TopP        float64 `json:"top_p"`
	Seed        int     `json:"seed"`
	NumCtx      int     `json:"num_ctx"`
	MaxTokens   int     `json:"max_tokens"`
}

// VerifyRef is how candidates were judged.
type VerifyRef struct {
	Backend     string          `json:"backend"`
	Device      datasets.Device `json:"device"`
	MinSpeedup  float64         `json:"min_speedup"`
	MaxSpeedup  float64         `json:"max_speedup"`
	Repetitions int             `json:"repetitions"`
}

// ReadLineage reads a shard's lineage.json; a shard without one gives nil
// and no error (shards made before lineage existed, or by hand). A file
// that cannot be read or decoded is an error naming it.
func ReadLineage(dir string) (*Lineage, error) {
	path := filepath.Join(dir, LineageFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("shard lineage: %w", err)
	}
	var l *Lineage
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("shard lineage %s: %w", path, err)
	}
	return l, nil
}

// Diff names the top-level keys on which two lineages differ, "(presence)"
// when one is nil and the other not; none when they agree.
func (l *Lineage) Diff(o *Lineage) []string {
	if (l == nil) != (o == nil) {
		return []string{"(presence)"}
	}
	if l == nil {
		return nil
	}
	a, b := l.fields(), o.fields()
	var diff []string
	for _, k := range lineageKeys {
		if !bytes.Equal(a[k], b[k]) {
			diff = append(diff, k)
		}
	}
	return diff
}

// lineageKeys are Lineage's JSON keys, sorted.
var lineageKeys = []string{"build", "dataset", "kforge", "model", "prompts", "recipe", "sampling", "serve", "skipped", "sources", "verify"}

// fields is the lineage's JSON by top-level key (encoding/json sorts map
// keys, so equal values encode equally).
func (l *Lineage) fields() map[string]json.RawMessage {
	raw, _ := json.Marshal(l)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	for k, v := range m {
		var x any
		_ = json.Unmarshal(v, &x)
		m[k], _ = json.Marshal(x)
	}
	return m
}

// Agree reads the lineage of every shard and checks that they agree: shards
// built from different commits, models or settings do not make one release.
// Shards without lineage files give nil.
func Agree(dirs []string) (*Lineage, error) {
	var first *Lineage
	for i, d := range dirs {
		l, err := ReadLineage(d)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			first = l
			continue
		}
		if diff := first.Diff(l); len(diff) > 0 {
			return nil, fmt.Errorf("shards %s and %s were built from different inputs (lineage differs in %s): rebuild them from the same recipe and sources",
				dirs[0], d, strings.Join(diff, ", "))
		}
	}
	return first, nil
}
