package model

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/envconfig"

	"kforge/datasets"
	"kforge/pipeline"
)

// roundSeedStride separates the seeds of rounds: sample i of round r uses
// Seed + i + r·roundSeedStride (Samples is at most 1024).
const roundSeedStride = 1 << 16

// Request asks for one candidate of one task in one round.
type Request struct {
	Task  *datasets.Task
	Round int // 0 is the first round
	// Parent is the best verified candidate so far (nil in round 0) and
	// Verdict its verdict; the parent's Messages are the conversation that a
	// refinement round continues.
	Parent   *datasets.Variant
	Verdict  *datasets.Verdict
	Arch     string
	Baseline float64 // reference time in ms when known, else 0
}

// Generator writes candidates through a model server, every call through the
// cache. It is safe for concurrent use; at most Config.Concurrency calls are
// in flight at once.
type Generator struct {
	cfg     Config
	cache   pipeline.Cache
	log     *slog.Logger
	stats   *pipeline.Stats
	prov    provider
	model   string // the model as keyed in the cache: no host, explicit tag
	prompts *prompts
	retry   retryPolicy
	sem     chan struct{}

	mu   sync.RWMutex
	info ModelInfo
}

// New returns a generator for cfg. It checks the configuration and the API
// key's presence, but talks to no server (see Prepare).
func New(cfg Config, cache pipeline.Cache, stats *pipeline.Stats, log *slog.Logger) (*Generator, error) {
	if cfg.Model == "" {
		return nil, errors.New("model.model is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if stats == nil {
		stats = pipeline.NewStats()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = defaultKeepAlive
	}
	if ps := cfg.Check(); len(ps) > 0 {
		return nil, fmt.Errorf("model.%s: %s", ps[0].Key, ps[0].Msg)
	}
	if cfg.Concurrency <= 0 {
		// Neither Ollama nor vLLM reports how many requests it works on at
		// once; one sent beyond that waits in the server's queue, on the
		// attempt's clock, and times out instead of being answered.
		switch cfg.Provider {
		case "", "ollama":
			cfg.Concurrency = 1
			log.Info("model.concurrency not set: one request at a time, as Ollama works on OLLAMA_NUM_PARALLEL requests at once (default 1) and does not report it; set model.concurrency to the server's OLLAMA_NUM_PARALLEL to send more")
		default:
			cfg.Concurrency = defaultOpenAIConcurrency
			log.Info("model.concurrency not set: 8 requests at a time; set model.concurrency to what the server serves at once", "concurrency", cfg.Concurrency)
		}
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = defaultBackoff
	}
	if cfg.MaxRegionBytes <= 0 {
		cfg.MaxRegionBytes = defaultMaxRegion
	}
	p, err := loadPrompts()
	if err != nil {
		return nil, err
	}
	g := &Generator{cfg: cfg, cache: cache, log: log, stats: stats, prompts: p,
		sem: make(chan struct{}, cfg.Concurrency)}
	g.retry = retryPolicy{Retries: cfg.Retries, Base: cfg.Backoff, Timeout: cfg.Timeout, Log: log}
	hc := newHTTPClient(cfg.Concurrency)
	switch cfg.Provider {
	case "", "ollama":
		base, err := ollamaBase(cfg.Host)
		if err != nil {
			return nil, err
		}
		var ollamaKey string
		if cfg.APIKeyEnv != "" {
			// Ollama behind an authenticating proxy: the key goes in the
			// Authorization header, as the OpenAI-compatible provider sends it.
			key := os.Getenv(cfg.APIKeyEnv)
			if key == "" {
				return nil, fmt.Errorf("model.api_key_env names %s, which is not set", cfg.APIKeyEnv)
			}
			hc = &http.Client{Transport: bearerTransport{base: hc.Transport, key: key}}
			ollamaKey = key
		}
		g.prov = &ollamaProvider{client: api.NewClient(base, hc), http: hc, key: ollamaKey, base: base, cfg: cfg, retry: g.retry, log: log, progress: os.Stderr,
			official: base.Hostname() == "ollama.com" || envconfig.UseAuth()}
		g.model = normalizeOllamaModel(cfg.Model)
	case "openai":
		base, err := openaiBase(cfg.Host)
		if err != nil {
			return nil, err
		}
		op := &openaiProvider{base: base, http: hc, cfg: cfg, retry: g.retry,
			// Ollama's /v1 reads max_tokens only, and turns thinking off
			// through reasoning_effort "none" rather than the chat template.
			ollamaV1:  cfg.Host == "",
			maxTokens: cfg.MaxTokensField}
		if op.maxTokens == "" || op.maxTokens == "auto" {
			op.maxTokens = "max_completion_tokens"
			if op.ollamaV1 {
				op.maxTokens = "max_tokens"
			}
		}
		if cfg.APIKeyEnv != "" {
			op.key = os.Getenv(cfg.APIKeyEnv)
			if op.key == "" {
				return nil, fmt.Errorf("model.api_key_env names %s, which is not set", cfg.APIKeyEnv)
			}
		}
		g.prov = op
		g.model = cfg.Model
	default:
		return nil, fmt.Errorf("model.provider %q is not one of ollama, openai", cfg.Provider)
	}
	g.info = ModelInfo{Provider: g.prov.Name(), Model: cfg.Model}
	return g, nil
}

// Defaults for a Config built in code rather than decoded from a recipe.
const (
	defaultKeepAlive         = 30 * time.Minute
	defaultOpenAIConcurrency = 8
	defaultTimeout           = 10 * time.Minute
	defaultBackoff           = time.Second
	defaultMaxRegion         = 64 << 10
)

// Concurrency is how many model requests are in flight at most: the
// recipe's model.concurrency, or the provider's default when it is 0. The
// build sizes its generate stage by it.
func (g *Generator) Concurrency() int { return g.cfg.Concurrency }

// SetProgressOutput sets where a model pull shows its progress (stderr by
// default; a bar when it is a terminal, log lines otherwise).
func (g *Generator) SetProgressOutput(w io.Writer) {
	if p, ok := g.prov.(*ollamaProvider); ok {
		p.progress = w
	}
}

// Prepare checks the server and the model (pulling it when allowed) before
// any work starts, and records the model's digest.
func (g *Generator) Prepare(ctx context.Context) error {
	info, err := g.prov.Prepare(ctx)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.info = info
	g.mu.Unlock()
	g.log.Info("model ready", "provider", info.Provider, "model", info.Model, "digest", info.Digest, "host", info.Host)
	return nil
}

// Model describes the model, with its digest and parameters once Prepare ran.
func (g *Generator) Model() ModelInfo {
	g.mu.RLock()
	defer g.mu.RUnlock()
	info := g.info
	info.Capabilities = slices.Clone(info.Capabilities)
	return info
}

// PromptVersion is the version of the prompt templates for a task kind.
func (g *Generator) PromptVersion(kind string) (string, error) { return g.prompts.version(kind) }

// Conversation returns the messages that Generate sends for req: the system
// and user turns for round 0, the parent's conversation continued with the
// verifier's feedback afterwards. Earlier answers keep their reasoning here,
// for the record; it is not sent back (see wire).
func (g *Generator) Conversation(req Request) ([]datasets.Message, error) {
	if req.Task == nil {
		return nil, errors.New("request without a task")
	}
	if req.Round == 0 {
		return g.prompts.first(req, g.cfg)
	}
	if req.Parent == nil || len(req.Parent.Messages) == 0 {
		return nil, fmt.Errorf("round %d of task %s: no parent conversation to continue", req.Round, req.Task.ID)
	}
	fb, err := g.prompts.feedback(req, g.cfg)
	if err != nil {
		return nil, err
	}
	return append(slices.Clone(req.Parent.Messages), fb), nil
}

// wire is the conversation as sent: earlier reasoning is left out, since it
// costs context and the answers carry what the model decided.
func wire(msgs []datasets.Message) []datasets.Message {
	out := make([]datasets.Message, len(msgs))
	for i, m := range msgs {
		out[i] = datasets.Message{Role: m.Role, Content: m.Content}
	}
	return out
}

// options are the generation options of one sample of one round.
func (g *Generator) options(round, sample int) callOptions {
	return callOptions{
		Temperature: g.cfg.Temperature, TopP: g.cfg.TopP,
		Seed:   g.cfg.Seed + sample + round*roundSeedStride,
		NumCtx: g.cfg.NumCtx, MaxTokens: g.cfg.MaxTokens,
		Structured: g.cfg.Structured, Think: g.cfg.Think, ReasoningEffort: g.cfg.ReasoningEffort,
	}
}

// Generate returns sample number `sample` for req. A model answer without a
// usable candidate is a Variant with Rejected set, not an error; an error means
// the request itself failed after its retries.
func (g *Generator) Generate(ctx context.Context, req Request, sample int) (datasets.Variant, error) {
	msgs, err := g.Conversation(req)
	if err != nil {
		return datasets.Variant{}, err
	}
	version, err := g.prompts.version(req.Task.Kind)
	if err != nil {
		return datasets.Variant{}, err
	}
	opt := g.options(req.Round, sample)
	sent := wire(msgs)
	key := pipeline.NewKey("llm", g.prov.Name(), g.model, sent, opt, opt.Seed, sample, req.Round)
	var paid *callResult
	res, hit, err := pipeline.Cached(ctx, g.cache, key, func(ctx context.Context) (callResult, error) {
		r, err := g.call(ctx, sent, opt)
		if err == nil {
			paid = &r
		}
		return r, err
	})
	if err != nil && paid != nil {
		// The call succeeded but the cache could not keep it: use the answer
		// rather than lose what was paid for; a rerun will ask again.
		g.log.Warn("model answer not cached", "task", req.Task.ID, "err", err)
		res, hit, err = *paid, false, nil
	}
	if err != nil {
		g.stats.Add("llm.errors", 1)
		return datasets.Variant{}, fmt.Errorf("task %s round %d sample %d: %w", req.Task.ID, req.Round, sample, err)
	}
	if hit {
		g.stats.Add("llm.cache_hits", 1)
	}
	info := g.Model()
	v := datasets.Variant{
		TaskID: req.Task.ID, Round: req.Round, Sample: sample,
		Provider: info.Provider, Model: g.cfg.Model, ModelDigest: info.Digest,
		PromptVersion: version,
		Messages:      append(msgs, datasets.Message{Role: "assistant", Content: res.Content, Thinking: res.Thinking}),
		Sampling: datasets.Sampling{Temperature: opt.Temperature, TopP: opt.TopP, Seed: opt.Seed,
			NumCtx: opt.NumCtx, MaxTokens: opt.MaxTokens},
		PromptTokens: res.PromptTokens, CompletionTokens: res.CompletionTokens,
		DurationSeconds: res.Seconds, Cached: hit,
	}
	if req.Parent != nil {
		v.Parent = req.Parent.ID
	}
	x := extract(res, req.Task.Region.Text, g.cfg.Structured, g.cfg.MaxRegionBytes)
	v.Region, v.Reasoning, v.Rejected = x.Region, x.Reasoning, x.Rejected
	v.ID = datasets.VariantID(&v)
	g.stats.Add("generated", 1)
	if v.Rejected != "" {
		g.stats.Reject("extract", v.Rejected)
	}
	return v, nil
}

// call makes one model call with retries, within the concurrency bound, and
// accounts for it. The slot is taken before the first attempt starts its
// clock, so time spent waiting for one never counts against model.timeout.
func (g *Generator) call(ctx context.Context, msgs []datasets.Message, opt callOptions) (callResult, error) {
	select {
	case g.sem <- struct{}{}:
	case <-ctx.Done():
		return callResult{}, ctx.Err()
	}
	defer func() { <-g.sem }()
	var res callResult
	retries, err := g.retry.do(ctx, g.prov.Name()+" chat", func(ctx context.Context) (err error) {
		res, err = g.prov.Chat(ctx, msgs, opt)
		return err
	})
	g.stats.Add("llm.retries", int64(retries))
	if err != nil {
		return res, err
	}
	g.stats.Add("llm.calls", 1)
	g.stats.AddFloat("llm.prompt_tokens", float64(res.PromptTokens))
	g.stats.AddFloat("llm.completion_tokens", float64(res.CompletionTokens))
	g.stats.AddFloat("llm.seconds", res.Seconds)
	return res, nil
}

// rank orders verdicts by how far a candidate got: nothing, through the gate,
// compiled, correct on every run, kept (correct and faster on a GPU).
func rank(v *datasets.Verdict) int {
	switch {
	case v == nil:
		return -1
	case v.Kept():
		return 4
	case v.Compile.OK && v.CandidateRunsPass():
		return 3
	case v.Compile.OK:
		return 2
	case v.Gate.OK:
		return 1
	}
	return 0
}

// minGain is the relative speedup gain that counts as an improvement between
// two kept verdicts; smaller differences are measurement noise.
const minGain = 0.01

// Improved reports whether candidate beats best (the best so far), so the
// build knows which candidate to refine and whether to ask for another round.
// A candidate that got further (gate, compile, correct, kept) improves; among
// kept ones, a speedup at least 1% higher does. Anything improves on no verdict
// except no verdict.
func Improved(best, candidate *datasets.Verdict) bool {
	rb, rc := rank(best), rank(candidate)
	if candidate == nil {
		return false
	}
	if rc != rb {
		return rc > rb
	}
	if rc >= 3 {
		return candidate.Speedup > best.Speedup*(1+minGain)
	}
	return false
}
