package assemble

import (
	"cmp"
	"maps"
	"slices"

	"kforge/datasets"
)

// Inputs count what the release was made from, for the card and manifest.
type Inputs struct {
	sources map[SourceRef]int // tasks per repo/commit/license
	models  map[ModelRef]int  // variants per model/digest/provider
	prompts map[string]int    // variants per prompt version
	devices map[DeviceRef]int // verdicts per device
	// Tasks, Variants and Verdicts count what the shards hold; KindTasks
	// the tasks by kind.
	Tasks     int
	Variants  int
	Verdicts  int
	KindTasks map[string]int
}

// SourceRef is one mined repository at one commit.
type SourceRef struct {
	Repo    string `json:"repo"`
	Commit  string `json:"commit"`
	License string `json:"license"`
}

// ModelRef is one generating model.
type ModelRef struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	Digest   string `json:"digest,omitempty"`
}

// DeviceRef is one judging device and toolchain.
type DeviceRef struct {
	Backend   string `json:"backend"`
	Name      string `json:"name"`
	Arch      string `json:"arch"`
	Toolchain string `json:"toolchain"`
	Driver    string `json:"driver,omitempty"`
}

func newInputs() *Inputs {
	return &Inputs{sources: map[SourceRef]int{}, models: map[ModelRef]int{}, prompts: map[string]int{},
		devices: map[DeviceRef]int{}, KindTasks: map[string]int{}}
}

func (l *Inputs) addTask(t *datasets.Task) {
	l.Tasks++
	l.KindTasks[t.Kind]++
	l.sources[SourceRef{t.Source.Repo, t.Source.Commit, t.Source.License}]++
}

func (l *Inputs) addVariant(v *datasets.Variant) {
	l.Variants++
	l.models[ModelRef{v.Provider, v.Model, v.ModelDigest}]++
	l.prompts[v.PromptVersion]++
}

func (l *Inputs) addVerdict(vd *datasets.Verdict) {
	l.Verdicts++
	l.devices[DeviceRef{vd.Backend, vd.Device.Name, vd.Device.Arch, vd.Device.Toolchain, vd.Device.Driver}]++
}

// Counted is a value with how often it occurs.
type Counted[T any] struct {
	Value T   `json:"value"`
	Count int `json:"count"`
}

func sortedCounts[T comparable](m map[T]int, less func(a, b T) int) []Counted[T] {
	out := make([]Counted[T], 0, len(m))
	for k, n := range m {
		out = append(out, Counted[T]{k, n})
	}
	slices.SortFunc(out, func(a, b Counted[T]) int { return less(a.Value, b.Value) })
	return out
}

// Sources are the mined repositories at their commits, with their task counts, sorted.
func (l *Inputs) Sources() []Counted[SourceRef] {
	return sortedCounts(l.sources, func(a, b SourceRef) int {
		return cmp.Or(cmp.Compare(a.Repo, b.Repo), cmp.Compare(a.Commit, b.Commit), cmp.Compare(a.License, b.License))
	})
}

// Models are the generating models with their variant counts, sorted.
func (l *Inputs) Models() []Counted[ModelRef] {
	return sortedCounts(l.models, func(a, b ModelRef) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Model, b.Model), cmp.Compare(a.Digest, b.Digest))
	})
}

// Devices are the judging devices with their verdict counts, sorted.
func (l *Inputs) Devices() []Counted[DeviceRef] {
	return sortedCounts(l.devices, func(a, b DeviceRef) int {
		return cmp.Or(cmp.Compare(a.Backend, b.Backend), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Arch, b.Arch),
			cmp.Compare(a.Toolchain, b.Toolchain), cmp.Compare(a.Driver, b.Driver))
	})
}

// Prompts are the prompt versions with their variant counts, sorted.
func (l *Inputs) Prompts() []Counted[string] { return sortedCounts(l.prompts, cmp.Compare[string]) }

// tables accumulate per-op and per-arch figures of the selected rows.
type tables struct {
	byOp, byArch map[string]*group
}

type group struct {
	tasks    map[string]bool
	rows     int
	train    int
	speedups []float64
}

// GroupRow is one line of a per-op or per-arch table.
type GroupRow struct {
	Key           string  `json:"key"`
	Tasks         int     `json:"tasks"`
	Rows          int     `json:"rows"`
	TrainRows     int     `json:"train_rows"`
	MedianSpeedup float64 `json:"median_speedup"`
	MaxSpeedup    float64 `json:"max_speedup"`
}

func newTables() *tables { return &tables{byOp: map[string]*group{}, byArch: map[string]*group{}} }

func (t *tables) add(task *datasets.Task, vd *datasets.Verdict, split string) {
	for _, kv := range []struct {
		m   map[string]*group
		key string
	}{{t.byOp, task.Op}, {t.byArch, vd.Device.Arch}} {
		g := kv.m[kv.key]
		if g == nil {
			g = &group{tasks: map[string]bool{}}
			kv.m[kv.key] = g
		}
		g.tasks[task.ID] = true
		g.rows++
		if split == datasets.SplitTrain {
			g.train++
		}
		g.speedups = append(g.speedups, vd.Speedup)
	}
}

func rows(m map[string]*group) []GroupRow {
	var out []GroupRow
	for _, k := range slices.Sorted(maps.Keys(m)) {
		g := m[k]
		s := slices.Clone(g.speedups)
		slices.Sort(s)
		r := GroupRow{Key: k, Tasks: len(g.tasks), Rows: g.rows, TrainRows: g.train, MedianSpeedup: median(s)}
		if len(s) > 0 {
			r.MaxSpeedup = s[len(s)-1]
		}
		out = append(out, r)
	}
	return out
}
