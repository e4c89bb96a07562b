package datasets

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Dataset config names: the four shapes a release can hold.
const (
	ConfigSFT       = "sft"
	ConfigRL        = "rl"
	ConfigPairs     = "pairs"
	ConfigMultiturn = "multiturn"
)

// Split names. Splits are by task: no task is in two splits.
const (
	SplitTrain = "train"
	SplitTest  = "test"
)

// Row is one dataset row that can add itself to a batch of its config's
// schema.
type Row interface {
	// AppendTo appends the row's values, one per column, in schema order.
	// Use Columns.Append, which also counts the row.
	AppendTo(b *Columns)
	// Size estimates the row's uncompressed bytes, for row-group and shard sizing.
	Size() int
}

// ChatMessage is one message of a dataset row (TRL conversational format).
// ReasoningContent is the model's thinking before an assistant answer, in
// the field chat templates read it from (Qwen3's, DeepSeek-R1's and the
// transformers chat-template docs use reasoning_content); only sft rows
// carry it.
type ChatMessage struct {
	Role             string `json:"role"`
	Content          string `json:"content"`
	ReasoningContent string `json:"reasoning_content,omitempty"`
}

// Turn is one round of a multi-turn refinement with its verdict.
type Turn struct {
	Round     int32   `json:"round"`
	VariantID string  `json:"variant_id"`
	Status    string  `json:"status"`
	Speedup   float64 `json:"speedup"`
	Reason    string  `json:"reason"`
}

// Baseline is the reference program's time on one device.
type Baseline struct {
	Device      string  `json:"device"`
	Arch        string  `json:"arch"`
	Toolchain   string  `json:"toolchain"`
	ReferenceMS float64 `json:"reference_ms"`
}

// SFTRecord is one row of the sft config: a conversation whose last message is
// the verified faster code (TRL "messages" language-modelling format), or a
// general replay conversation (IsReplay) whose task columns are null.
type SFTRecord struct {
	ID       string
	Messages []ChatMessage
	// Prompt and Completion are Messages split before the last (assistant)
	// message: TRL's conversational prompt-completion form, whose loss is
	// on the completion only by default.
	Prompt        []ChatMessage
	Completion    []ChatMessage
	Reasoning     string
	TaskID        string
	SourceRepo    string
	SourceCommit  string
	SourcePath    string
	License       string
	Kind          string
	Op            string
	Dtype         string
	Arch          string
	Device        string
	Toolchain     string
	BaselineMS    float64
	CandidateMS   float64
	Speedup       float64
	VGPRs         int32
	SGPRs         int32
	LDSBytes      int32
	ScratchBytes  int32
	Occupancy     int32
	Model         string
	PromptVersion string
	NumTurns      int32
	IsReplay      bool
	ReplaySource  string
}

// RLRecord is one row of the rl config: a prompt plus everything a reward
// function needs to rebuild, run and time a candidate (TRL prompt-only format;
// every other column reaches GRPO reward functions as a keyword argument).
type RLRecord struct {
	ID                string
	Prompt            []ChatMessage
	TaskID            string
	Kind              string
	Op                string
	Dtypes            []string
	Archs             []string
	SourceRepo        string
	SourceCommit      string
	SourcePath        string
	License           string
	TaskSpec          string // the Task as JSON
	RegionKind        string
	RegionRules       []string
	BuildRecipe       string // JSON
	RunRecipe         string // JSON
	Sizes             string // JSON
	RTol, ATol        float64
	HasTolerance      bool
	Baselines         []Baseline
	BestSpeedup       float64
	ReferenceSolution string // the fastest kept candidate region
	NumKept           int32
	// Verl holds the columns verl's RLHFDataset and reward managers read;
	// set only when the schema has them (SchemaOptions.Verl).
	Verl *VerlColumns
}

// VerlColumns are the columns verl needs besides prompt: data_source picks
// the reward function, reward_model.ground_truth and extra_info reach it.
type VerlColumns struct {
	DataSource  string
	Ability     string
	Style       string // reward_model.style
	GroundTruth string // reward_model.ground_truth: the task spec JSON
	Split       string // extra_info…
	Index       int32
	TaskID      string
	Op          string
	BestSpeedup float64
	Reference   string
}

// PairRecord is one row of the pairs config (TRL explicit-prompt preference):
// chosen is correct and faster; rejected is slower, incorrect or gated.
type PairRecord struct {
	ID              string
	TaskID          string
	Op              string
	Arch            string
	Prompt          []ChatMessage
	Chosen          []ChatMessage
	Rejected        []ChatMessage
	ChosenID        string
	RejectedID      string
	ChosenSpeedup   float64
	RejectedSpeedup float64 // 0 when the rejected candidate was never timed
	RejectedStatus  string
	RejectedReason  string
	Model           string
}

// MultiturnRecord is one row of the multiturn config: a whole refinement
// conversation with the verdict of every turn.
type MultiturnRecord struct {
	ID           string
	TaskID       string
	Op           string
	Arch         string
	Messages     []ChatMessage
	NumTurns     int32
	Turns        []Turn
	FinalSpeedup float64
	Model        string
}

var (
	messageType = arrow.ListOf(arrow.StructOf(
		arrow.Field{Name: "role", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "content", Type: arrow.BinaryTypes.String},
	))
	// sftMessageType is messageType with the assistant's reasoning
	// (null on other messages and where the model gave none).
	sftMessageType = arrow.ListOf(arrow.StructOf(
		arrow.Field{Name: "role", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "content", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "reasoning_content", Type: arrow.BinaryTypes.String, Nullable: true},
	))
	stringList      = arrow.ListOf(arrow.BinaryTypes.String)
	rewardModelType = arrow.StructOf(
		arrow.Field{Name: "style", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "ground_truth", Type: arrow.BinaryTypes.String},
	)
	extraInfoType = arrow.StructOf(
		arrow.Field{Name: "split", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "index", Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: "task_id", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "op", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "best_speedup", Type: arrow.PrimitiveTypes.Float64},
		arrow.Field{Name: "reference_solution", Type: arrow.BinaryTypes.String},
	)
	turnListType = arrow.ListOf(arrow.StructOf(
		arrow.Field{Name: "round", Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: "variant_id", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "status", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "speedup", Type: arrow.PrimitiveTypes.Float64},
		arrow.Field{Name: "reason", Type: arrow.BinaryTypes.String},
	))
	baselineListType = arrow.ListOf(arrow.StructOf(
		arrow.Field{Name: "device", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "arch", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "toolchain", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "reference_ms", Type: arrow.PrimitiveTypes.Float64},
	))
)

func str(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.BinaryTypes.String}
}
func nstr(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
}
func nf64(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true}
}
func ni32(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int32, Nullable: true}
}

// SchemaOptions are the optional column sets of a release.
type SchemaOptions struct {
	// Verl adds verl's columns to rl: data_source, ability, reward_model,
	// extra_info.
	Verl bool
}

// Schema returns the Arrow schema of a config (ConfigSFT, …) without
// optional columns, with the Hugging Face features in its "huggingface"
// metadata so `datasets` restores the exact types; nil for an unknown config.
func Schema(config string) *arrow.Schema { return SchemaWith(config, SchemaOptions{}) }

// SchemaWith is Schema with the optional columns opt asks for.
func SchemaWith(config string, opt SchemaOptions) *arrow.Schema {
	var fields []arrow.Field
	switch config {
	case ConfigSFT:
		fields = []arrow.Field{
			str("id"), {Name: "messages", Type: sftMessageType},
			{Name: "prompt", Type: sftMessageType}, {Name: "completion", Type: sftMessageType}, nstr("reasoning"),
			nstr("task_id"), nstr("source_repo"), nstr("source_commit"), nstr("source_path"), nstr("license"),
			nstr("kind"), nstr("op"), nstr("dtype"), nstr("arch"), nstr("device"), nstr("toolchain"),
			nf64("baseline_ms"), nf64("candidate_ms"), nf64("speedup"),
			ni32("vgprs"), ni32("sgprs"), ni32("lds_bytes"), ni32("scratch_bytes"), ni32("occupancy"),
			nstr("model"), nstr("prompt_version"),
			{Name: "num_turns", Type: arrow.PrimitiveTypes.Int32},
			{Name: "is_replay", Type: arrow.FixedWidthTypes.Boolean},
			nstr("replay_source"),
		}
	case ConfigRL:
		fields = []arrow.Field{
			str("id"), {Name: "prompt", Type: messageType}, str("task_id"), str("kind"), str("op"),
			{Name: "dtypes", Type: stringList}, {Name: "archs", Type: stringList},
			str("source_repo"), str("source_commit"), str("source_path"), str("license"),
			str("task_spec"), str("region_kind"), {Name: "region_rules", Type: stringList},
			str("build_recipe"), str("run_recipe"), str("sizes"), nf64("rtol"), nf64("atol"),
			{Name: "baselines", Type: baselineListType},
			{Name: "best_speedup", Type: arrow.PrimitiveTypes.Float64},
			str("reference_solution"), {Name: "num_kept", Type: arrow.PrimitiveTypes.Int32},
		}
		if opt.Verl {
			fields = append(fields, str("data_source"), str("ability"),
				arrow.Field{Name: "reward_model", Type: rewardModelType}, arrow.Field{Name: "extra_info", Type: extraInfoType})
		}
	case ConfigPairs:
		fields = []arrow.Field{
			str("id"), str("task_id"), str("op"), str("arch"),
			{Name: "prompt", Type: messageType}, {Name: "chosen", Type: messageType}, {Name: "rejected", Type: messageType},
			str("chosen_id"), str("rejected_id"),
			{Name: "chosen_speedup", Type: arrow.PrimitiveTypes.Float64}, nf64("rejected_speedup"),
			str("rejected_status"), str("rejected_reason"), str("model"),
		}
	case ConfigMultiturn:
		fields = []arrow.Field{
			str("id"), str("task_id"), str("op"), str("arch"),
			{Name: "messages", Type: messageType}, {Name: "num_turns", Type: arrow.PrimitiveTypes.Int32},
			{Name: "turns", Type: turnListType},
			{Name: "final_speedup", Type: arrow.PrimitiveTypes.Float64}, str("model"),
		}
	default:
		return nil
	}
	s := arrow.NewSchema(fields, nil)
	md := arrow.NewMetadata([]string{"huggingface"}, []string{HFFeaturesJSON(s)})
	return arrow.NewSchema(fields, &md)
}

// PlainColumns are the Parquet column paths of a config whose values are
// nearly all distinct (ids, code, conversations): dictionary encoding only
// costs time there, so writers store them plain.
func PlainColumns(config string) []string {
	switch config {
	case ConfigSFT:
		return []string{"id", "messages.list.element.content", "messages.list.element.reasoning_content",
			"prompt.list.element.content", "completion.list.element.content", "completion.list.element.reasoning_content", "reasoning"}
	case ConfigRL:
		return []string{"id", "task_id", "prompt.list.element.content", "task_spec", "reference_solution", "sizes",
			"reward_model.ground_truth", "extra_info.reference_solution"}
	case ConfigPairs:
		return []string{"id", "prompt.list.element.content", "chosen.list.element.content", "rejected.list.element.content",
			"chosen_id", "rejected_id"}
	case ConfigMultiturn:
		return []string{"id", "messages.list.element.content", "turns.list.element.variant_id"}
	}
	return nil
}

// StringStorage says how a writer's batches should hold each string column
// of a config: PlainColumns by reference (wide, nearly all distinct), the
// rest dictionary-encoded. For NewColumns.
func StringStorage(config string) func(path string) Storage {
	plain := PlainColumns(config)
	return func(path string) Storage {
		if slices.Contains(plain, path) {
			return Referenced
		}
		return Dictionary
	}
}

// Configs are the known config names in release order.
var Configs = []string{ConfigSFT, ConfigRL, ConfigPairs, ConfigMultiturn}

// ---- Hugging Face features ----

// hfDtype maps an Arrow type to a `datasets` Value dtype.
func hfDtype(t arrow.DataType) string {
	switch t.ID() {
	case arrow.STRING:
		return "string"
	case arrow.LARGE_STRING:
		return "large_string"
	case arrow.BOOL:
		return "bool"
	case arrow.INT32:
		return "int32"
	case arrow.INT64:
		return "int64"
	case arrow.FLOAT32:
		return "float32"
	case arrow.FLOAT64:
		return "float64"
	}
	return t.String()
}

// hfFeatureJSON writes the `datasets` Features JSON of one type, keeping field
// order (a Go map would sort it). A list is written as a one-element JSON
// array, the form every `datasets` version reads.
func hfFeatureJSON(sb *strings.Builder, t arrow.DataType) {
	switch tt := t.(type) {
	case *arrow.ListType:
		sb.WriteByte('[')
		hfFeatureJSON(sb, tt.Elem())
		sb.WriteByte(']')
	case *arrow.StructType:
		sb.WriteByte('{')
		for i, f := range tt.Fields() {
			if i > 0 {
				sb.WriteByte(',')
			}
			k, _ := json.Marshal(f.Name)
			sb.Write(k)
			sb.WriteByte(':')
			hfFeatureJSON(sb, f.Type)
		}
		sb.WriteByte('}')
	default:
		sb.WriteString(`{"dtype":"` + hfDtype(t) + `","_type":"Value"}`)
	}
}

// HFFeaturesJSON returns the value of the "huggingface" schema metadata key:
// {"info":{"features":{…}}} in column order.
func HFFeaturesJSON(s *arrow.Schema) string {
	var sb strings.Builder
	sb.WriteString(`{"info":{"features":`)
	hfFeatureJSON(&sb, arrow.StructOf(s.Fields()...))
	sb.WriteString(`}}`)
	return sb.String()
}

// YAMLFeature is one feature in a dataset card's dataset_info (the form
// `datasets` writes: dtype for values, list for lists, struct for structs).
type YAMLFeature struct {
	Name   string        `yaml:"name,omitempty"`
	Dtype  string        `yaml:"dtype,omitempty"`
	List   any           `yaml:"list,omitempty"`
	Struct []YAMLFeature `yaml:"struct,omitempty"`
}

func yamlOf(name string, t arrow.DataType) YAMLFeature {
	switch tt := t.(type) {
	case *arrow.ListType:
		f := YAMLFeature{Name: name}
		switch et := tt.Elem().(type) {
		case *arrow.StructType:
			var fs []YAMLFeature
			for _, sf := range et.Fields() {
				fs = append(fs, yamlOf(sf.Name, sf.Type))
			}
			f.List = fs
		default:
			f.List = hfDtype(et)
		}
		return f
	case *arrow.StructType:
		f := YAMLFeature{Name: name}
		for _, sf := range tt.Fields() {
			f.Struct = append(f.Struct, yamlOf(sf.Name, sf.Type))
		}
		return f
	}
	return YAMLFeature{Name: name, Dtype: hfDtype(t)}
}

// YAMLFeatures returns a schema's features as a dataset card lists them.
func YAMLFeatures(s *arrow.Schema) []YAMLFeature {
	var out []YAMLFeature
	for _, f := range s.Fields() {
		out = append(out, yamlOf(f.Name, f.Type))
	}
	return out
}

// ---- appending rows ----

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

func (c *cols) msgs(ms []ChatMessage) {
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

func msgSize(ms []ChatMessage) int {
	n := 0
	for _, m := range ms {
		n += len(m.Role) + len(m.Content) + len(m.ReasoningContent) + 20
	}
	return n
}

// AppendTo implements Row.
func (r *SFTRecord) AppendTo(b *Columns) {
	c := cols{c: b}
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

// Size implements Row.
func (r *SFTRecord) Size() int {
	return len(r.ID) + msgSize(r.Messages) + msgSize(r.Prompt) + msgSize(r.Completion) + len(r.Reasoning) + len(r.TaskID) + len(r.SourceRepo) +
		len(r.SourceCommit) + len(r.SourcePath) + len(r.License) + len(r.Kind) + len(r.Op) + len(r.Dtype) +
		len(r.Arch) + len(r.Device) + len(r.Toolchain) + len(r.Model) + len(r.PromptVersion) +
		len(r.ReplaySource) + 3*8 + 6*4 + 1 + 16*4
}

// Tokens estimates the row's tokens (message bytes / 4, a tokenizer-free
// proxy), the unit of the replay fraction.
func (r *SFTRecord) Tokens() int64 { return Tokens(r.Messages) }

// Tokens estimates the tokens of a conversation as its content bytes / 4,
// rounded up.
func Tokens(ms []ChatMessage) int64 {
	var n int64
	for _, m := range ms {
		n += int64(len(m.Content))
	}
	return (n + 3) / 4
}

// AppendTo implements Row.
func (r *RLRecord) AppendTo(b *Columns) {
	c := cols{c: b}
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

// Size implements Row.
func (r *RLRecord) Size() int {
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

// AppendTo implements Row.
func (r *PairRecord) AppendTo(b *Columns) {
	c := cols{c: b}
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

// Size implements Row.
func (r *PairRecord) Size() int {
	return len(r.ID) + len(r.TaskID) + len(r.Op) + len(r.Arch) + msgSize(r.Prompt) + msgSize(r.Chosen) +
		msgSize(r.Rejected) + len(r.ChosenID) + len(r.RejectedID) + len(r.RejectedStatus) +
		len(r.RejectedReason) + len(r.Model) + 64
}

// AppendTo implements Row.
func (r *MultiturnRecord) AppendTo(b *Columns) {
	c := cols{c: b}
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

// Size implements Row.
func (r *MultiturnRecord) Size() int {
	n := len(r.ID) + len(r.TaskID) + len(r.Op) + len(r.Arch) + msgSize(r.Messages) + len(r.Model) + 32
	for _, t := range r.Turns {
		n += len(t.VariantID) + len(t.Status) + len(t.Reason) + 24
	}
	return n
}

// ChatMessages converts a variant's messages to dataset messages (the
// model's thinking is kept apart, in the reasoning column).
func ChatMessages(ms []Message) []ChatMessage {
	out := make([]ChatMessage, len(ms))
	for i, m := range ms {
		out[i] = ChatMessage{Role: m.Role, Content: m.Content}
	}
	return out
}
