// Package redact is kforge's one place for hiding credentials in what it
// writes: URLs with userinfo (https://user:password@host), wherever they
// appear in text, and the values of secret environment variables. Builds,
// exports, merges, publishing, logs and error messages all go through it.
package redact

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Mask replaces a hidden value.
const Mask = "***"

// userinfoRe matches the userinfo of a URL with a scheme: scheme://user[:pw]@.
// The user part stops at what cannot be in it unescaped (/, ?, #, @, blanks,
// quotes), so "mailto"-like text and e-mail addresses without a scheme are
// left alone.
var userinfoRe = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#@\s"'<>]+@`)

// URL returns u with its userinfo, if any, replaced by Mask: the whole of it,
// user name included (a token is often given as the user name). A host
// without a scheme ("user:pw@host:11434", as OLLAMA_HOST allows) is masked
// too.
func URL(u string) string {
	if !strings.Contains(u, "@") {
		return u
	}
	if strings.Contains(u, "://") {
		return userinfoRe.ReplaceAllString(u, "${1}"+Mask+"@")
	}
	// No scheme: userinfo is what precedes the first @ before any path.
	head := u
	if i := strings.IndexAny(u, "/?#"); i >= 0 {
		head = u[:i]
	}
	if i := strings.LastIndexByte(head, '@'); i >= 0 {
		return Mask + u[i:]
	}
	return u
}

// Text returns s with the userinfo of every URL in it masked.
func Text(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return userinfoRe.ReplaceAllString(s, "${1}"+Mask+"@")
}

// minSecretLen keeps a degenerate short value from masking every occurrence
// of a common string.
const minSecretLen = 6

// secretNameRe matches the names of environment variables that hold
// credentials: tokens, keys, secrets, passwords.
var secretNameRe = regexp.MustCompile(`(?i)(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|_KEY$|^KEY$|_PAT$|COOKIE)`)

// IsSecretName reports whether an environment variable of this name may hold
// a credential (HF_TOKEN, OPENAI_API_KEY, AWS_SECRET_ACCESS_KEY, …): such
// variables never reach a compiler or a candidate program, and their values
// are masked in what kforge prints.
func IsSecretName(name string) bool {
	return secretNameRe.MatchString(name) || strings.HasPrefix(strings.ToUpper(name), "AWS_")
}

// SecretNames are the names among environ ("K=V" entries) that IsSecretName
// accepts, with the well-known credential variables kforge reads.
func SecretNames(environ []string) []string {
	names := []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "OPENAI_API_KEY", "OLLAMA_API_KEY"}
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if IsSecretName(k) {
			names = append(names, k)
		}
	}
	return names
}

// Redactor masks URL userinfo and a set of known secret values.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string // longest first, so a value containing another is masked whole
}

// New returns a redactor for the values of the secret variables among
// names, read with getenv (empty values and values shorter than a few
// characters are ignored).
func New(getenv func(string) string, names ...string) *Redactor {
	r := &Redactor{}
	if getenv == nil {
		return r
	}
	for _, n := range names {
		r.Add(getenv(n))
	}
	return r
}

// Add adds literal secret values to mask.
func (r *Redactor) Add(values ...string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		v = strings.TrimSpace(v)
		if len(v) < minSecretLen {
			continue
		}
		dup := false
		for _, s := range r.secrets {
			dup = dup || s == v
		}
		if !dup {
			r.secrets = append(r.secrets, v)
		}
	}
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// Text masks URL userinfo and every known secret value in s. A nil Redactor
// masks URL userinfo only.
func (r *Redactor) Text(s string) string {
	if r != nil {
		r.mu.RLock()
		for _, v := range r.secrets {
			s = strings.ReplaceAll(s, v, Mask)
		}
		r.mu.RUnlock()
	}
	return Text(s)
}

// Writer returns w with every write masked by r. Each write is masked on its
// own: log records and formatted messages arrive whole.
func (r *Redactor) Writer(w io.Writer) io.Writer {
	if rw, ok := w.(*writer); ok && rw.r == r {
		return w
	}
	return &writer{w: w, r: r}
}

type writer struct {
	w io.Writer
	r *Redactor
}

func (w *writer) Write(p []byte) (int, error) {
	s := string(p)
	red := w.r.Text(s)
	if red == s {
		return w.w.Write(p)
	}
	if _, err := io.WriteString(w.w, red); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Error returns err with its text masked, keeping its chain for errors.Is
// and errors.As.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	if r.Text(err.Error()) == err.Error() {
		return err
	}
	return &redactedError{err: err, r: r}
}

type redactedError struct {
	err error
	r   *Redactor
}

func (e *redactedError) Error() string { return e.r.Text(e.err.Error()) }
func (e *redactedError) Unwrap() error { return e.err }

// Handler returns h with every message and attribute masked by r.
func (r *Redactor) Handler(h slog.Handler) slog.Handler { return Handler(h, r.Text) }

// Handler returns h with every message and string attribute (errors and
// values that print as text included) passed through mask: the one slog
// masking handler, for a Redactor or any other masking rule (the Hub
// client's token).
func Handler(h slog.Handler, mask func(string) string) slog.Handler {
	return &handler{h: h, mask: mask}
}

type handler struct {
	h    slog.Handler
	mask func(string) string
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.mask(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.h.Handle(ctx, out)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.attr(a)
	}
	return &handler{h: h.h.WithAttrs(red), mask: h.mask}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{h: h.h.WithGroup(name), mask: h.mask}
}

func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.mask(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, x := range g {
			out[i] = h.attr(x)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.mask(err.Error()))
		}
		s := fmt.Sprint(v.Any())
		if red := h.mask(s); red != s {
			return slog.String(a.Key, red)
		}
		return slog.Attr{Key: a.Key, Value: v}
	default:
		return slog.Attr{Key: a.Key, Value: v}
	}
}

// Value returns a copy of v, a value decoded from JSON (maps, slices,
// strings, numbers), with every string masked by r; lineage written into
// manifests goes through it.
func (r *Redactor) Value(v any) any {
	switch x := v.(type) {
	case string:
		return r.Text(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = r.Value(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = r.Value(e)
		}
		return out
	}
	return v
}
