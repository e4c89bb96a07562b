package model

import (
	"context"
	"errors"
	"fmt"
	"kforge/pipeline"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
)

// maxRetryAfter caps a server's Retry-After so a bogus header cannot park a
// worker for hours.
const maxRetryAfter = 5 * time.Minute

// errTruncated is an answer stream that ended before its final message.
var errTruncated = errors.New("answer stream ended before the final message")

// permanentError is a failure that another attempt cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// statusError is an HTTP error answer of the OpenAI-compatible provider.
type statusError struct {
	Code    int
	Message string
}

func (e *statusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d %s", e.Code, http.StatusText(e.Code))
	}
	return fmt.Sprintf("HTTP %d: %s", e.Code, e.Message)
}

// retryableStatus says whether an HTTP status is worth another attempt.
func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// retryable classifies an attempt's error: connection errors, timeouts,
// truncated or malformed answers, 429 and 5xx are retried; other 4xx answers
// and authorization failures are not.
func retryable(err error) bool {
	var pe *permanentError
	var ae api.AuthorizationError
	var ose api.StatusError
	var se *statusError
	switch {
	case errors.As(err, &pe), errors.As(err, &ae), errors.Is(err, context.Canceled):
		return false
	case errors.As(err, &ose):
		return retryableStatus(ose.StatusCode)
	case errors.As(err, &se):
		return retryableStatus(se.Code)
	}
	return true
}

// retryPolicy runs a call with a per-attempt timeout and exponential backoff
// with jitter between attempts.
type retryPolicy struct {
	Retries int
	Base    time.Duration
	Timeout time.Duration
	Log     *slog.Logger
	// sleep waits between attempts; nil means a timer (tests record delays).
	sleep func(ctx context.Context, d time.Duration) error
}

// hintKey is the context key under which the transport leaves an answer's
// Retry-After for the attempt that made the request.
type hintKey struct{}

// retryHint carries a Retry-After from the transport back to the policy; the
// Ollama client drops response headers, so the transport records them.
type retryHint struct{ after time.Duration }

// do calls fn until it succeeds, fails permanently, or runs out of retries.
// It returns the number of retries made.
func (p retryPolicy) do(ctx context.Context, what string, fn func(context.Context) error) (int, error) {
	for attempt := 0; ; attempt++ {
		hint := &retryHint{}
		actx, cancel := context.WithTimeout(context.WithValue(ctx, hintKey{}, hint), p.Timeout)
		err := fn(actx)
		timedOut := errors.Is(actx.Err(), context.DeadlineExceeded)
		cancel()
		if err == nil {
			return attempt, nil
		}
		if ctx.Err() != nil {
			return attempt, fmt.Errorf("%s: %w", what, ctx.Err())
		}
		if timedOut {
			err = fmt.Errorf("no answer within %s: %w", p.Timeout, err)
		}
		if !retryable(err) {
			return attempt, fmt.Errorf("%s: %w", what, err)
		}
		if attempt >= p.Retries {
			return attempt, fmt.Errorf("%s: giving up after %d attempts: %w", what, attempt+1, err)
		}
		delay := p.backoff(attempt)
		if hint.after > delay {
			delay = min(hint.after, maxRetryAfter)
		}
		if p.Log != nil {
			p.Log.Warn("model call failed; retrying", "call", what, "attempt", attempt+1, "in", delay.Round(time.Millisecond), "err", err)
		}
		sleep := p.sleep
		if sleep == nil {
			sleep = pipeline.Sleep
		}
		if serr := sleep(ctx, delay); serr != nil {
			return attempt, fmt.Errorf("%s: %w (last error: %v)", what, serr, err)
		}
	}
}

// backoff is Base·2^attempt scaled by a random factor in [0.5, 1.5), so that
// workers that failed together do not retry together.
func (p retryPolicy) backoff(attempt int) time.Duration {
	return pipeline.Backoff(p.Base, maxRetryAfter, attempt)
}

// hintTransport records the Retry-After header of 429 and 5xx answers in the
// request's retryHint.
type hintTransport struct{ base http.RoundTripper }

func (t hintTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) {
		if h, ok := r.Context().Value(hintKey{}).(*retryHint); ok {
			h.after = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
	}
	return resp, err
}

// parseRetryAfter reads delay-seconds or an HTTP date, at most maxRetryAfter;
// anything else is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	d, _ := pipeline.RetryAfter(v, now)
	return min(d, maxRetryAfter)
}

// newHTTPClient returns a client whose idle pool fits the configured
// concurrency (the default keeps 2 idle connections per host, which makes
// concurrent calls reconnect all the time) and that records Retry-After.
func newHTTPClient(concurrency int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = max(100, 2*concurrency)
	tr.MaxIdleConnsPerHost = max(8, 2*concurrency)
	return &http.Client{Transport: hintTransport{base: tr}}
}

// bearerTransport sends an API key as a bearer token on requests that carry
// no Authorization of their own (the official Ollama client signs requests
// to ollama.com itself).
type bearerTransport struct {
	base http.RoundTripper
	key  string
}

func (t bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+t.key)
	}
	return t.base.RoundTrip(r)
}

// redactedError is an error whose text had the API key removed; it still
// unwraps to the original, so its class (status, cancellation) is kept for
// the retry policy.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactKey removes key from err's text, in case a server or proxy echoes
// the request's headers.
func redactKey(key string, err error) error {
	if err == nil || key == "" || !strings.Contains(err.Error(), key) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), key, "[redacted]"), err: err}
}
