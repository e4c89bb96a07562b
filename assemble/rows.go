package assemble

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"kforge/datasets"
)

// selRow is one selected (kept, clean, deduplicated) variant of a task.
type selRow struct {
	v  *datasets.Variant
	vd *datasets.Verdict
}

// Report is what making the rows found, for the card and manifest.
type Report struct {
	// Rows counts the rows by config/split.
	Rows map[string]int64
	// Replay is the replay mix realised in sft/train.
	Replay ReplayReport
	// ByOp and ByArch are the per-op and per-arch tables of the selected rows.
	ByOp, ByArch []GroupRow
	// Speedups are those of the selected rows, in row order (the plot).
	Speedups []float64
	// RowLicenses counts the tasks with rows by their source's license.
	RowLicenses map[string]int
}

// Emit receives one row of a config and split.
type Emit func(config, split string, r datasets.Row) error

// Rows streams the shards a second time, task by task, and emits every
// config's rows, in the order the plan saw the kept verdicts. It is the
// only way to the plan's decisions, may be called once, and fails when the
// shards no longer match them (changed between the passes).
func (p *Plan) Rows(ctx context.Context, emit Emit) (*Report, error) {
	if p.rowsDone {
		return nil, errors.New("release: a plan's rows are made once")
	}
	p.rowsDone = true
	rep := &Report{Rows: map[string]int64{}, RowLicenses: map[string]int{}}
	has := map[string]bool{}
	for _, f := range p.Formats {
		has[f] = true
	}
	put := func(config, split string, r datasets.Row) error {
		rep.Rows[config+"/"+split]++
		return emit(config, split, r)
	}
	mixer := NewMixer(p.Dataset.Replay.Fraction)
	nextReplay := 0
	cursor := 0
	tables := newTables()

	err := p.eachTask(ctx, func(d *datasets.ShardData) error {
		sv := view(d)
		byTask := map[string][]*datasets.Variant{}
		for i := range d.Variants {
			byTask[d.Variants[i].TaskID] = append(byTask[d.Variants[i].TaskID], &d.Variants[i])
		}
		for lo := 0; lo < len(d.Verdicts); {
			hi := lo
			for hi < len(d.Verdicts) && d.Verdicts[hi].TaskID == d.Verdicts[lo].TaskID {
				hi++
			}
			group := d.Verdicts[lo:hi]
			lo = hi
			taskID := group[0].TaskID
			t := sv.tasks[taskID]
			split := p.Splits[taskID]
			var sel []selRow
			for i := range group {
				vd := &group[i]
				if !vd.Kept() {
					continue
				}
				v := sv.variants[vd.VariantID]
				if v == nil || t == nil {
					continue // an orphan: pass 1 made no candidate
				}
				if cursor >= len(p.keep) {
					return errShardsChanged
				}
				keep := p.keep[cursor]
				cursor++
				if !keep {
					continue
				}
				sel = append(sel, selRow{v, vd})
				tables.add(t, vd, split)
				rep.Speedups = append(rep.Speedups, vd.Speedup)
				if !has[datasets.ConfigSFT] {
					continue
				}
				rec := sftRecord(t, v, vd)
				if err := put(datasets.ConfigSFT, split, rec); err != nil {
					return err
				}
				if split != datasets.SplitTrain {
					continue
				}
				mixer.AddTask(Amount(p.Dataset.Replay.Mode, rec.Messages))
				for nextReplay < len(p.replay) && mixer.Due(p.replay[nextReplay].amount) {
					r := p.replay[nextReplay]
					nextReplay++
					mixer.AddReplay(r.amount)
					rep.Replay.Rows++
					rr := &datasets.SFTRecord{ID: datasets.Hash("replay", r.source, r.msgs)[:24], Messages: r.msgs,
						NumTurns: numTurns(r.msgs), IsReplay: true, ReplaySource: r.source}
					rr.Prompt, rr.Completion = promptCompletion(r.msgs)
					if err := put(datasets.ConfigSFT, split, rr); err != nil {
						return err
					}
				}
			}
			if t == nil || len(sel) == 0 {
				continue
			}
			rep.RowLicenses[t.Source.License]++
			if err := p.taskRows(t, split, sel, group, sv, byTask[taskID], has, rep, put); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if cursor != len(p.keep) {
		return nil, errShardsChanged
	}
	replayRows := rep.Replay.Rows
	rep.Replay = p.replayReport // sources and skipped rows, from the plan
	rep.Replay.Rows = replayRows
	rep.Replay.Target = p.Dataset.Replay.Fraction
	rep.Replay.Mode = p.Dataset.Replay.Mode
	rep.Replay.Realised, rep.Replay.Task, rep.Replay.Replay = mixer.Realised()
	rep.ByOp, rep.ByArch = rows(tables.byOp), rows(tables.byArch)
	return rep, nil
}

// errShardsChanged is the second pass meeting other kept verdicts than the
// first: the shards changed between the passes.
var errShardsChanged = errors.New("release: the shards changed while the release was made (the kept verdicts differ between the two passes)")

// taskRows writes a task's rl row, its preference pairs and its multi-turn
// conversations.
func (p *Plan) taskRows(t *datasets.Task, split string, sel []selRow, group []datasets.Verdict,
	sv *shardView, variants []*datasets.Variant, has map[string]bool, rep *Report, put Emit) error {
	best := sel[0]
	for _, s := range sel[1:] {
		if s.vd.Speedup > best.vd.Speedup || (s.vd.Speedup == best.vd.Speedup && s.v.ID < best.v.ID) {
			best = s
		}
	}
	prompt := firstPrompt(best.v)
	for _, v := range variants { // lowest round and sample first
		if p := firstPrompt(v); len(p) > 0 && v.Round == 0 {
			prompt = p
			break
		}
	}
	if has[datasets.ConfigRL] {
		if p.contam.Contaminated(t.Region.Text) {
			p.Filtered.ContaminatedRL++
		} else {
			r := rlRecord(t, best, prompt, group, int32(len(sel)))
			if p.Dataset.Verl {
				r.Verl = verlColumns(r, split, rep.Rows[datasets.ConfigRL+"/"+split])
			}
			if err := put(datasets.ConfigRL, split, r); err != nil {
				return err
			}
		}
	}
	if has[datasets.ConfigPairs] {
		chosen := []datasets.ChatMessage{{Role: "assistant", Content: CodeBlock(best.v.Region)}}
		add := func(v *datasets.Variant, vd *datasets.Verdict, status, reason string) error {
			if p.contam.Contaminated(v.Region) {
				p.Filtered.ContaminatedRej++
				return nil
			}
			return put(datasets.ConfigPairs, split, &datasets.PairRecord{
				ID: datasets.Hash("pair", best.v.ID, v.ID)[:24], TaskID: t.ID, Op: t.Op, Arch: best.vd.Device.Arch,
				Prompt: prompt, Chosen: chosen, Rejected: []datasets.ChatMessage{{Role: "assistant", Content: CodeBlock(v.Region)}},
				ChosenID: best.v.ID, RejectedID: v.ID, ChosenSpeedup: best.vd.Speedup, RejectedSpeedup: vd.Speedup,
				RejectedStatus: status, RejectedReason: reason, Model: best.v.Model,
			})
		}
		for i := range group {
			vd := &group[i]
			v := sv.variants[vd.VariantID]
			if v == nil || strings.TrimSpace(v.Region) == "" {
				continue
			}
			switch {
			case vd.Status == datasets.StatusRejected:
				reason := strings.TrimSpace(strings.Trim(vd.RejectedBy+": "+vd.Reason, ": "))
				if err := add(v, vd, datasets.StatusRejected, reason); err != nil {
					return err
				}
			case vd.Kept() && v.ID != best.v.ID && vd.Speedup < best.vd.Speedup && slices.ContainsFunc(sel, func(s selRow) bool { return s.v.ID == v.ID }):
				if err := add(v, vd, "slower", fmt.Sprintf("slower: %.3gx vs %.3gx", vd.Speedup, best.vd.Speedup)); err != nil {
					return err
				}
			}
		}
	}
	if has[datasets.ConfigMultiturn] {
		for _, s := range sel {
			if s.v.Round < 1 {
				continue
			}
			turns := chain(s.v, sv)
			if len(turns) < 2 {
				continue
			}
			ms := datasets.ChatMessages(s.v.Messages)
			if err := put(datasets.ConfigMultiturn, split, &datasets.MultiturnRecord{
				ID: s.v.ID, TaskID: t.ID, Op: t.Op, Arch: s.vd.Device.Arch, Messages: ms, NumTurns: numTurns(ms),
				Turns: turns, FinalSpeedup: s.vd.Speedup, Model: s.v.Model,
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// chain is the refinement history of v, root first, with each turn's verdict.
func chain(v *datasets.Variant, sv *shardView) []datasets.Turn {
	var turns []datasets.Turn
	seen := map[string]bool{}
	for cur := v; cur != nil && !seen[cur.ID]; cur = sv.variants[cur.Parent] {
		seen[cur.ID] = true
		t := datasets.Turn{Round: int32(cur.Round), VariantID: cur.ID, Status: "unjudged", Reason: cur.Rejected}
		if vd := sv.verdicts[cur.ID]; vd != nil {
			t.Status, t.Speedup = vd.Status, vd.Speedup
			t.Reason = strings.Trim(vd.RejectedBy+": "+vd.Reason, ": ")
		}
		turns = append(turns, t)
		if cur.Parent == "" {
			break
		}
	}
	slices.Reverse(turns)
	return turns
}

func numTurns(ms []datasets.ChatMessage) int32 {
	var n int32
	for _, m := range ms {
		if m.Role == "assistant" {
			n++
		}
	}
	return n
}

func sftRecord(t *datasets.Task, v *datasets.Variant, vd *datasets.Verdict) *datasets.SFTRecord {
	ms, _ := sftMessages(v)
	prompt, completion := promptCompletion(ms)
	r := &datasets.SFTRecord{
		ID: v.ID, Messages: ms, Prompt: prompt, Completion: completion, Reasoning: v.Reasoning, TaskID: t.ID,
		SourceRepo: t.Source.Repo, SourceCommit: t.Source.Commit, SourcePath: t.Source.Path, License: t.Source.License,
		Kind: t.Kind, Op: t.Op, Dtype: strings.Join(t.Dtypes, ","), Arch: vd.Device.Arch, Device: vd.Device.Name,
		Toolchain: vd.Device.Toolchain, Speedup: vd.Speedup, Model: v.Model, PromptVersion: v.PromptVersion,
		NumTurns: numTurns(ms),
	}
	if vd.Timing != nil {
		r.BaselineMS, r.CandidateMS = vd.Timing.RefMedian, vd.Timing.CandMedian
	}
	for i, k := range vd.Compile.Kernels {
		r.VGPRs = max(r.VGPRs, int32(k.VGPRs))
		r.SGPRs = max(r.SGPRs, int32(k.SGPRs))
		r.LDSBytes = max(r.LDSBytes, int32(k.LDS))
		r.ScratchBytes = max(r.ScratchBytes, int32(k.Scratch))
		if i == 0 || int32(k.Occupancy) < r.Occupancy {
			r.Occupancy = int32(k.Occupancy) // the least occupied kernel bounds the program
		}
	}
	return r
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

func rlRecord(t *datasets.Task, best selRow, prompt []datasets.ChatMessage, group []datasets.Verdict, kept int32) *datasets.RLRecord {
	r := &datasets.RLRecord{
		ID: t.ID, Prompt: prompt, TaskID: t.ID, Kind: t.Kind, Op: t.Op, Dtypes: t.Dtypes, Archs: t.Archs,
		SourceRepo: t.Source.Repo, SourceCommit: t.Source.Commit, SourcePath: t.Source.Path, License: t.Source.License,
		TaskSpec: jsonString(t), RegionKind: t.Region.Kind, RegionRules: t.Region.Rules,
		BuildRecipe: jsonString(t.Build), RunRecipe: jsonString(t.Run), Sizes: jsonString(t.UsableSizes()),
		BestSpeedup: best.vd.Speedup, ReferenceSolution: best.v.Region, NumKept: kept,
	}
	if tol := t.Run.Tolerance; tol != nil {
		r.RTol, r.ATol, r.HasTolerance = tol.RTol, tol.ATol, true
	}
	// Baselines: the median reference time per device over every timed verdict.
	times := map[datasets.Baseline][]float64{}
	for i := range group {
		vd := &group[i]
		if vd.Timing == nil || vd.Timing.RefMedian <= 0 {
			continue
		}
		k := datasets.Baseline{Device: vd.Device.Name, Arch: vd.Device.Arch, Toolchain: vd.Device.Toolchain}
		times[k] = append(times[k], vd.Timing.RefMedian)
	}
	for k, ts := range times {
		slices.Sort(ts)
		k.ReferenceMS = median(ts)
		r.Baselines = append(r.Baselines, k)
	}
	slices.SortFunc(r.Baselines, func(a, b datasets.Baseline) int {
		return cmp.Or(cmp.Compare(a.Device, b.Device), cmp.Compare(a.Arch, b.Arch), cmp.Compare(a.Toolchain, b.Toolchain))
	})
	return r
}

// Verl column values. data_source names kforge's reward function to verl's
// reward manager; ground_truth is the task spec, which `kforge verify
// --tasks -` reads on stdin.
const (
	VerlDataSource = "kforge"
	VerlAbility    = "gpu-kernel-optimization"
	VerlStyle      = "rule"
)

func verlColumns(r *datasets.RLRecord, split string, index int64) *datasets.VerlColumns {
	return &datasets.VerlColumns{DataSource: VerlDataSource, Ability: VerlAbility, Style: VerlStyle, GroundTruth: r.TaskSpec,
		Split: split, Index: int32(index), TaskID: r.TaskID, Op: r.Op, BestSpeedup: r.BestSpeedup, Reference: r.ReferenceSolution}
}

// median of sorted xs.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}
