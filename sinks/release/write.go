package release

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"kforge/datasets"
	pq "kforge/sinks/parquet"
)

// selRow is one selected (kept, clean, deduplicated) variant of a task.
type selRow struct {
	v  *datasets.Variant
	vd *datasets.Verdict
}

// pass2 streams the shards again, task by task, and writes every config's
// rows, in the same order pass 1 saw them.
func (b *builder) pass2(ctx context.Context) ([]pq.File, error) {
	writers := map[string]*pq.Writer{}
	popt := pq.Options{MaxShardBytes: int64(max(1, b.ds.MaxShardMB)) << 20, RowGroupBytes: b.opt.RowGroupBytes}
	if b.opt.MaxShardBytes > 0 {
		popt.MaxShardBytes = b.opt.MaxShardBytes
	}
	if popt.RowGroupBytes <= 0 {
		popt.RowGroupBytes = 8 << 20
	}
	if popt.RowGroupBytes > popt.MaxShardBytes {
		popt.RowGroupBytes = popt.MaxShardBytes
	}
	has := map[string]bool{}
	for _, f := range b.formats {
		has[f] = true
	}
	put := func(config, split string, r datasets.Row) error {
		key := config + "/" + split
		w, ok := writers[key]
		if !ok {
			w = pq.NewWriter(b.opt.Out, config, split, b.schema(config), popt)
			writers[key] = w
		}
		b.sum.Rows[key]++
		b.countTokens(config, r)
		return w.Append(r)
	}
	abort := func() {
		for _, w := range writers {
			w.Abort()
		}
	}
	mixer := datasets.NewMixer(b.ds.Replay.Fraction)
	nextReplay := 0
	cursor := 0
	b.lin.tables = newTables()

	err := b.eachTask(ctx, func(d *datasets.ShardData) error {
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
			split := b.splits[taskID]
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
				keep := b.keep[cursor]
				cursor++
				if !keep {
					continue
				}
				sel = append(sel, selRow{v, vd})
				b.lin.tables.add(t, vd, split)
				b.speeds = append(b.speeds, vd.Speedup)
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
				mixer.AddTask(datasets.Amount(b.ds.Replay.Mode, rec.Messages))
				for nextReplay < len(b.replay) && mixer.Due(b.replay[nextReplay].amount) {
					r := b.replay[nextReplay]
					nextReplay++
					mixer.AddReplay(r.amount)
					b.sum.Replay.Rows++
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
			b.rowLicenses[t.Source.License]++
			if err := b.taskRows(t, split, sel, group, sv, byTask[taskID], has, put); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		abort()
		return nil, err
	}
	b.sum.Replay.Target = b.ds.Replay.Fraction
	b.sum.Replay.Mode = b.ds.Replay.Mode
	b.sum.Replay.Realised, b.sum.Replay.Task, b.sum.Replay.Replay = mixer.Realised()

	var files []pq.File
	for _, key := range slices.Sorted(maps.Keys(writers)) {
		fs, err := writers[key].Close()
		if err != nil {
			abort()
			return nil, err
		}
		files = append(files, fs...)
	}
	return files, nil
}

// taskRows writes a task's rl row, its preference pairs and its multi-turn
// conversations.
func (b *builder) taskRows(t *datasets.Task, split string, sel []selRow, group []datasets.Verdict,
	sv *shardView, variants []*datasets.Variant, has map[string]bool, put func(string, string, datasets.Row) error) error {
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
		if b.contam.Contaminated(t.Region.Text) {
			b.sum.Filtered.ContaminatedRL++
		} else {
			r := rlRecord(t, best, prompt, group, int32(len(sel)))
			if b.ds.Verl {
				r.Verl = verlColumns(r, split, b.sum.Rows[datasets.ConfigRL+"/"+split])
			}
			if err := put(datasets.ConfigRL, split, r); err != nil {
				return err
			}
		}
	}
	if has[datasets.ConfigPairs] {
		chosen := []datasets.ChatMessage{{Role: "assistant", Content: codeBlock(best.v.Region)}}
		add := func(v *datasets.Variant, vd *datasets.Verdict, status, reason string) error {
			if b.contam.Contaminated(v.Region) {
				b.sum.Filtered.ContaminatedRej++
				return nil
			}
			return put(datasets.ConfigPairs, split, &datasets.PairRecord{
				ID: datasets.Hash("pair", best.v.ID, v.ID)[:24], TaskID: t.ID, Op: t.Op, Arch: best.vd.Device.Arch,
				Prompt: prompt, Chosen: chosen, Rejected: []datasets.ChatMessage{{Role: "assistant", Content: codeBlock(v.Region)}},
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
