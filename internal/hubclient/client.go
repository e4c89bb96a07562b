// Package hubclient talks to the Hugging Face Hub's HTTP API: endpoint and
// token resolution, auth only for the Hub's own host, retries with the
// server's RateLimit/Retry-After advice, token redaction in every error and
// log line, the repository routes, LFS uploads (basic and multipart, in
// parallel) and file downloads. sinks/hub publishes with it; sources/replay
// downloads with it.
package hubclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"kforge/pipeline"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// DefaultEndpoint is the public Hub.
const DefaultEndpoint = "https://huggingface.co"

// ClientOptions configure a Client. The zero value talks to the public Hub
// with the token from the process environment.
type ClientOptions struct {
	// Endpoint is the Hub URL; empty means HF_ENDPOINT or DefaultEndpoint.
	Endpoint string
	// Getenv reads the environment (HF_TOKEN, HF_HOME, HF_ENDPOINT, …);
	// nil means os.Getenv.
	Getenv func(string) string
	// HTTP is the transport; nil means a client with no overall timeout
	// (each attempt is bounded by AttemptTimeout).
	HTTP *http.Client
	// Log receives request and retry events; the token is masked in it.
	Log *slog.Logger
	// UserAgent names the caller, e.g. "kforge/v1.2.3".
	UserAgent string
	// Retry is the retry policy; zero fields take the defaults.
	Retry RetryPolicy
	// AttemptTimeout bounds one HTTP attempt, body included (default 10 min).
	AttemptTimeout time.Duration
	// Anonymous allows running without a token (read-only use).
	Anonymous bool
	// LFSParallel is how many LFS objects upload at once (default 4).
	LFSParallel int
	// OnUploaded, when set, is called with an object's size each time an
	// LFS object has been uploaded and verified (from several goroutines).
	OnUploaded func(bytes int64)
}

// DefaultLFSParallel is how many LFS objects upload at once by default.
const DefaultLFSParallel = 4

// RetryPolicy is how transient failures (408, 429, 5xx, network errors) are
// retried: exponential backoff from Base to Max, or what the server's
// Retry-After / RateLimit headers ask for, at most MaxWait.
type RetryPolicy struct {
	Attempts int           // total tries per request (default 6: 1 + 5 retries)
	Base     time.Duration // first backoff (default 1s)
	Max      time.Duration // backoff cap (default 8s)
	MaxWait  time.Duration // cap on a server-requested wait (default 10 min)
	// Sleep waits d or until ctx ends; nil means a timer. Tests record it.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = 6
	}
	if p.Base <= 0 {
		p.Base = time.Second
	}
	if p.Max <= 0 {
		p.Max = 8 * time.Second
	}
	if p.MaxWait <= 0 {
		p.MaxWait = 10 * time.Minute
	}
	if p.Sleep == nil {
		p.Sleep = pipeline.Sleep
	}
	return p
}

// Client talks to the Hub's HTTP API. It adds auth only to requests for the
// Hub's own host, retries transient failures, and masks the token in every
// error and log line it produces.
type Client struct {
	endpoint *url.URL
	tok      secret
	http     *http.Client
	log      *slog.Logger
	ua       string
	retry    RetryPolicy
	attempt  time.Duration
	// lfsParallel bounds concurrent LFS object uploads.
	lfsParallel int
	onUploaded  func(int64)
}

// NewClient resolves the endpoint and token and returns a client.
func NewClient(opt ClientOptions) (*Client, error) {
	getenv := opt.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	ep := opt.Endpoint
	if ep == "" {
		ep = getenv("HF_ENDPOINT")
	}
	if ep == "" {
		ep = DefaultEndpoint
	}
	u, err := url.Parse(strings.TrimRight(ep, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("hub endpoint %q: want http(s)://host", ep)
	}
	tok, err := resolveToken(getenv)
	if err != nil && !(opt.Anonymous && errors.Is(err, ErrNoToken)) {
		return nil, err
	}
	hc := &http.Client{}
	if opt.HTTP != nil {
		*hc = *opt.HTTP
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ua := opt.UserAgent
	if ua == "" {
		ua = "kforge"
	}
	ua += "; go/" + strings.TrimPrefix(runtime.Version(), "go")
	at := opt.AttemptTimeout
	if at <= 0 {
		at = 10 * time.Minute
	}
	par := opt.LFSParallel
	if par <= 0 {
		par = DefaultLFSParallel
	}
	c := &Client{endpoint: u, tok: tok, http: hc, ua: ua, retry: opt.Retry.withDefaults(), attempt: at, lfsParallel: par, onUploaded: opt.OnUploaded}
	c.log = slog.New(tok.handler(log.Handler()))
	next := hc.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		// Go keeps Authorization across ports of one host name; the token
		// must only go to the Hub's exact host:port.
		if !c.sameHost(req.URL.String()) {
			req.Header.Del("Authorization")
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return c, nil
}

// Authenticated reports whether the client has a token.
func (c *Client) Authenticated() bool { return !c.tok.empty() }

// RetryPolicy returns the client's retry policy, defaults filled in (for
// callers that retry a non-idempotent call themselves, like a commit).
func (c *Client) RetryPolicy() RetryPolicy { return c.retry }

// Log returns the client's logger; it masks the token.
func (c *Client) Log() *slog.Logger { return c.log }

// RedactErr masks the token in err's text, keeping the chain for errors.Is/As.
func (c *Client) RedactErr(err error) error { return c.tok.redactErr(err) }

// Redact masks the token (and other Hub tokens) in text.
func (c *Client) Redact(text string) string { return c.tok.redact(text) }

// Retryable reports whether a Hub status is transient (408, 429, 5xx).
func Retryable(status int) bool { return retryable(status) }

// Error is a failed Hub call. Its text never holds the token or a presigned
// URL's query.
type Error struct {
	Op        string // what was being done, e.g. "preupload"
	Method    string
	URL       string // without query
	Status    int    // 0 for a network failure
	Code      string // X-Error-Code, e.g. RepoNotFound
	Message   string // X-Error-Message or the body's error
	RequestID string
	Err       error // the network error, if any
	// RetryAfter is the wait the server asked for (RateLimit or
	// Retry-After), 0 if none.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hub %s: %s %s", e.Op, e.Method, e.URL)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request %s]", e.RequestID)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// StatusOf returns the HTTP status of a Hub error, or 0.
func StatusOf(err error) int {
	var he *Error
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}

// request is one logical call; do retries it.
type request struct {
	op     string
	method string
	url    string
	header http.Header
	// body returns a fresh reader per attempt; nil means no body.
	body  func() (io.Reader, int64, error)
	retry bool // false for calls that must not be repeated blindly (commit)
	// sink, when set, consumes a 2xx response body (downloads); otherwise
	// the body is read into response.body.
	sink func(*http.Response) error
}

type response struct {
	status int
	header http.Header
	body   []byte
}

const maxJSONBody = 64 << 20

// apiURL is the endpoint plus an already escaped path.
func (c *Client) apiURL(escapedPath string) string {
	return c.endpoint.String() + escapedPath
}

// jsonBody encodes v once and replays it on each attempt.
func jsonBody(v any) (func() (io.Reader, int64, error), error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return bytesBody(b), nil
}

func bytesBody(b []byte) func() (io.Reader, int64, error) {
	return func() (io.Reader, int64, error) { return bytes.NewReader(b), int64(len(b)), nil }
}

// doJSON sends v as JSON (nil: no body) and decodes the answer into out (nil: ignore).
func (c *Client) doJSON(ctx context.Context, op, method, u string, v, out any) (*response, error) {
	r := request{op: op, method: method, url: u, retry: true, header: http.Header{"Accept": {"application/json"}}}
	if v != nil {
		b, err := jsonBody(v)
		if err != nil {
			return nil, fmt.Errorf("hub %s: encode: %w", op, err)
		}
		r.body = b
		r.header.Set("Content-Type", "application/json")
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return resp, err
	}
	if out != nil {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return resp, c.tok.redactErr(&Error{Op: op, Method: method, URL: stripQuery(u), Status: resp.status,
				Message: "unexpected response body", Err: err})
		}
	}
	return resp, nil
}

// sameHost reports whether u is on the Hub's host, the only host that gets
// the token (presigned storage URLs must not: S3 rejects a second auth and
// the token must not leave the Hub).
func (c *Client) sameHost(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Scheme == c.endpoint.Scheme && p.Host == c.endpoint.Host
}

// do runs r with retries and returns the 2xx response or an *Error.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	var last error
	for attempt := 1; ; attempt++ {
		resp, wait, err := c.once(ctx, r)
		if err == nil {
			return resp, nil
		}
		last = c.tok.redactErr(err)
		if wait < 0 || !r.retry || attempt >= c.retry.Attempts || ctx.Err() != nil {
			return resp, last
		}
		if wait == 0 {
			wait = c.retry.Base << (attempt - 1)
			if wait > c.retry.Max || wait <= 0 {
				wait = c.retry.Max
			}
		}
		if wait > c.retry.MaxWait {
			wait = c.retry.MaxWait
		}
		c.log.Warn("hub: retrying", "op", r.op, "attempt", attempt, "wait", wait, "err", last)
		if err := c.retry.Sleep(ctx, wait); err != nil {
			return resp, fmt.Errorf("%w (gave up waiting to retry: %v)", last, err)
		}
	}
}

// once makes one attempt. wait is -1 for a final failure, 0 for a transient
// one with default backoff, >0 for a transient one with a server-given wait.
func (c *Client) once(ctx context.Context, r request) (*response, time.Duration, error) {
	actx, cancel := context.WithTimeout(ctx, c.attempt)
	defer cancel()
	var body io.Reader
	var size int64
	if r.body != nil {
		var err error
		if body, size, err = r.body(); err != nil {
			return nil, -1, fmt.Errorf("hub %s: %w", r.op, err)
		}
	}
	req, err := http.NewRequestWithContext(actx, r.method, r.url, body)
	if err != nil {
		return nil, -1, &Error{Op: r.op, Method: r.method, URL: stripQuery(r.url), Err: err}
	}
	if body != nil {
		req.ContentLength = size
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if c.sameHost(r.url) {
		req.Header.Set("User-Agent", c.ua)
		if !c.tok.empty() {
			req.Header.Set("Authorization", "Bearer "+c.tok.reveal())
		}
	}
	start := time.Now()
	hr, err := c.http.Do(req)
	if err != nil {
		e := &Error{Op: r.op, Method: r.method, URL: stripQuery(r.url), Err: netCause(err)}
		if ctx.Err() != nil {
			return nil, -1, e
		}
		return nil, 0, e // timeouts, resets, dropped connections: transient
	}
	defer hr.Body.Close()
	c.log.Debug("hub: call", "op", r.op, "method", r.method, "url", stripQuery(r.url), "status", hr.StatusCode, "took", time.Since(start).Round(time.Millisecond))
	resp := &response{status: hr.StatusCode, header: hr.Header}
	if hr.StatusCode/100 == 2 {
		if r.sink != nil {
			if err := r.sink(hr); err != nil {
				if ctx.Err() == nil && isNetErr(err) {
					return resp, 0, &Error{Op: r.op, Method: r.method, URL: stripQuery(r.url), Status: hr.StatusCode, Err: netCause(err)}
				}
				return resp, -1, err
			}
			return resp, 0, nil
		}
		resp.body, err = io.ReadAll(io.LimitReader(hr.Body, maxJSONBody))
		if err != nil {
			e := &Error{Op: r.op, Method: r.method, URL: stripQuery(r.url), Status: hr.StatusCode, Err: netCause(err)}
			if ctx.Err() != nil {
				return resp, -1, e
			}
			return resp, 0, e
		}
		return resp, 0, nil
	}
	resp.body, _ = io.ReadAll(io.LimitReader(hr.Body, 1<<20))
	e := &Error{
		Op: r.op, Method: r.method, URL: stripQuery(r.url), Status: hr.StatusCode,
		Code:      hr.Header.Get("X-Error-Code"),
		Message:   c.tok.redact(errorMessage(hr.Header, resp.body)),
		RequestID: requestID(hr.Header),
	}
	if !retryable(hr.StatusCode) {
		return resp, -1, e
	}
	e.RetryAfter = serverWait(hr.Header, time.Now())
	return resp, e.RetryAfter, e
}

func retryable(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// serverWait reads how long the server asks us to wait: the RateLimit
// header's t (seconds to the window reset, plus one as huggingface_hub does)
// or Retry-After (seconds or an HTTP date). 0 means no advice.
func serverWait(h http.Header, now time.Time) time.Duration {
	if rl := h.Get("RateLimit"); rl != "" {
		for _, part := range strings.Split(rl, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && k == "t" {
				if n, err := strconv.Atoi(v); err == nil && n >= 0 {
					return time.Duration(n+1) * time.Second
				}
			}
		}
	}
	if d, ok := pipeline.RetryAfter(h.Get("Retry-After"), now); ok {
		return max(d, time.Millisecond) // "now" still means: wait, then retry
	}
	return 0
}

// errorMessage extracts the Hub's error text: X-Error-Message, else the
// body's "error" (string or list) and "error_description", else a short body.
func errorMessage(h http.Header, body []byte) string {
	if m := h.Get("X-Error-Message"); m != "" {
		return m
	}
	var j struct {
		Error  any    `json:"error"`
		Desc   string `json:"error_description"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	ok := json.Unmarshal(body, &j) == nil
	if ok && j.Error == nil && len(j.Errors) > 0 {
		msgs := make([]string, len(j.Errors))
		for i, e := range j.Errors {
			msgs[i] = e.Message
		}
		return strings.Join(msgs, "; ")
	}
	if ok && j.Error != nil {
		var msg string
		switch e := j.Error.(type) {
		case string:
			msg = e
		case []any:
			parts := make([]string, 0, len(e))
			for _, x := range e {
				parts = append(parts, fmt.Sprint(x))
			}
			msg = strings.Join(parts, "; ")
		default:
			msg = fmt.Sprint(e)
		}
		if j.Desc != "" {
			msg += ": " + j.Desc
		}
		return msg
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func requestID(h http.Header) string {
	for _, k := range []string{"X-Request-Id", "X-Amzn-Trace-Id", "X-Amz-Cf-Id"} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// stripQuery drops a URL's query and fragment: presigned URLs carry
// signatures there.
func stripQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// netCause unwraps *url.Error, whose text repeats the full URL (with any
// presigned query).
func netCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// pathEscape escapes each segment of a repo-relative path.
func pathEscape(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// repoPath is "org/name" escaped per segment.
func repoPath(repo string) string { return pathEscape(repo) }

// revEscape quotes a revision fully (refs/pr/3 -> refs%2Fpr%2F3).
func revEscape(rev string) string { return url.PathEscape(rev) }
