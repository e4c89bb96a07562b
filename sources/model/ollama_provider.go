package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/envconfig"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"kforge/datasets"
)

// ollamaProvider speaks Ollama's native API through the official client.
type ollamaProvider struct {
	client   *api.Client
	base     *url.URL
	cfg      Config
	retry    retryPolicy
	log      *slog.Logger
	progress io.Writer
}

// ollamaBase is cfg.Host, or OLLAMA_HOST (the official client's rule) when empty.
func ollamaBase(host string) (*url.URL, error) {
	if host == "" {
		return envconfig.Host(), nil
	}
	if !strings.Contains(host, "://") {
		host = "http://" + host
	}
	u, err := url.Parse(host)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("model.host %q is not a server URL", host)
	}
	return u, nil
}

// normalizeOllamaModel adds the implicit :latest tag, so "m" and "m:latest"
// share cache entries.
func normalizeOllamaModel(name string) string {
	last := name[strings.LastIndex(name, "/")+1:]
	if !strings.Contains(last, ":") {
		return name + ":latest"
	}
	return name
}

func (p *ollamaProvider) Name() string { return "ollama" }

// Prepare implements provider: api Show, api Pull when missing and allowed,
// and the digest from api List (Show does not report it).
func (p *ollamaProvider) Prepare(ctx context.Context) (ModelInfo, error) {
	info := ModelInfo{Provider: "ollama", Host: p.base.Redacted(), Model: p.cfg.Model}
	show, err := p.show(ctx)
	if isNotFound(err) {
		if !p.cfg.Pull {
			return info, fmt.Errorf("model %q is not on the Ollama server at %s: run `ollama pull %s` there, or allow pulling (model.pull: true, no --no-pull)",
				p.cfg.Model, p.base.Redacted(), p.cfg.Model)
		}
		if err := p.pull(ctx); err != nil {
			return info, err
		}
		show, err = p.show(ctx)
	}
	if err != nil {
		return info, fmt.Errorf("ollama show %s at %s: %w", p.cfg.Model, p.base.Redacted(), err)
	}
	info.Family = show.Details.Family
	info.ParamSize = show.Details.ParameterSize
	info.Quantization = show.Details.QuantizationLevel
	info.Parameters = strings.TrimSpace(show.Parameters)
	for _, c := range show.Capabilities {
		info.Capabilities = append(info.Capabilities, string(c))
	}
	if p.cfg.Think && len(info.Capabilities) > 0 && !slices.Contains(info.Capabilities, "thinking") {
		return info, fmt.Errorf("model %q does not support thinking (capabilities: %s): set model.think: false",
			p.cfg.Model, strings.Join(info.Capabilities, ", "))
	}
	var list *api.ListResponse
	if _, err := p.retry.do(ctx, "ollama list", func(ctx context.Context) (err error) {
		list, err = p.client.List(ctx)
		return err
	}); err != nil {
		return info, err
	}
	want := normalizeOllamaModel(p.cfg.Model)
	for _, m := range list.Models {
		if normalizeOllamaModel(m.Name) == want || normalizeOllamaModel(m.Model) == want {
			info.Digest = m.Digest
		}
	}
	if info.Digest == "" {
		p.log.Warn("the server does not list the model; its digest is not recorded", "model", p.cfg.Model)
	}
	return info, nil
}

func (p *ollamaProvider) show(ctx context.Context) (*api.ShowResponse, error) {
	var show *api.ShowResponse
	_, err := p.retry.do(ctx, "ollama show", func(ctx context.Context) (err error) {
		show, err = p.client.Show(ctx, &api.ShowRequest{Model: p.cfg.Model})
		if isNotFound(err) {
			return &permanentError{err}
		}
		return err
	})
	return show, err
}

func isNotFound(err error) bool {
	var se api.StatusError
	return errors.As(err, &se) && se.StatusCode == http.StatusNotFound
}

// pull downloads the model, showing a bar per layer on a terminal and log
// lines otherwise. A pull is not retried: Ollama resumes partial layers, so
// running the build again is the retry.
func (p *ollamaProvider) pull(ctx context.Context) error {
	p.log.Info("pulling model", "model", p.cfg.Model, "host", p.base.Redacted())
	tty := false
	if f, ok := p.progress.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	pp := &pullProgress{out: p.progress, tty: tty, log: p.log, bars: map[string]*progressbar.ProgressBar{}, logged: map[string]int64{}}
	stream := true
	sawSuccess := false
	err := p.client.Pull(ctx, &api.PullRequest{Model: p.cfg.Model, Stream: &stream}, func(r api.ProgressResponse) error {
		if r.Status == "success" {
			sawSuccess = true
		}
		pp.update(r)
		return nil
	})
	pp.finish()
	if err == nil && !sawSuccess {
		err = errors.New("the pull stream ended before success")
	}
	if err != nil {
		return fmt.Errorf("ollama pull %s at %s: %w", p.cfg.Model, p.base.Redacted(), err)
	}
	p.log.Info("pulled model", "model", p.cfg.Model)
	return nil
}

// pullProgress renders pull progress: one bar per layer on a terminal, a
// log line per layer every quarter otherwise.
type pullProgress struct {
	out    io.Writer
	tty    bool
	log    *slog.Logger
	bars   map[string]*progressbar.ProgressBar
	logged map[string]int64 // last quarter logged per digest
	status string
}

func (pp *pullProgress) update(r api.ProgressResponse) {
	if r.Digest == "" || r.Total <= 0 {
		if r.Status != pp.status {
			pp.status = r.Status
			if pp.tty {
				fmt.Fprintln(pp.out, r.Status)
			} else {
				pp.log.Info("pull", "status", r.Status)
			}
		}
		return
	}
	short := strings.TrimPrefix(r.Digest, "sha256:")
	short = short[:min(12, len(short))]
	if pp.tty {
		bar, ok := pp.bars[r.Digest]
		if !ok {
			bar = progressbar.NewOptions64(r.Total, progressbar.OptionSetWriter(pp.out),
				progressbar.OptionSetDescription("pulling "+short), progressbar.OptionShowBytes(true),
				progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionOnCompletion(func() { fmt.Fprintln(pp.out) }))
			pp.bars[r.Digest] = bar
		}
		_ = bar.Set64(r.Completed)
		return
	}
	q := r.Completed * 4 / r.Total
	if last, ok := pp.logged[r.Digest]; !ok || q > last {
		pp.logged[r.Digest] = q
		pp.log.Info("pull", "layer", short, "completed", r.Completed, "total", r.Total, "percent", r.Completed*100/r.Total)
	}
}

func (pp *pullProgress) finish() {
	for _, b := range pp.bars {
		_ = b.Finish()
	}
}

// Chat implements provider with a streamed /api/chat call.
func (p *ollamaProvider) Chat(ctx context.Context, msgs []datasets.Message, opt callOptions) (callResult, error) {
	stream := true
	req := &api.ChatRequest{
		Model:    p.cfg.Model,
		Messages: make([]api.Message, len(msgs)),
		Stream:   &stream,
		Options: map[string]any{
			"temperature": opt.Temperature,
			"top_p":       opt.TopP,
			"seed":        opt.Seed,
		},
	}
	if opt.NumCtx > 0 {
		req.Options["num_ctx"] = opt.NumCtx
	}
	if opt.MaxTokens > 0 {
		req.Options["num_predict"] = opt.MaxTokens
	}
	for i, m := range msgs {
		req.Messages[i] = api.Message{Role: m.Role, Content: m.Content}
	}
	if opt.Structured {
		req.Format = json.RawMessage(answerSchema)
	}
	if opt.Think {
		req.Think = &api.ThinkValue{Value: true}
	}
	start := time.Now()
	var content, thinking strings.Builder
	var final *api.ChatResponse
	err := p.client.Chat(ctx, req, func(r api.ChatResponse) error {
		content.WriteString(r.Message.Content)
		thinking.WriteString(r.Message.Thinking)
		if r.Done {
			final = &r
		}
		return nil
	})
	if err != nil {
		return callResult{}, err
	}
	if final == nil {
		return callResult{}, errTruncated
	}
	return callResult{
		Content:          content.String(),
		Thinking:         thinking.String(),
		DoneReason:       final.DoneReason,
		PromptTokens:     final.PromptEvalCount,
		CompletionTokens: final.EvalCount,
		Seconds:          time.Since(start).Seconds(),
	}, nil
}
