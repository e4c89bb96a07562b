package model

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"kforge/internal/redact"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"kforge/datasets"
)

// maxAnswerBytes bounds an answer body read into memory.
const maxAnswerBytes = 64 << 20

// openaiProvider speaks the OpenAI-compatible chat-completions API (vLLM,
// SGLang, Ollama's /v1) with plain net/http.
type openaiProvider struct {
	base  *url.URL // ends in /v1 (or wherever /chat/completions lives)
	http  *http.Client
	cfg   Config
	key   string // never logged, never put in an error
	retry retryPolicy
	// maxTokens names the field that carries opt.MaxTokens:
	// max_completion_tokens, or the deprecated max_tokens for servers that
	// read only that.
	maxTokens string
	// ollamaV1: the server is Ollama's /v1 on OLLAMA_HOST (no model.host).
	ollamaV1 bool
}

// openaiBase is cfg.Host, or Ollama's /v1 on OLLAMA_HOST when empty.
func openaiBase(host string) (*url.URL, error) {
	if host == "" {
		u, err := ollamaBase("")
		if err != nil {
			return nil, err
		}
		return u.JoinPath("v1"), nil
	}
	return ollamaBase(host)
}

func (p *openaiProvider) Name() string { return "openai" }

type oaMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type oaRequest struct {
	Model          string       `json:"model"`
	Messages       []oaMessage  `json:"messages"`
	Temperature    float64      `json:"temperature"`
	TopP           float64      `json:"top_p"`
	Seed           int          `json:"seed"`
	MaxTokens      int          `json:"max_tokens,omitempty"` // deprecated; model.max_tokens_field
	Stream         bool         `json:"stream"`
	ResponseFormat *oaRespFomat `json:"response_format,omitempty"`

	MaxCompletionTokens int    `json:"max_completion_tokens,omitempty"`
	ReasoningEffort     string `json:"reasoning_effort,omitempty"`
	// ChatTemplateKwargs go to the model's chat template in vLLM and
	// SGLang; enable_thinking switches thinking models (Qwen3 and kin).
	ChatTemplateKwargs map[string]any `json:"chat_template_kwargs,omitempty"`
}

type oaRespFomat struct {
	Type       string        `json:"type"`
	JSONSchema *oaJSONSchema `json:"json_schema,omitempty"`
}

type oaJSONSchema struct {
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema"`
	Strict bool            `json:"strict"`
}

type oaResponse struct {
	Choices []struct {
		Message struct {
			Content          *string `json:"content"`
			ReasoningContent string  `json:"reasoning_content"` // vLLM, SGLang
			Reasoning        string  `json:"reasoning"`         // Ollama /v1
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

type oaError struct {
	Error json.RawMessage `json:"error"`
}

// send makes one request and decodes a JSON answer into out.
func (p *openaiProvider) send(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return &permanentError{fmt.Errorf("encode request: %w", err)}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base.JoinPath(path).String(), rd)
	if err != nil {
		return &permanentError{err}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if p.key != "" {
		req.Header.Set("Authorization", "Bearer "+p.key)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return p.redact(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return p.redact(fmt.Errorf("read answer: %w", err))
	}
	if resp.StatusCode >= 400 {
		return p.redact(&statusError{Code: resp.StatusCode, Message: errorMessage(b)})
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("malformed answer (%d bytes): %w", len(b), err)
	}
	return nil
}

// errorMessage digs the message out of an OpenAI-style error body
// ({"error": {"message": …}} or {"error": "…"}), or returns the body's start.
func errorMessage(b []byte) string {
	var e oaError
	if json.Unmarshal(b, &e) == nil && len(e.Error) > 0 {
		var s string
		if json.Unmarshal(e.Error, &s) == nil {
			return s
		}
		var o struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(e.Error, &o) == nil && o.Message != "" {
			return o.Message
		}
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// redact removes the API key from an error's text, in case a server or
// proxy echoes the request headers.
func (p *openaiProvider) redact(err error) error { return redactKey(p.key, err) }

// Prepare implements provider: the model must be among /models. There is no
// pull and no digest in this API.
func (p *openaiProvider) Prepare(ctx context.Context) (ModelInfo, error) {
	info := ModelInfo{Provider: "openai", Host: redact.URL(p.base.String()), Model: p.cfg.Model}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if _, err := p.retry.do(ctx, "list models", func(ctx context.Context) error {
		return p.send(ctx, http.MethodGet, "models", nil, &list)
	}); err != nil {
		return info, fmt.Errorf("%s: %w", redact.URL(p.base.String()), err)
	}
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	if !slices.Contains(ids, p.cfg.Model) {
		return info, fmt.Errorf("model %q is not served at %s (served: %s); start the server with it or fix model.model",
			p.cfg.Model, redact.URL(p.base.String()), strings.Join(ids, ", "))
	}
	return info, nil
}

// Chat implements provider with one non-streamed /chat/completions call.
func (p *openaiProvider) Chat(ctx context.Context, msgs []datasets.Message, opt callOptions) (callResult, error) {
	req := oaRequest{Model: p.cfg.Model, Temperature: opt.Temperature, TopP: opt.TopP, Seed: opt.Seed, ReasoningEffort: opt.ReasoningEffort}
	if p.maxTokens == "max_tokens" {
		req.MaxTokens = opt.MaxTokens
	} else {
		req.MaxCompletionTokens = opt.MaxTokens
	}
	if p.ollamaV1 {
		if !opt.Think {
			req.ReasoningEffort = "none"
		}
	} else {
		req.ChatTemplateKwargs = map[string]any{"enable_thinking": opt.Think}
	}
	for _, m := range msgs {
		req.Messages = append(req.Messages, oaMessage{Role: m.Role, Content: m.Content})
	}
	if opt.Structured {
		req.ResponseFormat = &oaRespFomat{Type: "json_schema", JSONSchema: &oaJSONSchema{Name: "candidate", Schema: json.RawMessage(answerSchema), Strict: true}}
	}
	start := time.Now()
	var resp oaResponse
	if err := p.send(ctx, http.MethodPost, "chat/completions", req, &resp); err != nil {
		return callResult{}, err
	}
	if len(resp.Choices) == 0 {
		return callResult{}, errors.New("malformed answer: no choices")
	}
	c := resp.Choices[0]
	if c.Message.Content == nil && c.FinishReason == "" {
		return callResult{}, errors.New("malformed answer: no message content and no finish_reason")
	}
	r := callResult{DoneReason: c.FinishReason, Seconds: time.Since(start).Seconds()}
	if c.Message.Content != nil {
		r.Content = *c.Message.Content
	}
	r.Thinking = c.Message.ReasoningContent
	if r.Thinking == "" {
		r.Thinking = c.Message.Reasoning
	}
	if resp.Usage != nil {
		r.PromptTokens, r.CompletionTokens = resp.Usage.PromptTokens, resp.Usage.CompletionTokens
	}
	return r, nil
}
