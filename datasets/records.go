package datasets

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

// Row is one dataset row: an *SFTRecord, *RLRecord, *PairRecord or
// *MultiturnRecord. How a row is laid out in columns is the writer's
// business (sinks/parquet); the records are plain values.
type Row interface {
	// Config is the config the row belongs to (ConfigSFT, …).
	Config() string
}

// Config implements Row.
func (*SFTRecord) Config() string { return ConfigSFT }

// Config implements Row.
func (*RLRecord) Config() string { return ConfigRL }

// Config implements Row.
func (*PairRecord) Config() string { return ConfigPairs }

// Config implements Row.
func (*MultiturnRecord) Config() string { return ConfigMultiturn }

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
	// set only when the release has them (Config.Verl), so that the
	// writer's rl schema has them too.
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

// Configs are the known config names in release order.
var Configs = []string{ConfigSFT, ConfigRL, ConfigPairs, ConfigMultiturn}

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

// ChatMessages converts a variant's messages to dataset messages (the
// model's thinking is kept apart, in the reasoning column).
func ChatMessages(ms []Message) []ChatMessage {
	out := make([]ChatMessage, len(ms))
	for i, m := range ms {
		out[i] = ChatMessage{Role: m.Role, Content: m.Content}
	}
	return out
}
