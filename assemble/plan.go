// Package assemble decides what a release holds and makes its rows: the
// release assembly between the filters and the sinks.
//
// NewPlan reads the shards once (merged by task id, shards.Merge) and
// decides: kept verdicts, decontamination, corpus-wide deduplication,
// splits by task, the replay sample. Plan.Rows reads them a second time and
// hands out every row, task by task, into sft, rl, pairs and multiturn.
// The second pass must walk the kept verdicts in the first pass's order (the
// decisions are indexed by it): Rows is the only way to it, may be called
// once, and checks that it met every decision. Memory stays bounded by a
// few tasks' data plus about 12 bytes per kept variant.
//
// Replay data comes in through the Replay interface, which the wiring
// (cmd/kforge) provides from sources/replay.
package assemble

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"

	"kforge/datasets"
	"kforge/filters/decontam"
	"kforge/filters/dedup"
	"kforge/shards"
)

// Replay reads general data for the replay mix; cmd/kforge provides it
// (sources/replay, with the Hub client and the cache).
type Replay interface {
	// Label names a source in the card, the manifest and replay rows.
	Label(src datasets.ReplaySource) string
	// Each calls fn with every conversation of src and its position in the
	// source; skipped counts rows with no conversation shape.
	Each(ctx context.Context, src datasets.ReplaySource, fn func(index int64, msgs []datasets.ChatMessage) error) (skipped int64, err error)
}

// Input is what a plan is made from.
type Input struct {
	Shards  []string // complete shard directories
	Dataset datasets.Config
	// Replay reads replay sources; nil fails a dataset section that has any.
	Replay Replay
	Log    *slog.Logger
	// Progress, when set, is told the tasks read so far: stage "reading
	// shards" (total 0, not known yet) while planning, then "writing rows"
	// (total: the tasks planned) while Rows runs.
	Progress func(stage string, done, total int64)
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
	dtypes []string
}

// Plan is what the first pass decided. Its exported fields describe the
// release for the card and manifest; Rows makes the rows.
type Plan struct {
	// Dataset is the dataset section the plan was made with (defaults of
	// the replay mode filled in); Formats the configs to write.
	Dataset datasets.Config
	Formats []string
	// Filtered counts what the filters removed (complete once Rows ran).
	Filtered Filtered
	// Inputs counts what the release was made from.
	Inputs *Inputs
	// Splits is the split of every task, by task id.
	Splits map[string]string

	in           Input
	shards       []string
	contam       *decontam.Index
	tasks        map[string]*taskInfo
	taskIDs      []string // by taskInfo.index
	cands        []cand
	dd           *dedup.Deduper
	keep         []bool // by cand index: reaches the datasets
	replay       []replayRow
	replayReport ReplayReport
	rowsDone     bool
	planned      bool  // pass 1 is over
	tasksRead    int64 // tasks read in the current pass
}

// NewPlan reads the shards once and decides what the release holds.
func NewPlan(ctx context.Context, in Input) (*Plan, error) {
	if len(in.Shards) == 0 {
		return nil, errors.New("release: no shards to build from")
	}
	if in.Log == nil {
		in.Log = slog.New(slog.DiscardHandler)
	}
	ds := in.Dataset
	if ds.Replay.Mode == "" {
		ds.Replay.Mode = ReplayTokens
	}
	formats := ds.Formats
	if len(formats) == 0 {
		formats = datasets.Configs
	}
	for _, f := range formats {
		if !slices.Contains(datasets.Configs, f) {
			return nil, fmt.Errorf("release: unknown dataset config %q", f)
		}
	}
	dirs := slices.Clone(in.Shards)
	slices.Sort(dirs)
	dirs = slices.Compact(dirs)
	p := &Plan{in: in, Dataset: ds, Formats: formats, shards: dirs, tasks: map[string]*taskInfo{}, Inputs: newInputs(),
		Filtered: Filtered{Verdicts: map[string]int64{}}}
	var err error
	if p.contam, err = decontam.Load(ctx, ds.Decontaminate, ds.NGram); err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	if err := p.pass1(ctx); err != nil {
		return nil, err
	}
	if err := p.decide(ctx); err != nil {
		return nil, err
	}
	p.planned, p.tasksRead = true, 0
	return p, nil
}

// SplitTasks counts the tasks of each split.
func (p *Plan) SplitTasks() map[string]int {
	n := map[string]int{}
	for _, s := range p.Splits {
		n[s]++
	}
	return n
}

type replayRow struct {
	msgs   []datasets.ChatMessage
	source string
	amount int64
}

// eachTask calls fn with one task's data at a time (task, variants,
// verdicts), in task-id order over every shard: the order rows are written
// in then depends on the tasks alone, not on how a build was sharded.
func (p *Plan) eachTask(ctx context.Context, fn func(d *datasets.ShardData) error) error {
	err := shards.Merge(p.shards, func(d *datasets.ShardData) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(d); err != nil {
			return err
		}
		if p.in.Progress != nil {
			p.tasksRead += int64(len(d.Tasks))
			if p.planned {
				p.in.Progress("writing rows", p.tasksRead, int64(len(p.tasks)))
			} else {
				p.in.Progress("reading shards", p.tasksRead, 0)
			}
		}
		return nil
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
	return append(ms, datasets.ChatMessage{Role: "assistant", Content: CodeBlock(v.Region), ReasoningContent: v.Reasoning}), true
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

// CodeBlock is code as a row's answer holds it: a cpp Markdown block.
func CodeBlock(code string) string {
	return "```cpp\n" + strings.TrimRight(code, "\n") + "\n```"
}

// pass1 decides nothing yet: it gathers tasks, kept variants (with their
// decontamination verdict and dedup signature) and lineage.
func (p *Plan) pass1(ctx context.Context) error {
	p.dd = dedup.New(p.Dataset.NearDupThreshold)
	f := &p.Filtered
	return p.eachTask(ctx, func(d *datasets.ShardData) error {
		sv := view(d)
		for i := range d.Tasks {
			t := &d.Tasks[i]
			if _, seen := p.tasks[t.ID]; !seen {
				p.tasks[t.ID] = &taskInfo{index: int32(len(p.taskIDs)), op: t.Op, family: t.Family, dtypes: t.Dtypes}
				p.taskIDs = append(p.taskIDs, t.ID)
				p.Inputs.addTask(t)
			}
		}
		for i := range d.Variants {
			p.Inputs.addVariant(&d.Variants[i])
		}
		for i := range d.Verdicts {
			vd := &d.Verdicts[i]
			f.Verdicts[vd.Status]++
			p.Inputs.addVerdict(vd)
			if !vd.Kept() {
				continue
			}
			v, t := sv.variants[vd.VariantID], sv.tasks[vd.TaskID]
			if v == nil || t == nil {
				f.Orphans++
				continue
			}
			ti := p.tasks[t.ID]
			if ti == nil {
				f.Orphans++
				continue
			}
			c := cand{task: ti.index, dedupIdx: -1}
			ms, ok := sftMessages(v)
			switch {
			case !ok:
				f.NoConversation++
			case p.contam.Contaminated(v.Region):
				f.Contaminated++
			default:
				c.tokens = int32(min(datasets.Tokens(ms), 1<<31-1))
				// Within a family (the same instance in several dtype
				// programs) the same rewrite in another dtype is the same
				// row: its code is compared without its task's own dtype
				// names, and only within the family.
				code := v.Region
				if ti.family != "" {
					code = "family " + ti.family + "\n" + datasets.WithoutDtypesOf(code, ti.dtypes)
				}
				c.dedupIdx = int32(p.dd.Add(v.ID, code, vd.Speedup))
			}
			p.cands = append(p.cands, c)
		}
		return nil
	})
}

// decide runs dedup, splits the tasks and samples replay.
func (p *Plan) decide(ctx context.Context) error {
	res := p.dd.Run()
	p.Filtered.ExactDuplicates = int64(res.Exact)
	p.Filtered.NearDuplicates = int64(res.Near)
	p.keep = make([]bool, len(p.cands))
	for i, c := range p.cands {
		if c.dedupIdx >= 0 && res.Keep[c.dedupIdx] {
			p.keep[i] = true
			p.Filtered.Selected++
		}
	}
	p.dd = nil // free the signatures

	ids := slices.Sorted(maps.Keys(p.tasks))
	ops, fams := make([]string, len(ids)), make([]string, len(ids))
	for i, id := range ids {
		ops[i], fams[i] = p.tasks[id].op, p.tasks[id].family
	}
	p.Splits = SplitTaskFamilies(ids, ops, fams, p.Dataset.Seed, p.Dataset.HeldOutFraction, p.Dataset.HeldOutOps)

	if !slices.Contains(p.Formats, datasets.ConfigSFT) || p.Dataset.Replay.Fraction <= 0 || len(p.Dataset.Replay.Sources) == 0 {
		return nil
	}
	var task int64
	for i, c := range p.cands {
		if p.keep[i] && p.Splits[p.taskIDs[c.task]] == datasets.SplitTrain {
			if p.Dataset.Replay.Mode == ReplayRows {
				task++
			} else {
				task += max(1, int64(c.tokens))
			}
		}
	}
	return p.sampleReplay(ctx, ReplayQuota(task, p.Dataset.Replay.Fraction))
}

// leaks reports whether a conversation shares an n-gram with the
// evaluation sets: general data can quote benchmark code as well as kernels.
func (p *Plan) leaks(ms []datasets.ChatMessage) bool {
	for _, m := range ms {
		if p.contam.Contaminated(m.Content) {
			return true
		}
	}
	return false
}

func (p *Plan) sampleReplay(ctx context.Context, quota int64) error {
	var wsum float64
	for _, s := range p.Dataset.Replay.Sources {
		wsum += max(0, s.Weight)
	}
	if wsum == 0 || quota == 0 {
		return nil
	}
	if p.in.Replay == nil {
		return errors.New("release: replay sources are configured but no replay reader was given")
	}
	type keyed struct {
		key uint64
		row replayRow
	}
	var all []keyed
	for si, src := range p.Dataset.Replay.Sources {
		label := p.in.Replay.Label(src)
		q := int64(math.Ceil(float64(quota) * max(0, src.Weight) / wsum))
		sample := NewSample[replayRow](q)
		skipped, err := p.in.Replay.Each(ctx, src, func(index int64, msgs []datasets.ChatMessage) error {
			if p.leaks(msgs) {
				// Checked before sampling, so the sample keeps its size;
				// the other rows keep their keys.
				p.Filtered.ContaminatedReplay++
				return nil
			}
			amt := Amount(p.Dataset.Replay.Mode, msgs)
			sample.Offer(SampleKey(p.Dataset.Seed, si, label, index), amt, replayRow{msgs, label, amt})
			return nil
		})
		if err != nil {
			return fmt.Errorf("release: %w", err)
		}
		p.replayReport.Skipped += skipped
		p.replayReport.Sources = append(p.replayReport.Sources, label)
		keys := sample.Keys()
		for i, r := range sample.Items() {
			all = append(all, keyed{keys[i], r})
		}
	}
	// Sources interleave by their random keys.
	slices.SortStableFunc(all, func(a, c keyed) int { return cmp.Compare(a.key, c.key) })
	for _, k := range all {
		p.replay = append(p.replay, k.row)
	}
	return nil
}
