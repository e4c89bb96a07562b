package hubclient

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"kforge/internal/redact"
)

// ErrNoToken means no Hub token was found in the environment or token files.
var ErrNoToken = errors.New("no Hugging Face token: set HF_TOKEN or run `hf auth login` (token file $HF_HOME/token)")

// secret holds a token. It formats as a mask, so a stray %v or a struct dump
// cannot print it.
type secret string

func (s secret) String() string                { return mask }
func (s secret) GoString() string              { return mask }
func (s secret) MarshalText() ([]byte, error)  { return []byte(mask), nil }
func (s secret) LogValue() slog.Value          { return slog.StringValue(mask) }
func (s secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(mask)) }
func (s secret) reveal() string                { return string(s) }
func (s secret) empty() bool                   { return s == "" }
func (s secret) redact(text string) string     { return redactText(text, s) }
func (s secret) redactErr(err error) error     { return redactError(err, s) }
func (s secret) handler(h slog.Handler) slog.Handler {
	return redact.Handler(h, s.redact)
}

const (
	mask = "hf_***"
	// minSecretLen keeps a degenerate one-letter "token" from masking every
	// occurrence of that letter in messages.
	minSecretLen = 4
)

// tokenPattern catches Hub user tokens other than ours that a server might
// echo; ours is replaced verbatim whatever its shape.
var tokenPattern = regexp.MustCompile(`hf_[A-Za-z0-9]{20,}`)

func redactText(text string, tok secret) string {
	if len(tok) >= minSecretLen {
		text = strings.ReplaceAll(text, string(tok), mask)
	}
	// An endpoint given with user:password (HF_ENDPOINT, publish.endpoint)
	// is masked with kforge's one URL redaction.
	return redact.Text(tokenPattern.ReplaceAllString(text, mask))
}

// resolveToken finds the token the way huggingface_hub does: HF_TOKEN (or
// the legacy HUGGING_FACE_HUB_TOKEN), then the file at HF_TOKEN_PATH, then
// $HF_HOME/token, $XDG_CACHE_HOME/huggingface/token, ~/.cache/huggingface/token.
// The token file is written by `hf auth login` (older huggingface_hub
// releases wrote the same file with `huggingface-cli login`).
func resolveToken(getenv func(string) string) (secret, error) {
	for _, k := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return secret(v), nil
		}
	}
	var paths []string
	if p := getenv("HF_TOKEN_PATH"); p != "" {
		paths = append(paths, p)
	}
	if h := getenv("HF_HOME"); h != "" {
		paths = append(paths, filepath.Join(h, "token"))
	} else {
		if x := getenv("XDG_CACHE_HOME"); x != "" {
			paths = append(paths, filepath.Join(x, "huggingface", "token"))
		}
		home := getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		if home != "" {
			paths = append(paths, filepath.Join(home, ".cache", "huggingface", "token"))
		}
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			// The path is fine to show; the file's content never is.
			return "", fmt.Errorf("read token file: %w", err)
		}
		if v := strings.TrimSpace(string(b)); v != "" {
			return secret(v), nil
		}
	}
	return "", ErrNoToken
}

// TokenScan is a writer that notes whether the bytes written to it contain
// the client's token, across write boundaries.
type TokenScan struct{ s tokenScan }

// NewTokenScan returns a scanner for the client's token (it never finds
// anything when the client has none).
func (c *Client) NewTokenScan() *TokenScan { return &TokenScan{s: tokenScan{tok: []byte(c.tok)}} }

func (t *TokenScan) Write(p []byte) (int, error) { return t.s.Write(p) }

// Found reports whether the token was seen.
func (t *TokenScan) Found() bool { return t.s.found }

// tokenScan finds the token across write boundaries.
type tokenScan struct {
	tok   []byte
	tail  []byte
	found bool
}

func (t *tokenScan) Write(p []byte) (int, error) {
	if t.found || len(t.tok) < minSecretLen {
		return len(p), nil
	}
	buf := append(t.tail, p...)
	if bytes.Contains(buf, t.tok) {
		t.found = true
	}
	keep := min(len(buf), len(t.tok)-1)
	t.tail = append(t.tail[:0:0], buf[len(buf)-keep:]...)
	return len(p), nil
}

// redactedError masks the token in an error's text while keeping the chain
// for errors.Is/As.
type redactedError struct {
	err error
	tok secret
}

func (e *redactedError) Error() string { return redactText(e.err.Error(), e.tok) }
func (e *redactedError) Unwrap() error { return e.err }

func redactError(err error, tok secret) error {
	if err == nil {
		return nil
	}
	var r *redactedError
	if errors.As(err, &r) && r.tok == tok {
		return err
	}
	return &redactedError{err: err, tok: tok}
}
