package release

import (
	"slices"

	"kforge/assemble"
	"kforge/datasets"
)

// TemplateTokensPerMessage is what the card adds to each message's content
// tokens for its chat-template markers (ChatML and Llama 3 spend 4–6 per
// message: start, role, separators, end).
const TemplateTokensPerMessage = 6

// tokenCounts are the prompt and completion tokens of every row of one
// config, in row order.
type tokenCounts struct {
	prompt, completion []int
}

// TokenStats are the token percentiles of one config.
type TokenStats struct {
	Rows      int    `json:"rows"`
	PromptP50 int    `json:"prompt_p50"`
	PromptP95 int    `json:"prompt_p95"`
	PromptMax int    `json:"prompt_max"`
	ComplP50  int    `json:"completion_p50"`
	ComplP95  int    `json:"completion_p95"`
	ComplMax  int    `json:"completion_max"`
	TotalMax  int    `json:"total_max"` // the longest prompt + completion of one row
	Tokenizer string `json:"tokenizer"`
	Estimated bool   `json:"estimated"`
}

func (b *builder) msgTokens(ms []datasets.ChatMessage) int {
	n := 0
	for _, m := range ms {
		n += b.tok.Count(m.Content) + TemplateTokensPerMessage
		if m.ReasoningContent != "" {
			n += b.tok.Count(m.ReasoningContent)
		}
	}
	return n
}

// PromptCompletion says what a row of each config prompts with and what
// it completes: sft its prompt and completion; rl its prompt and the
// reference solution as the answer; pairs its prompt and the longer of
// chosen and rejected; multiturn the conversation before the first answer
// and everything from it on.
func (b *builder) countTokens(config string, r datasets.Row) {
	var p, c int
	switch r := r.(type) {
	case *datasets.SFTRecord:
		p, c = b.msgTokens(r.Prompt), b.msgTokens(r.Completion)
	case *datasets.RLRecord:
		p = b.msgTokens(r.Prompt)
		c = b.msgTokens([]datasets.ChatMessage{{Role: "assistant", Content: assemble.CodeBlock(r.ReferenceSolution)}})
	case *datasets.PairRecord:
		p, c = b.msgTokens(r.Prompt), max(b.msgTokens(r.Chosen), b.msgTokens(r.Rejected))
	case *datasets.MultiturnRecord:
		i := slices.IndexFunc(r.Messages, func(m datasets.ChatMessage) bool { return m.Role == "assistant" })
		if i < 0 {
			i = len(r.Messages)
		}
		p, c = b.msgTokens(r.Messages[:i]), b.msgTokens(r.Messages[i:])
	default:
		return
	}
	tc := b.tokens[config]
	if tc == nil {
		tc = &tokenCounts{}
		b.tokens[config] = tc
	}
	tc.prompt = append(tc.prompt, p)
	tc.completion = append(tc.completion, c)
}

// Percentile is the nearest-rank q-quantile (0 < q <= 1) of xs: the
// smallest value with at least q of the values at or below it.
func Percentile(xs []int, q float64) int {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	k := int(float64(len(s))*q + 0.999999999)
	return s[min(max(k, 1), len(s))-1]
}

func (b *builder) tokenStats(config string) (TokenStats, bool) {
	tc := b.tokens[config]
	if tc == nil || len(tc.prompt) == 0 {
		return TokenStats{}, false
	}
	st := TokenStats{Rows: len(tc.prompt), Tokenizer: b.tok.Name(), Estimated: !b.tok.Exact(),
		PromptP50: Percentile(tc.prompt, 0.5), PromptP95: Percentile(tc.prompt, 0.95), PromptMax: slices.Max(tc.prompt),
		ComplP50: Percentile(tc.completion, 0.5), ComplP95: Percentile(tc.completion, 0.95), ComplMax: slices.Max(tc.completion)}
	for i := range tc.prompt {
		st.TotalMax = max(st.TotalMax, tc.prompt[i]+tc.completion[i])
	}
	return st, true
}

// RoundUp64 rounds a token length up to a multiple of 64, the form the
// card recommends lengths in: still every row whole.
func RoundUp64(n int) int { return (n + 63) / 64 * 64 }
