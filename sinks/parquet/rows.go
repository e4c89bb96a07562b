package parquet

import (
	"fmt"

	"kforge/datasets"
)

// appendRow appends a record's values to a batch of its config's schema,
// one per column, in schema order (see layouts). An rl record's verl
// columns are appended when it has them, so its batch's schema must have
// them too. It panics on a type that is not one of the four records, as
// Writer.Append checks a row's config first.
func appendRow(b *Columns, r datasets.Row) {
	c := cols{c: b}
	switch r := r.(type) {
	case *datasets.SFTRecord:
		c.sft(r)
	case *datasets.RLRecord:
		c.rl(r)
	case *datasets.PairRecord:
		c.pair(r)
	case *datasets.MultiturnRecord:
		c.multiturn(r)
	default:
		panic(fmt.Sprintf("parquet: %T is not a dataset record", r))
	}
}

// rowSize estimates a record's uncompressed bytes, which cut the row groups
// and shards.
func rowSize(r datasets.Row) int {
	switch r := r.(type) {
	case *datasets.SFTRecord:
		return sftSize(r)
	case *datasets.RLRecord:
		return rlSize(r)
	case *datasets.PairRecord:
		return pairSize(r)
	case *datasets.MultiturnRecord:
		return multiturnSize(r)
	}
	return 0
}

// cols is a cursor over a batch's columns in schema order.
type cols struct {
	c *Columns
	i int
}

func (c *cols) next() *Column { f := c.c.fields[c.i]; c.i++; return f }

func (c *cols) str(s string) { c.next().Str(s) }

// nstr appends s, or null when s is empty.
func (c *cols) nstr(s string) { c.next().StrOrNull(s) }

func (c *cols) f64(x float64) { c.next().F64(x, true) }

func (c *cols) nf64(x float64, valid bool) { c.next().F64(x, valid) }

func (c *cols) i32(x int32) { c.next().I32(x, true) }

func (c *cols) ni32(x int32, valid bool) { c.next().I32(x, valid) }

func (c *cols) boolean(x bool) { c.next().Bool(x) }

func (c *cols) msgs(ms []datasets.ChatMessage) {
	el := c.next().List()
	for _, m := range ms {
		f := el.Struct()
		f[0].Str(m.Role)
		f[1].Str(m.Content)
		if len(f) > 2 {
			f[2].StrOrNull(m.ReasoningContent)
		}
	}
}

func (c *cols) strs(ss []string) {
	el := c.next().List()
	for _, s := range ss {
		el.Str(s)
	}
}

func msgSize(ms []datasets.ChatMessage) int {
	n := 0
	for _, m := range ms {
		n += len(m.Role) + len(m.Content) + len(m.ReasoningContent) + 20
	}
	return n
}

func (c *cols) sft(r *datasets.SFTRecord) {
	c.str(r.ID)
	c.msgs(r.Messages)
	c.msgs(r.Prompt)
	c.msgs(r.Completion)
	c.nstr(r.Reasoning)
	for _, s := range []string{r.TaskID, r.SourceRepo, r.SourceCommit, r.SourcePath, r.License,
		r.Kind, r.Op, r.Dtype, r.Arch, r.Device, r.Toolchain} {
		c.nstr(s)
	}
	task := !r.IsReplay
	c.nf64(r.BaselineMS, task)
	c.nf64(r.CandidateMS, task)
	c.nf64(r.Speedup, task)
	for _, x := range []int32{r.VGPRs, r.SGPRs, r.LDSBytes, r.ScratchBytes, r.Occupancy} {
		c.ni32(x, task)
	}
	c.nstr(r.Model)
	c.nstr(r.PromptVersion)
	c.i32(r.NumTurns)
	c.boolean(r.IsReplay)
	c.nstr(r.ReplaySource)
}

func sftSize(r *datasets.SFTRecord) int {
	return len(r.ID) + msgSize(r.Messages) + msgSize(r.Prompt) + msgSize(r.Completion) + len(r.Reasoning) + len(r.TaskID) + len(r.SourceRepo) +
		len(r.SourceCommit) + len(r.SourcePath) + len(r.License) + len(r.Kind) + len(r.Op) + len(r.Dtype) +
		len(r.Arch) + len(r.Device) + len(r.Toolchain) + len(r.Model) + len(r.PromptVersion) +
		len(r.ReplaySource) + 3*8 + 6*4 + 1 + 16*4
}

func (c *cols) rl(r *datasets.RLRecord) {
	c.str(r.ID)
	c.msgs(r.Prompt)
	c.str(r.TaskID)
	c.str(r.Kind)
	c.str(r.Op)
	c.strs(r.Dtypes)
	c.strs(r.Archs)
	c.str(r.SourceRepo)
	c.str(r.SourceCommit)
	c.str(r.SourcePath)
	c.str(r.License)
	c.str(r.TaskSpec)
	c.str(r.RegionKind)
	c.strs(r.RegionRules)
	c.str(r.BuildRecipe)
	c.str(r.RunRecipe)
	c.str(r.Sizes)
	c.nf64(r.RTol, r.HasTolerance)
	c.nf64(r.ATol, r.HasTolerance)
	el := c.next().List()
	for _, bl := range r.Baselines {
		f := el.Struct()
		f[0].Str(bl.Device)
		f[1].Str(bl.Arch)
		f[2].Str(bl.Toolchain)
		f[3].F64(bl.ReferenceMS, true)
	}
	c.f64(r.BestSpeedup)
	c.str(r.ReferenceSolution)
	c.i32(r.NumKept)
	if v := r.Verl; v != nil {
		c.str(v.DataSource)
		c.str(v.Ability)
		rm := c.next().Struct()
		rm[0].Str(v.Style)
		rm[1].Str(v.GroundTruth)
		ei := c.next().Struct()
		ei[0].Str(v.Split)
		ei[1].I32(v.Index, true)
		ei[2].Str(v.TaskID)
		ei[3].Str(v.Op)
		ei[4].F64(v.BestSpeedup, true)
		ei[5].Str(v.Reference)
	}
}

func rlSize(r *datasets.RLRecord) int {
	n := len(r.ID) + msgSize(r.Prompt) + len(r.TaskID) + len(r.Kind) + len(r.Op) + len(r.SourceRepo) +
		len(r.SourceCommit) + len(r.SourcePath) + len(r.License) + len(r.TaskSpec) + len(r.RegionKind) +
		len(r.BuildRecipe) + len(r.RunRecipe) + len(r.Sizes) + len(r.ReferenceSolution) + 64
	for _, s := range append(append(append([]string(nil), r.Dtypes...), r.Archs...), r.RegionRules...) {
		n += len(s) + 4
	}
	n += 48 * len(r.Baselines)
	if v := r.Verl; v != nil {
		n += len(v.DataSource) + len(v.Ability) + len(v.Style) + len(v.GroundTruth) + len(v.Split) + len(v.TaskID) +
			len(v.Op) + len(v.Reference) + 16
	}
	return n
}

func (c *cols) pair(r *datasets.PairRecord) {
	c.str(r.ID)
	c.str(r.TaskID)
	c.str(r.Op)
	c.str(r.Arch)
	c.msgs(r.Prompt)
	c.msgs(r.Chosen)
	c.msgs(r.Rejected)
	c.str(r.ChosenID)
	c.str(r.RejectedID)
	c.f64(r.ChosenSpeedup)
	c.nf64(r.RejectedSpeedup, r.RejectedSpeedup > 0)
	c.str(r.RejectedStatus)
	c.str(r.RejectedReason)
	c.str(r.Model)
}

func pairSize(r *datasets.PairRecord) int {
	return len(r.ID) + len(r.TaskID) + len(r.Op) + len(r.Arch) + msgSize(r.Prompt) + msgSize(r.Chosen) +
		msgSize(r.Rejected) + len(r.ChosenID) + len(r.RejectedID) + len(r.RejectedStatus) +
		len(r.RejectedReason) + len(r.Model) + 64
}

func (c *cols) multiturn(r *datasets.MultiturnRecord) {
	c.str(r.ID)
	c.str(r.TaskID)
	c.str(r.Op)
	c.str(r.Arch)
	c.msgs(r.Messages)
	c.i32(r.NumTurns)
	el := c.next().List()
	for _, t := range r.Turns {
		f := el.Struct()
		f[0].I32(t.Round, true)
		f[1].Str(t.VariantID)
		f[2].Str(t.Status)
		f[3].F64(t.Speedup, true)
		f[4].Str(t.Reason)
	}
	c.f64(r.FinalSpeedup)
	c.str(r.Model)
}

func multiturnSize(r *datasets.MultiturnRecord) int {
	n := len(r.ID) + len(r.TaskID) + len(r.Op) + len(r.Arch) + msgSize(r.Messages) + len(r.Model) + 32
	for _, t := range r.Turns {
		n += len(t.VariantID) + len(t.Status) + len(t.Reason) + 24
	}
	return n
}
