// Package model has a frontier model write candidate variants of mined tasks,
// through Ollama's API or an OpenAI-compatible endpoint, and refines them with
// the verifier's feedback over several rounds.
package model

import (
	"fmt"
	"time"
)

// Config is the model section of a recipe.
type Config struct {
	Provider        string        `yaml:"provider" default:"ollama" enum:"ollama|openai" doc:"API to speak: ollama (/api/chat) or openai (OpenAI-compatible /v1/chat/completions: vLLM, SGLang, Ollama's /v1)."`
	Host            string        `yaml:"host" doc:"Server URL; empty means OLLAMA_HOST or http://127.0.0.1:11434 for ollama."`
	Model           string        `yaml:"model" required:"true" doc:"Model name, e.g. qwen3-coder:480b-cloud or gpt-oss:120b."`
	APIKeyEnv       string        `yaml:"api_key_env" doc:"Environment variable holding the API key (never the key itself)."`
	Samples         int           `yaml:"samples" default:"4" min:"1" max:"1024" doc:"Candidates asked for per task and round."`
	Rounds          int           `yaml:"rounds" default:"2" min:"1" max:"32" doc:"Refinement rounds; a round that does not improve on the best so far stops the task early."`
	Temperature     float64       `yaml:"temperature" default:"0.7" min:"0" max:"2" doc:"Sampling temperature."`
	TopP            float64       `yaml:"top_p" default:"0.95" min:"0" max:"1" doc:"Nucleus sampling threshold."`
	Seed            int           `yaml:"seed" default:"1" doc:"Base seed; sample i of round r uses seed + i + 65536*r, so samples and rounds differ."`
	NumCtx          int           `yaml:"num_ctx" default:"32768" min:"0" doc:"Context size in tokens (ollama num_ctx)."`
	MaxTokens       int           `yaml:"max_tokens" default:"8192" min:"0" doc:"Most tokens per answer (0: server default)."`
	MaxTokensField  string        `yaml:"max_tokens_field" default:"auto" enum:"auto|max_completion_tokens|max_tokens" doc:"Field that carries max_tokens to an openai server: max_completion_tokens (current), max_tokens (deprecated; for servers that read only it), or auto: max_tokens on Ollama's /v1 at OLLAMA_HOST (empty host), which reads only that, max_completion_tokens elsewhere."`
	Concurrency     int           `yaml:"concurrency" default:"0" min:"0" max:"1024" doc:"Model requests in flight at once; 0: 1 for ollama (Ollama does not report its OLLAMA_NUM_PARALLEL, which defaults to 1; set this to match it), 8 for openai. Requests beyond the server's parallelism queue there, and that wait counts against model.timeout."`
	Timeout         time.Duration `yaml:"timeout" default:"10m" min:"1s" doc:"Limit for one attempt at a request, from when it is sent (waiting for a model.concurrency slot does not count)."`
	KeepAlive       time.Duration `yaml:"keep_alive" default:"30m" min:"1s" doc:"How long Ollama keeps the model loaded after a request (ollama keep_alive); each request renews it, so it must cover the longest gap between requests, such as a round's verification."`
	Retries         int           `yaml:"retries" default:"4" min:"0" max:"20" doc:"Retries of a request on connection errors, 429 and 5xx, with exponential backoff and jitter."`
	Pull            bool          `yaml:"pull" default:"true" doc:"Pull the model when the server lacks it (ollama only)."`
	Structured      bool          `yaml:"structured" default:"false" doc:"Ask for a JSON answer with a schema (structured outputs) instead of a fenced code block."`
	Think           bool          `yaml:"think" default:"false" doc:"Let thinking models think (their reasoning comes back separately) or not; sent either way (ollama think, openai chat_template_kwargs.enable_thinking for vLLM and SGLang), since thinking models think when not told."`
	ReasoningEffort string        `yaml:"reasoning_effort" doc:"How hard a reasoning model thinks: low, medium or high; empty leaves it to the server. Needs think: true. Sent as reasoning_effort (openai) or as the level of ollama's think (only models that take one, such as gpt-oss)."`
	Backoff         time.Duration `yaml:"backoff" default:"1s" min:"1ms" max:"10m" doc:"First retry delay; it doubles on each retry (with jitter), and a server's Retry-After wins when longer."`
	ContextLines    int           `yaml:"context_lines" default:"40" min:"0" max:"2000" doc:"Lines of the reference file shown before and after the editable region in prompts."`
	MaxRegionBytes  int           `yaml:"max_region_bytes" default:"65536" min:"1024" doc:"Largest candidate region accepted; a larger answer is rejected as absurd."`
}

// Problem is one thing wrong with a model section that its field tags
// cannot say: Key is the key under model (e.g. "reasoning_effort").
type Problem struct{ Key, Msg string }

// Check reports the section's cross-field and value rules. The recipe
// decoder (configs) and NewGenerator both call it, so a recipe fails at
// `kforge config check`, not at the first generation.
func (c *Config) Check() []Problem {
	var ps []Problem
	switch c.ReasoningEffort {
	case "":
	case "low", "medium", "high":
		if !c.Think {
			ps = append(ps, Problem{"reasoning_effort", fmt.Sprintf("%q needs model.think: true", c.ReasoningEffort)})
		}
	default:
		ps = append(ps, Problem{"reasoning_effort", fmt.Sprintf("%q is not one of low, medium, high", c.ReasoningEffort)})
	}
	switch c.MaxTokensField {
	case "", "auto", "max_completion_tokens", "max_tokens":
	default:
		ps = append(ps, Problem{"max_tokens_field", fmt.Sprintf("%q is not one of auto, max_completion_tokens, max_tokens", c.MaxTokensField)})
	}
	return ps
}
