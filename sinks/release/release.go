// Package release turns shard outputs (tasks, variants, verdicts) into a
// release: Parquet datasets, the dataset card, the manifest and plots.
//
// Build reads the shards twice, one at a time, so memory stays bounded by
// one shard plus about 200 bytes per kept variant: the first pass decides
// (decontamination, deduplication, splits, replay sample), the second writes.
package release

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"kforge/datasets"
	"kforge/datasets/tokenizer"
	"kforge/filters/decontam"
	"kforge/filters/dedup"
	"kforge/pipeline"
	pq "kforge/sinks/parquet"
	"kforge/sources/replay"

	"github.com/apache/arrow-go/v18/arrow"
)

// Options say what to build a release from and where.
type Options struct {
	Shards  []string // shard directories, each with tasks.jsonl, variants.jsonl, verdicts.jsonl, stats.json, DONE
	Out     string   // release directory (README.md, manifest.json, data/…)
	Dataset datasets.Config
	// Lineage is written into manifest.json as is (sources, model, config, …).
	Lineage map[string]any
	Cache   pipeline.Cache // for replay downloads
	Stats   *pipeline.Stats
	Log     *slog.Logger

	// Hub downloads Hub replay sources; nil means only local sources work.
	Hub replay.HubFetcher
	// ReplayCacheDir is where Hub replay downloads go (default: the Cache's
	// directory when it is a DirCache, else <Out>/.cache/replay).
	ReplayCacheDir string
	// RowGroupBytes bounds Parquet row groups, uncompressed (default 8 MB:
	// up to eight writers are open at once, each holding a row group being
	// built and one being encoded).
	RowGroupBytes int64
	// MaxShardBytes, when > 0, overrides Dataset.MaxShardMB (tests, small shards).
	MaxShardBytes int64
	// Repo is the Hub dataset id (ORG/NAME) the release will be published
	// to, for the card's code; empty writes a placeholder users must set.
	Repo string
}

// Summary is what a release holds.
type Summary struct {
	Files []string         `json:"files"`
	Rows  map[string]int64 `json:"rows"` // by config/split
	// Replay is the replay mix realised in sft/train.
	Replay ReplayReport `json:"replay"`
	// Filtered counts rows removed by each filter.
	Filtered Filtered `json:"filtered"`
}

// ReplayReport is the replay mix of a release.
type ReplayReport struct {
	Target   float64  `json:"target_fraction"`
	Mode     string   `json:"mode"`
	Realised float64  `json:"realised_fraction"`
	Task     int64    `json:"task_amount"`   // task tokens (or rows) in sft/train
	Replay   int64    `json:"replay_amount"` // replay tokens (or rows) in sft/train
	Rows     int64    `json:"replay_rows"`
	Sources  []string `json:"sources,omitempty"`
	Skipped  int64    `json:"skipped_rows,omitempty"` // source rows with no conversation shape
}

// Filtered counts what the filters removed.
type Filtered struct {
	Verdicts           map[string]int64 `json:"verdicts"`            // verdicts by status
	Contaminated       int64            `json:"contaminated"`        // kept variants leaking evaluation code
	ContaminatedRL     int64            `json:"contaminated_rl"`     // rl tasks whose reference leaks
	ContaminatedRej    int64            `json:"contaminated_rej"`    // pairs dropped for a leaking rejected side
	ContaminatedReplay int64            `json:"contaminated_replay"` // replay source rows leaking evaluation code, never sampled
	ExactDuplicates    int64            `json:"exact_duplicates"`
	NearDuplicates     int64            `json:"near_duplicates"`
	NoConversation     int64            `json:"no_conversation"` // kept variants without a usable conversation
	Orphans            int64            `json:"orphans"`         // verdicts without their task or variant
	Selected           int64            `json:"selected"`        // kept variants that reached the datasets
}

// cand is what pass 1 remembers of one kept variant, in pass order.
// Kept small (12 bytes): a release may hold millions.
type cand struct {
	task     int32 // index into builder.taskIDs
	tokens   int32
	dedupIdx int32 // -1 when contaminated or unusable
}

// taskInfo is what pass 1 remembers of one task.
type taskInfo struct {
	index  int32
	op     string
	family string // datasets.Task.Family: splits keep a family together
}

// Build writes the release from the shards. Same inputs and config give
// byte-identical files.
//
// The release is written into a temporary directory beside Out and renamed
// into place when it is whole, so a reader, or a run killed at any point,
// sees either the old release or the new one, never a mix. What killed runs
// left behind (temporary directories, hidden temporary files) is removed
// first. A canceled ctx gives an error matching ErrCanceled and leaves the
// old release as it was.
func Build(ctx context.Context, opt Options) (*Summary, error) {
	if opt.Out == "" {
		return nil, errors.New("release: no output directory")
	}
	if len(opt.Shards) == 0 {
		return nil, errors.New("release: no shards to build from")
	}
	final := filepath.Clean(opt.Out)
	if err := RemoveLeftovers(final); err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	if opt.ReplayCacheDir == "" {
		if _, ok := opt.Cache.(*pipeline.DirCache); !ok {
			opt.ReplayCacheDir = replayCacheDir(final)
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), tempPrefix(final))
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	opt.Out = tmp
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	sum, err := build(ctx, opt)
	if err == nil {
		if hook := testHookBeforeSwap; hook != nil {
			hook(tmp)
		}
		err = ctx.Err()
	}
	if err == nil {
		err = swapIn(tmp, final)
	}
	if err != nil {
		os.RemoveAll(tmp)
		if ctx.Err() != nil {
			return nil, canceled{ctx.Err()}
		}
		return nil, err
	}
	opt.Log.Info("release written", "out", final, "files", len(sum.Files), "rows", sumRows(sum.Rows),
		"replay_fraction", sum.Replay.Realised)
	return sum, nil
}

func build(ctx context.Context, opt Options) (*Summary, error) {
	if len(opt.Shards) == 0 {
		return nil, errors.New("release: no shards to build from")
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	ds := opt.Dataset
	if ds.Replay.Mode == "" {
		ds.Replay.Mode = datasets.ReplayTokens
	}
	formats := ds.Formats
	if len(formats) == 0 {
		formats = datasets.Configs
	}
	for _, f := range formats {
		if datasets.Schema(f) == nil {
			return nil, fmt.Errorf("release: unknown dataset config %q", f)
		}
	}
	shards := slices.Clone(opt.Shards)
	slices.Sort(shards)
	shards = slices.Compact(shards)

	b := &builder{opt: opt, ds: ds, formats: formats, shards: shards, tasks: map[string]*taskInfo{},
		lin: newLineage(), sum: &Summary{Rows: map[string]int64{}, Filtered: Filtered{Verdicts: map[string]int64{}}},
		tok: tokenizer.Estimate{}, tokens: map[string]*tokenCounts{}, rowLicenses: map[string]int{}}
	if ds.Tokenizer != "" {
		t, err := tokenizer.Load(ds.Tokenizer)
		if err != nil {
			return nil, fmt.Errorf("release: dataset.tokenizer: %w", err)
		}
		b.tok = t
	}
	var err error
	if b.contam, err = decontam.Load(ctx, ds.Decontaminate, ds.NGram); err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	if err := b.pass1(ctx); err != nil {
		return nil, err
	}
	if err := b.decide(ctx); err != nil {
		return nil, err
	}
	files, err := b.pass2(ctx)
	if err != nil {
		return nil, err
	}
	if err := b.finish(ctx, files); err != nil {
		return nil, err
	}
	return b.sum, nil
}

type builder struct {
	opt     Options
	ds      datasets.Config
	formats []string
	shards  []string
	contam  *decontam.Index

	tasks   map[string]*taskInfo
	taskIDs []string // by taskInfo.index
	cands   []cand
	dd      *dedup.Deduper
	keep    []bool // by cand index: reaches the datasets
	splits  map[string]string
	replay  []replayRow
	stats   *pipeline.Stats // merged stats.json of the shards
	// failures are the shards' failed items and unreadable sources.
	failures []datasets.Failure
	lin      *lineage
	speeds   []float64 // speedups of selected rows, for the plot
	sum      *Summary
	parquet  []pq.File
	// tok counts the tokens of the card's statistics; tokens holds them
	// per config, one entry per row.
	tok    tokenizer.Counter
	tokens map[string]*tokenCounts
	// rowLicenses counts the tasks with rows by their source's license.
	rowLicenses map[string]int
}

// schema is the schema a config is written with.
func (b *builder) schema(config string) *arrow.Schema {
	return datasets.SchemaWith(config, datasets.SchemaOptions{Verl: b.ds.Verl})
}

type replayRow struct {
	msgs   []datasets.ChatMessage
	source string
	amount int64
}

// eachTask calls fn with one task's data at a time (task, variants,
// verdicts), in task-id order over every shard: the order rows are written
// in then depends on the tasks alone, not on how a build was sharded.
func (b *builder) eachTask(ctx context.Context, fn func(d *datasets.ShardData) error) error {
	err := datasets.MergeShards(b.shards, func(d *datasets.ShardData) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(d)
	})
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}

// shardView indexes one task group's data by id.
type shardView struct {
	tasks    map[string]*datasets.Task
	variants map[string]*datasets.Variant
	verdicts map[string]*datasets.Verdict // by variant id
}

func view(d *datasets.ShardData) *shardView {
	v := &shardView{tasks: map[string]*datasets.Task{}, variants: map[string]*datasets.Variant{}, verdicts: map[string]*datasets.Verdict{}}
	for i := range d.Tasks {
		v.tasks[d.Tasks[i].ID] = &d.Tasks[i]
	}
	for i := range d.Variants {
		v.variants[d.Variants[i].ID] = &d.Variants[i]
	}
	for i := range d.Verdicts {
		v.verdicts[d.Verdicts[i].VariantID] = &d.Verdicts[i]
	}
	return v
}

// sftMessages is the conversation an sft row holds: the variant's
// conversation with the final answer replaced by the verified code, the
// model's thinking in its reasoning_content. ok is false when there is no
// user prompt to answer.
func sftMessages(v *datasets.Variant) ([]datasets.ChatMessage, bool) {
	ms := datasets.ChatMessages(v.Messages)
	if len(ms) > 0 && ms[len(ms)-1].Role == "assistant" {
		ms = ms[:len(ms)-1]
	}
	if len(ms) == 0 || ms[len(ms)-1].Role != "user" || strings.TrimSpace(v.Region) == "" {
		return nil, false
	}
	return append(ms, datasets.ChatMessage{Role: "assistant", Content: codeBlock(v.Region), ReasoningContent: v.Reasoning}), true
}

// promptCompletion splits a conversation before its last message when that
// is the assistant's: TRL's conversational prompt-completion form.
func promptCompletion(ms []datasets.ChatMessage) (prompt, completion []datasets.ChatMessage) {
	if n := len(ms); n > 0 && ms[n-1].Role == "assistant" {
		return ms[: n-1 : n-1], ms[n-1:]
	}
	return ms, nil
}

// firstPrompt is the conversation before the first answer: the task prompt.
func firstPrompt(v *datasets.Variant) []datasets.ChatMessage {
	ms := datasets.ChatMessages(v.Messages)
	for i, m := range ms {
		if m.Role == "assistant" {
			return ms[:i]
		}
	}
	return ms
}

func codeBlock(code string) string {
	return "```cpp\n" + strings.TrimRight(code, "\n") + "\n```"
}

// pass1 decides nothing yet: it gathers tasks, kept variants (with their
// decontamination verdict and dedup signature) and lineage.
func (b *builder) pass1(ctx context.Context) error {
	b.dd = dedup.New(b.ds.NearDupThreshold)
	b.stats = pipeline.NewStats()
	f := &b.sum.Filtered
	return b.eachTask(ctx, func(d *datasets.ShardData) error {
		sv := view(d)
		for i := range d.Tasks {
			t := &d.Tasks[i]
			if _, seen := b.tasks[t.ID]; !seen {
				b.tasks[t.ID] = &taskInfo{index: int32(len(b.taskIDs)), op: t.Op, family: t.Family}
				b.taskIDs = append(b.taskIDs, t.ID)
				b.lin.addTask(t)
			}
		}
		for i := range d.Variants {
			b.lin.addVariant(&d.Variants[i])
		}
		for i := range d.Verdicts {
			vd := &d.Verdicts[i]
			f.Verdicts[vd.Status]++
			b.lin.addVerdict(vd)
			if !vd.Kept() {
				continue
			}
			v, t := sv.variants[vd.VariantID], sv.tasks[vd.TaskID]
			if v == nil || t == nil {
				f.Orphans++
				continue
			}
			ti := b.tasks[t.ID]
			if ti == nil {
				f.Orphans++
				continue
			}
			c := cand{task: ti.index, dedupIdx: -1}
			ms, ok := sftMessages(v)
			switch {
			case !ok:
				f.NoConversation++
			case b.contam.Contaminated(v.Region):
				f.Contaminated++
			default:
				c.tokens = int32(min(datasets.Tokens(ms), 1<<31-1))
				c.dedupIdx = int32(b.dd.Add(v.ID, v.Region, vd.Speedup))
			}
			b.cands = append(b.cands, c)
		}
		return nil
	})
}

// readStats merges a shard's stats.json into the funnel; a missing or bad
// file only costs the funnel its counts.
func (b *builder) readStats(dir string) {
	raw, err := os.ReadFile(filepath.Join(dir, datasets.StatsFile))
	if err != nil {
		return
	}
	var snap pipeline.Snapshot
	if err := json.Unmarshal(raw, &snap); err != nil {
		b.opt.Log.Warn("release: unreadable shard stats", "shard", dir, "err", err)
		return
	}
	b.stats.Merge(snap)
}

// decide runs dedup, splits the tasks and samples replay.
func (b *builder) decide(ctx context.Context) error {
	for _, dir := range b.shards {
		b.readStats(dir)
		fs, err := datasets.ReadFailures(dir)
		if err != nil {
			return fmt.Errorf("release: %w", err)
		}
		b.failures = append(b.failures, fs...)
	}
	datasets.SortFailures(b.failures)
	// Every shard mines every source: a source unreadable in several shards
	// is one failure.
	b.failures = slices.CompactFunc(b.failures, func(x, y datasets.Failure) bool { return x == y })
	res := b.dd.Run()
	b.sum.Filtered.ExactDuplicates = int64(res.Exact)
	b.sum.Filtered.NearDuplicates = int64(res.Near)
	b.keep = make([]bool, len(b.cands))
	for i, c := range b.cands {
		if c.dedupIdx >= 0 && res.Keep[c.dedupIdx] {
			b.keep[i] = true
			b.sum.Filtered.Selected++
		}
	}
	b.dd = nil // free the signatures

	ids := slices.Sorted(maps.Keys(b.tasks))
	ops := make([]string, len(ids))
	fams := make([]string, len(ids))
	for i, id := range ids {
		ops[i], fams[i] = b.tasks[id].op, b.tasks[id].family
	}
	b.splits = datasets.SplitTaskFamilies(ids, ops, fams, b.ds.Seed, b.ds.HeldOutFraction, b.ds.HeldOutOps)

	if !slices.Contains(b.formats, datasets.ConfigSFT) || b.ds.Replay.Fraction <= 0 || len(b.ds.Replay.Sources) == 0 {
		return nil
	}
	var task int64
	for i, c := range b.cands {
		if b.keep[i] && b.splits[b.taskIDs[c.task]] == datasets.SplitTrain {
			if b.ds.Replay.Mode == datasets.ReplayRows {
				task++
			} else {
				task += max(1, int64(c.tokens))
			}
		}
	}
	return b.sampleReplay(ctx, datasets.ReplayQuota(task, b.ds.Replay.Fraction))
}

// leaks reports whether a conversation shares an n-gram with the
// evaluation sets: general data can quote benchmark code as well as kernels.
func (b *builder) leaks(ms []datasets.ChatMessage) bool {
	for _, m := range ms {
		if b.contam.Contaminated(m.Content) {
			return true
		}
	}
	return false
}

func (b *builder) sampleReplay(ctx context.Context, quota int64) error {
	var wsum float64
	for _, s := range b.ds.Replay.Sources {
		wsum += max(0, s.Weight)
	}
	if wsum == 0 || quota == 0 {
		return nil
	}
	cacheDir := b.opt.ReplayCacheDir
	if cacheDir == "" {
		if dc, ok := b.opt.Cache.(*pipeline.DirCache); ok {
			cacheDir = filepath.Join(dc.Dir(), "replay")
		} else {
			cacheDir = filepath.Join(b.opt.Out, ".cache", "replay")
		}
	}
	ropt := replay.Options{Hub: b.opt.Hub, CacheDir: cacheDir}
	type keyed struct {
		key uint64
		row replayRow
	}
	var all []keyed
	for si, src := range b.ds.Replay.Sources {
		label := replay.Label(src)
		q := int64(math.Ceil(float64(quota) * max(0, src.Weight) / wsum))
		sample := datasets.NewSample[replayRow](q)
		skipped, err := replay.Each(ctx, src, ropt, func(r replay.Row) error {
			if b.leaks(r.Messages) {
				// Checked before sampling, so the sample keeps its size;
				// the other rows keep their keys.
				b.sum.Filtered.ContaminatedReplay++
				return nil
			}
			amt := datasets.Amount(b.ds.Replay.Mode, r.Messages)
			sample.Offer(datasets.SampleKey(b.ds.Seed, si, label, r.Index), amt, replayRow{r.Messages, label, amt})
			return nil
		})
		if err != nil {
			return fmt.Errorf("release: %w", err)
		}
		b.sum.Replay.Skipped += skipped
		b.sum.Replay.Sources = append(b.sum.Replay.Sources, label)
		keys := sample.Keys()
		for i, r := range sample.Items() {
			all = append(all, keyed{keys[i], r})
		}
	}
	// Sources interleave by their random keys.
	slices.SortStableFunc(all, func(a, c keyed) int { return cmp.Compare(a.key, c.key) })
	for _, k := range all {
		b.replay = append(b.replay, k.row)
	}
	return nil
}
