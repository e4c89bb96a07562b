package model

import (
	"context"

	"kforge/datasets"
)

// provider is one model API: Ollama's /api or an OpenAI-compatible /v1.
type provider interface {
	// Name is the provider as recorded on variants and in cache keys.
	Name() string
	// Prepare checks that the server serves the model (pulling it when the
	// provider can and the config allows) and describes it.
	Prepare(ctx context.Context) (ModelInfo, error)
	// Chat makes one attempt at one call; retries are the caller's.
	Chat(ctx context.Context, msgs []datasets.Message, opt callOptions) (callResult, error)
}

// ModelInfo describes the model that writes variants, for the release manifest.
type ModelInfo struct {
	Provider     string   `json:"provider"`
	Host         string   `json:"host,omitempty"`
	Model        string   `json:"model"`
	Digest       string   `json:"digest,omitempty"`
	Family       string   `json:"family,omitempty"`
	ParamSize    string   `json:"parameter_size,omitempty"`
	Quantization string   `json:"quantization,omitempty"`
	Parameters   string   `json:"parameters,omitempty"` // the Modelfile's PARAMETER lines
	Capabilities []string `json:"capabilities,omitempty"`
}

// callOptions are the generation options of one call; they are part of the
// cache key, so any change here makes a different call.
type callOptions struct {
	Temperature float64 `json:"temperature"`
	TopP        float64 `json:"top_p"`
	Seed        int     `json:"seed"`
	NumCtx      int     `json:"num_ctx,omitempty"`
	MaxTokens   int     `json:"max_tokens,omitempty"`
	Structured  bool    `json:"structured,omitempty"`
	Think       bool    `json:"think,omitempty"`
	// ReasoningEffort is empty unless the recipe sets one, so keys made
	// before it existed still match.
	ReasoningEffort string `json:"reasoning_effort,omitempty"`
}

// callResult is what one successful call returned; it is the cached value, so
// extraction can change without paying for the calls again.
type callResult struct {
	Content          string  `json:"content"`
	Thinking         string  `json:"thinking,omitempty"`
	DoneReason       string  `json:"done_reason,omitempty"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	Seconds          float64 `json:"seconds"`
}
