package model

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"kforge/internal/redact"
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
	client *api.Client
	http   *http.Client
	base   *url.URL
	key    string // api_key_env's value, sent by the client's transport; never in an error
	// official sends chats through the official client's Chat; otherwise
	// chatStream does (see there). Signed requests (ollama.com, OLLAMA_AUTH)
	// always use the official client.
	official bool
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
	info, err := p.prepare(ctx)
	return info, redactKey(p.key, err)
}

func (p *ollamaProvider) prepare(ctx context.Context) (ModelInfo, error) {
	info := ModelInfo{Provider: "ollama", Host: redact.URL(p.base.String()), Model: p.cfg.Model}
	show, err := p.show(ctx)
	if isNotFound(err) {
		if !p.cfg.Pull {
			return info, fmt.Errorf("model %q is not on the Ollama server at %s: run `ollama pull %s` there, or allow pulling (model.pull: true, no --no-pull)",
				p.cfg.Model, redact.URL(p.base.String()), p.cfg.Model)
		}
		if err := p.pull(ctx); err != nil {
			return info, err
		}
		show, err = p.show(ctx)
	}
	if err != nil {
		return info, fmt.Errorf("ollama show %s at %s: %w", p.cfg.Model, redact.URL(p.base.String()), err)
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
	p.log.Info("pulling model", "model", p.cfg.Model, "host", redact.URL(p.base.String()))
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
		return fmt.Errorf("ollama pull %s at %s: %w", p.cfg.Model, redact.URL(p.base.String()), err)
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
	// Sent either way: a thinking model thinks when think is left out.
	req.Think = &api.ThinkValue{Value: opt.Think}
	if opt.Think && opt.ReasoningEffort != "" {
		req.Think.Value = opt.ReasoningEffort
	}
	// Renewed by every request, so the model stays loaded between rounds
	// and unloads on its own once the build is done.
	req.KeepAlive = &api.Duration{Duration: p.cfg.KeepAlive}
	start := time.Now()
	var content, thinking strings.Builder
	var final *api.ChatResponse
	chat := p.chatStream
	if p.official {
		chat = p.client.Chat
	}
	err := chat(ctx, req, func(r api.ChatResponse) error {
		content.WriteString(r.Message.Content)
		thinking.WriteString(r.Message.Thinking)
		if r.Done {
			final = &r
		}
		return nil
	})
	if err != nil {
		return callResult{}, redactKey(p.key, err)
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

// maxLine bounds one NDJSON line of an answer, as the official client does.
const maxLine = 8 << 20

// chatStream is the official client's Chat (same request and response types,
// same error types: api.StatusError, api.AuthorizationError) without its
// fixed 8 MiB line buffer per call, which costs about a millisecond of CPU and
// a gigabyte of allocation per 128 calls and held a 32-way run on a 2-core
// host to 83% of the ideal request rate (see BenchmarkThroughput200ms). Lines
// are read into a buffer that grows only as far as the longest line. Unlike
// the official client it also reports a read error mid-stream instead of
// ending quietly.
func (p *ollamaProvider) chatStream(ctx context.Context, req *api.ChatRequest, fn api.ChatResponseFunc) error {
	body, err := json.Marshal(req)
	if err != nil {
		return &permanentError{fmt.Errorf("encode chat request: %w", err)}
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base.JoinPath("/api/chat").String(), bytes.NewReader(body))
	if err != nil {
		return &permanentError{err}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/x-ndjson")
	hreq.Header.Set("User-Agent", "kforge")
	resp, err := p.http.Do(hreq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 8<<10)
	var line []byte
	for {
		line = line[:0]
		var rerr error
		for {
			frag, err := br.ReadSlice('\n')
			line = append(line, frag...)
			if err != bufio.ErrBufferFull {
				rerr = err
				break
			}
			if len(line) > maxLine {
				return fmt.Errorf("answer line longer than %d bytes", maxLine)
			}
		}
		if l := bytes.TrimSpace(line); len(l) > 0 {
			if err := chatLine(resp, l, fn); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("read answer: %w", rerr)
		}
	}
}

// chatLine handles one NDJSON line as the official client does.
func chatLine(resp *http.Response, line []byte, fn api.ChatResponseFunc) error {
	var e struct {
		Error     string `json:"error,omitempty"`
		SigninURL string `json:"signin_url,omitempty"`
	}
	if err := json.Unmarshal(line, &e); err != nil {
		if resp.StatusCode >= http.StatusBadRequest {
			return api.StatusError{StatusCode: resp.StatusCode, Status: resp.Status, ErrorMessage: string(line)}
		}
		return fmt.Errorf("malformed answer line: %.200s", line)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return api.AuthorizationError{StatusCode: resp.StatusCode, Status: resp.Status, SigninURL: e.SigninURL}
	case resp.StatusCode >= http.StatusBadRequest:
		return api.StatusError{StatusCode: resp.StatusCode, Status: resp.Status, ErrorMessage: e.Error}
	case e.Error != "":
		return errors.New(e.Error)
	}
	var r api.ChatResponse
	if err := json.Unmarshal(line, &r); err != nil {
		return fmt.Errorf("malformed answer line: %w", err)
	}
	return fn(r)
}
