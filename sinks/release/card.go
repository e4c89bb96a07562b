package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"kforge/assemble"
	"kforge/datasets"
	"kforge/pipeline"
	pq "kforge/sinks/parquet"
)

// Release file names besides the data.
const (
	CardFile     = "README.md"
	ManifestFile = "manifest.json"
	PlotFile     = "speedup.png"
)

// finish removes stale data files, then writes the plot, the card and the
// manifest, each atomically.
func (b *builder) finish(ctx context.Context, files []pq.File) error {
	keep := map[string]bool{}
	for i := range files {
		keep[files[i].Path] = true
		sum, err := fileSHA(filepath.Join(b.opt.Out, filepath.FromSlash(files[i].Path)))
		if err != nil {
			return fmt.Errorf("release: %w", err)
		}
		files[i].SHA = sum
	}
	// Data files of an earlier export that this one did not write would be
	// picked up by the card's globs and by readers; remove them.
	dataDir := filepath.Join(b.opt.Out, "data")
	_ = filepath.WalkDir(dataDir, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return nil
		}
		rel, rerr := filepath.Rel(b.opt.Out, p)
		if rerr == nil && !keep[filepath.ToSlash(rel)] {
			os.Remove(p)
		}
		return nil
	})
	b.parquet = files

	png, err := histogramPNG(b.rep.Speedups)
	if err != nil {
		return fmt.Errorf("release: plot: %w", err)
	}
	if err := pipeline.WriteFileAtomic(filepath.Join(b.opt.Out, PlotFile), png, 0o644); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	card, err := b.card()
	if err != nil {
		return fmt.Errorf("release: card: %w", err)
	}
	if err := pipeline.WriteFileAtomic(filepath.Join(b.opt.Out, CardFile), card, 0o644); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	man, err := b.manifest(card, png)
	if err != nil {
		return fmt.Errorf("release: manifest: %w", err)
	}
	if err := pipeline.WriteFileAtomic(filepath.Join(b.opt.Out, ManifestFile), man, 0o644); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	for _, f := range files {
		b.sum.Files = append(b.sum.Files, f.Path)
	}
	b.sum.Files = append(b.sum.Files, CardFile, ManifestFile, PlotFile)
	slices.Sort(b.sum.Files)
	if st := b.opt.Stats; st != nil {
		st.Add("release.rows", int64(sumRows(b.sum.Rows)))
		st.Add("release.files", int64(len(b.sum.Files)))
		st.Add("release.contaminated", b.sum.Filtered.Contaminated)
		st.Add("release.duplicates", b.sum.Filtered.ExactDuplicates+b.sum.Filtered.NearDuplicates)
	}
	return nil
}

func sumRows(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func fileSHA(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ---- card ----

type cardMeta struct {
	PrettyName     string       `yaml:"pretty_name"`
	License        string       `yaml:"license"`
	LicenseName    string       `yaml:"license_name,omitempty"`
	LicenseLink    string       `yaml:"license_link,omitempty"`
	Language       []string     `yaml:"language"`
	TaskCategories []string     `yaml:"task_categories"`
	Tags           []string     `yaml:"tags"`
	SizeCategories []string     `yaml:"size_categories"`
	Configs        []cardConfig `yaml:"configs"`
	DatasetInfo    []cardInfo   `yaml:"dataset_info"`
}

type cardConfig struct {
	ConfigName string          `yaml:"config_name"`
	Default    bool            `yaml:"default,omitempty"`
	DataFiles  []cardDataFiles `yaml:"data_files"`
}

type cardDataFiles struct {
	Split string   `yaml:"split"`
	Path  []string `yaml:"path"`
}

type cardInfo struct {
	ConfigName   string           `yaml:"config_name"`
	Features     []pq.YAMLFeature `yaml:"features"`
	Splits       []cardSplit      `yaml:"splits"`
	DownloadSize int64            `yaml:"download_size"`
	DatasetSize  int64            `yaml:"dataset_size"`
}

type cardSplit struct {
	Name        string `yaml:"name"`
	NumBytes    int64  `yaml:"num_bytes"`
	NumExamples int64  `yaml:"num_examples"`
}

// sizeCategories are the Hub size buckets of the configs, each config
// counted alone (a user loads one config at a time), smallest first.
func sizeCategories(rows map[string]int64) []string {
	perConfig := map[string]int64{}
	for k, n := range rows {
		cfg, _, _ := strings.Cut(k, "/")
		perConfig[cfg] += n
	}
	var ns []int64
	for _, n := range perConfig {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	var out []string
	for _, n := range ns {
		if c := sizeCategory(n); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// configRows is the rows of one config over its splits.
func (b *builder) configRows(config string) int64 {
	var n int64
	for k, v := range b.sum.Rows {
		if strings.HasPrefix(k, config+"/") {
			n += v
		}
	}
	return n
}

// hubLicenses are the Hub license ids that sources' SPDX ids map to by
// lowercasing.
var hubLicenses = map[string]bool{
	"apache-2.0": true, "mit": true, "bsd-2-clause": true, "bsd-3-clause": true, "bsd-3-clause-clear": true,
	"bsl-1.0": true, "isc": true, "zlib": true, "unlicense": true, "cc0-1.0": true, "mpl-2.0": true,
	"gpl-2.0": true, "gpl-3.0": true, "lgpl-2.1": true, "lgpl-3.0": true, "agpl-3.0": true, "epl-2.0": true,
	"ecl-2.0": true, "afl-3.0": true, "artistic-2.0": true, "ncsa": true, "cc-by-4.0": true, "cc-by-sa-4.0": true,
	"wtfpl": true, "postgresql": true, "ofl-1.1": true, "openssl": true, "osl-3.0": true, "lppl-1.3c": true,
}

// LicenseLinkAnchor is where license_link points when the sources' licenses
// differ: the card's table of sources with their licenses.
const LicenseLinkAnchor = "#sources"

// releaseLicense is the card's license: the recipe's, or the one Hub id all
// the sources with rows agree on, or other with a name and a link to the
// sources table.
func releaseLicense(override string, sources map[string]int) (id, name, link string) {
	if override != "" {
		return override, "", ""
	}
	ids := map[string]bool{}
	for l := range sources {
		ids[strings.ToLower(strings.TrimSpace(l))] = true
	}
	if len(ids) == 1 {
		for l := range ids {
			if hubLicenses[l] {
				return l, "", ""
			}
		}
	}
	names := slices.Sorted(maps.Keys(ids))
	name = "mixed-source-licenses"
	if len(names) == 1 && names[0] != "" {
		name = strings.Trim(strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' {
				return r
			}
			return '-'
		}, names[0]), "-")
	}
	if len(names) == 0 || name == "" {
		name = "unknown"
	}
	return "other", name, "README.md" + LicenseLinkAnchor
}

// sizeCategory is the Hub's size bucket for n rows.
func sizeCategory(n int64) string {
	switch {
	case n < 1_000:
		return "n<1K"
	case n < 10_000:
		return "1K<n<10K"
	case n < 100_000:
		return "10K<n<100K"
	case n < 1_000_000:
		return "100K<n<1M"
	case n < 10_000_000:
		return "1M<n<10M"
	case n < 100_000_000:
		return "10M<n<100M"
	}
	return "100M<n<1B"
}

// configSplits groups the written files by config and split, in order.
func (b *builder) configSplits() (configs []string, splits map[string][]string, files map[string][]pq.File) {
	splits, files = map[string][]string{}, map[string][]pq.File{}
	for _, f := range b.parquet {
		parts := strings.Split(f.Path, "/") // data/<config>/<split>-NNNNN-of-NNNNN.parquet
		cfg := parts[1]
		split := parts[2][:strings.LastIndex(parts[2][:strings.LastIndex(parts[2], "-of-")], "-")]
		key := cfg + "/" + split
		if _, ok := files[key]; !ok {
			splits[cfg] = append(splits[cfg], split)
		}
		files[key] = append(files[key], f)
	}
	for _, c := range b.formats {
		if len(splits[c]) > 0 {
			configs = append(configs, c)
		}
	}
	for _, c := range configs {
		slices.SortFunc(splits[c], func(a, b string) int { return splitRank(a) - splitRank(b) })
	}
	return configs, splits, files
}

func splitRank(s string) int {
	if s == datasets.SplitTrain {
		return 0
	}
	return 1
}

func (b *builder) frontMatter() ([]byte, error) {
	configs, splits, files := b.configSplits()
	m := cardMeta{
		PrettyName: b.ds.PrettyName, Language: []string{"en"},
		TaskCategories: []string{"text-generation"},
		Tags:           []string{"code", "gpu-kernels", "hip", "rocm", "kernel-optimization", "sft", "reinforcement-learning", "synthetic"},
		SizeCategories: sizeCategories(b.sum.Rows),
	}
	m.License, m.LicenseName, m.LicenseLink = releaseLicense(b.ds.License, b.rep.RowLicenses)
	for i, c := range configs {
		cc := cardConfig{ConfigName: c, Default: i == 0}
		info := cardInfo{ConfigName: c, Features: pq.YAMLFeatures(b.schema(c))}
		for _, s := range splits[c] {
			df := cardDataFiles{Split: s}
			sp := cardSplit{Name: s}
			for _, f := range files[c+"/"+s] {
				df.Path = append(df.Path, f.Path)
				sp.NumBytes += f.Bytes
				sp.NumExamples += f.Rows
				info.DownloadSize += f.Size
			}
			info.DatasetSize += sp.NumBytes
			cc.DataFiles = append(cc.DataFiles, df)
			info.Splits = append(info.Splits, sp)
		}
		m.Configs = append(m.Configs, cc)
		m.DatasetInfo = append(m.DatasetInfo, info)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&m); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// md escapes a value for a Markdown table cell.
func md(s string) string {
	if s == "" {
		return "—"
	}
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func (b *builder) card() ([]byte, error) {
	fm, err := b.frontMatter()
	if err != nil {
		return nil, err
	}
	var w bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	p("---\n%s---\n\n# %s\n\n", fm, b.ds.PrettyName)
	p("Synthetic training data for kernel-writing models, made by kforge: GPU kernel tasks mined from source repositories, " +
		"candidate rewrites written by a model, and only the candidates a verifier found correct **and faster on a GPU**.\n\n")
	b.introSection(p)
	b.failuresSection(p)
	p("## Funnel\n\n| step | count |\n|---|---:|\n")
	snap := b.stats.Snapshot()
	for _, st := range snap.Funnel {
		if st.Count > 0 {
			p("| %s | %d |\n", st.Step, st.Count)
		}
	}
	f := b.sum.Filtered
	p("| verdicts kept | %d |\n| after decontamination | %d |\n| after deduplication (selected) | %d |\n\n",
		f.Verdicts[datasets.StatusKept], f.Verdicts[datasets.StatusKept]-f.Orphans-f.NoConversation-f.Contaminated, f.Selected)
	p("Verdicts by status:")
	for _, s := range []string{datasets.StatusKept, datasets.StatusRejected, datasets.StatusUnverified, datasets.StatusQuarantined} {
		p(" %s %d;", s, f.Verdicts[s])
	}
	p(" only `kept` verdicts (correct and measured faster on a GPU) make sft and rl rows.\n\n")
	p("Removed: %d contaminated (token %d-gram overlap with the evaluation sets), %d exact and %d near duplicates "+
		"(MinHash/LSH, threshold %.2f; the fastest of a cluster stays), %d rl tasks with a leaking reference, %d pairs with a leaking rejected side, "+
		"%d replay rows leaking evaluation code.\n\n",
		f.Contaminated, max(b.ds.NGram, 1), f.ExactDuplicates, f.NearDuplicates, b.ds.NearDupThreshold, f.ContaminatedRL, f.ContaminatedRej,
		f.ContaminatedReplay)

	p("## Rows\n\n| config | split | rows | files | size category (config) |\n|---|---|---:|---:|---|\n")
	configs, splits, files := b.configSplits()
	for _, c := range configs {
		for _, s := range splits[c] {
			p("| %s | %s | %d | %d | %s |\n", c, s, b.sum.Rows[c+"/"+s], len(files[c+"/"+s]), sizeCategory(b.configRows(c)))
		}
	}
	p("\n")
	b.columnsSection(p, configs)
	b.tokensSection(p, configs)
	b.usageSection(p, configs)
	p("## Speedup distribution\n\n![speedup histogram](%s)\n\nSpeedup of the selected candidates over the reference program "+
		"(x axis, log2 bins from 1x, four per doubling) against the number of candidates per bin (y axis); %d candidates.\n\n", PlotFile, len(b.rep.Speedups))
	for _, t := range []struct {
		title string
		rows  []assemble.GroupRow
	}{{"Per op", b.rep.ByOp}, {"Per architecture", b.rep.ByArch}} {
		p("## %s\n\n| key | tasks | rows | train rows | median speedup | max speedup |\n|---|---:|---:|---:|---:|---:|\n", t.title)
		for _, r := range t.rows {
			p("| %s | %d | %d | %d | %.3f | %.3f |\n", md(r.Key), r.Tasks, r.Rows, r.TrainRows, r.MedianSpeedup, r.MaxSpeedup)
		}
		p("\n")
	}
	rp := b.sum.Replay
	p("## Replay\n\n")
	if rp.Rows == 0 {
		p("No general (replay) data is mixed in.\n\n")
	} else {
		p("General instruction data is mixed into `sft` train against catastrophic forgetting, in every shard, marked `is_replay`. "+
			"Target %.4f of %s, realised **%.4f** (%d replay %s of %d); %d replay rows, sampled without replacement with seed %d. "+
			"The fraction counts tokens as UTF-8 bytes / 4, whatever the tokenizer. Never mixed into the other configs.\n\nSources:\n\n",
			rp.Target, rp.Mode, rp.Realised, rp.Replay, rp.Mode, rp.Replay+rp.Task, rp.Rows, b.ds.Seed)
		for _, s := range rp.Sources {
			p("- `%s`\n", s)
		}
		p("\n")
	}
	p("## Sources\n\n| repository | commit | license | tasks |\n|---|---|---|---:|\n")
	for _, s := range b.plan.Inputs.Sources() {
		p("| %s | %s | %s | %d |\n", md(s.Value.Repo), md(s.Value.Commit), md(s.Value.License), s.Count)
	}
	p("\n## Models\n\n| provider | model | digest | variants |\n|---|---|---|---:|\n")
	for _, m := range b.plan.Inputs.Models() {
		p("| %s | %s | %s | %d |\n", md(m.Value.Provider), md(m.Value.Model), md(m.Value.Digest), m.Count)
	}
	p("\n## Devices\n\n| backend | device | arch | toolchain | verdicts |\n|---|---|---|---|---:|\n")
	for _, d := range b.plan.Inputs.Devices() {
		p("| %s | %s | %s | %s | %d |\n", md(d.Value.Backend), md(d.Value.Name), md(d.Value.Arch), md(d.Value.Toolchain), d.Count)
	}
	p("\nFull lineage (sources and commits, model digests, prompt versions, toolchains, devices, config) is in `%s`.\n", ManifestFile)
	return w.Bytes(), nil
}

// maxCardFailures bounds the failed items the card lists; the manifest has
// them all.
const maxCardFailures = 50

// failuresSection says, before anything else, what this release lacks: the
// sources that could not be read and the items that failed. A release built
// with failures is incomplete; a rebuild retries them.
func (b *builder) failuresSection(p func(string, ...any)) {
	if len(b.failures) == 0 {
		return
	}
	var sources, items []datasets.Failure
	for _, f := range b.failures {
		if f.Source != "" {
			sources = append(sources, f)
		} else {
			items = append(items, f)
		}
	}
	p("## Incomplete build\n\n")
	if len(sources) > 0 {
		p("These sources could not be read; their tasks are **not** in this release:\n\n| source | allowed | error |\n|---|---|---|\n")
		for _, f := range sources {
			allowed := "no"
			if f.Allowed {
				allowed = "yes (`sources.allow_partial`)"
			}
			p("| %s | %s | %s |\n", md(f.Source), allowed, md(f.Error))
		}
		p("\n")
	}
	if len(items) > 0 {
		p("%d items failed (the run could not judge them; they are not rejections) and are missing from this release; "+
			"rerunning the build retries exactly these:\n\n| stage | task | round | sample | error |\n|---|---|---:|---:|---|\n", len(items))
		for i, f := range items {
			if i == maxCardFailures {
				p("| … | %d more in `%s` | | | |\n", len(items)-i, ManifestFile)
				break
			}
			p("| %s | %s | %d | %d | %s |\n", md(f.Stage), md(f.TaskID), f.Round, f.Sample, md(f.Error))
		}
		p("\n")
	}
}

// ---- manifest ----

type fileRef struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

type manifestRelease struct {
	Data           []pq.File                              `json:"data"`
	Files          []fileRef                              `json:"files"`
	Rows           map[string]int64                       `json:"rows"`
	Splits         map[string]int                         `json:"tasks_per_split"`
	Filtered       assemble.Filtered                      `json:"filtered"`
	Replay         assemble.ReplayReport                  `json:"replay"`
	Funnel         []pipeline.FunnelStep                  `json:"funnel"`
	Rejections     map[string]map[string]int64            `json:"rejections,omitempty"`
	Tasks          int                                    `json:"tasks"`
	Variants       int                                    `json:"variants"`
	Verdicts       int                                    `json:"verdicts"`
	Kinds          map[string]int                         `json:"task_kinds"`
	Sources        []assemble.Counted[assemble.SourceRef] `json:"sources"`
	Models         []assemble.Counted[assemble.ModelRef]  `json:"models"`
	PromptVersions []assemble.Counted[string]             `json:"prompt_versions"`
	Devices        []assemble.Counted[assemble.DeviceRef] `json:"devices"`
	ByOp           []assemble.GroupRow                    `json:"by_op"`
	ByArch         []assemble.GroupRow                    `json:"by_arch"`
	Dataset        datasets.Config                        `json:"dataset_config"`
	Features       map[string]json.RawMessage             `json:"features"`
	// Failures are the failed items and unreadable sources of the build
	// (absent when there were none): the release lacks them.
	Failures []datasets.Failure `json:"failures,omitempty"`
}

func (b *builder) manifest(card, png []byte) ([]byte, error) {
	snap := b.stats.Snapshot()
	splitTasks := b.plan.SplitTasks()
	r := manifestRelease{
		Data: b.parquet, Rows: b.sum.Rows, Splits: splitTasks, Filtered: b.sum.Filtered, Replay: b.sum.Replay,
		Funnel: snap.Funnel, Rejections: snap.Rejections, Tasks: b.plan.Inputs.Tasks, Variants: b.plan.Inputs.Variants, Verdicts: b.plan.Inputs.Verdicts,
		Kinds: b.plan.Inputs.KindTasks, Sources: b.plan.Inputs.Sources(), Models: b.plan.Inputs.Models(), PromptVersions: b.plan.Inputs.Prompts(),
		Devices: b.plan.Inputs.Devices(), ByOp: b.rep.ByOp, ByArch: b.rep.ByArch, Dataset: b.ds,
		Features: map[string]json.RawMessage{}, Failures: b.failures,
	}
	for _, c := range b.formats {
		r.Features[c] = json.RawMessage(pq.HFFeaturesJSON(b.schema(c)))
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{CardFile, card}, {PlotFile, png}} {
		sum := sha256.Sum256(f.data)
		r.Files = append(r.Files, fileRef{f.name, int64(len(f.data)), hex.EncodeToString(sum[:])})
	}
	m := map[string]any{"lineage": b.opt.Lineage, "release": r}
	if b.opt.Lineage == nil {
		m["lineage"] = struct{}{}
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
