package redact

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://alice:hunter22@10.0.0.1:11434":        "http://***@10.0.0.1:11434",
		"https://ghp_abcdef@github.com/o/r.git":       "https://***@github.com/o/r.git",
		"alice:hunter22@10.0.0.1:11434":               "***@10.0.0.1:11434",
		"http://127.0.0.1:11434":                      "http://127.0.0.1:11434",
		"https://hub.example/api?email=a@b.c":         "https://hub.example/api?email=a@b.c",
		"/local/path@v2":                              "/local/path@v2",
		"":                                            "",
		"ssh://git@github.com/o/r.git":                "ssh://***@github.com/o/r.git",
		"https://u:p%40ss@h/x and http://v:w@k/y end": "https://***@h/x and http://***@k/y end",
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Text(`Post "http://alice:hunter22@h:1/api/chat": refused; mail kforge@example.invalid`); strings.Contains(got, "hunter22") || strings.Contains(got, "alice") || !strings.Contains(got, "kforge@example.invalid") {
		t.Errorf("Text: %q", got)
	}
}

func TestRedactorEverywhere(t *testing.T) {
	env := map[string]string{"HF_TOKEN": "hf_planted0123456789abcdef", "MY_API_KEY": "sk-planted-key", "SHORT_TOKEN": "abc", "HOME": "/home/x"}
	r := New(func(k string) string { return env[k] }, SecretNames([]string{"MY_API_KEY=x", "HOME=/home/x", "SHORT_TOKEN=abc"})...)
	leak := func(s string) bool {
		return strings.Contains(s, "hf_planted") || strings.Contains(s, "sk-planted") || strings.Contains(s, "hunter22")
	}
	msg := "token hf_planted0123456789abcdef key sk-planted-key at http://u:hunter22@h/ abc /home/x"
	if got := r.Text(msg); leak(got) || !strings.Contains(got, " abc /home/x") {
		t.Errorf("Text: %q", got)
	}
	var b bytes.Buffer
	w := r.Writer(&b)
	if n, err := w.Write([]byte(msg)); err != nil || n != len(msg) {
		t.Errorf("Write = %d, %v", n, err)
	}
	log := slog.New(r.Handler(slog.NewJSONHandler(&b, nil))).With("host", "http://u:hunter22@h/")
	log.Info(msg, "err", errors.New(msg), "g", slog.Group("x", "k", msg), "any", []string{msg})
	if leak(b.String()) {
		t.Errorf("writer or log leaked:\n%s", b.String())
	}
	err := r.Error(&fs.PathError{Op: "open", Path: msg, Err: fs.ErrNotExist})
	if leak(err.Error()) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Error: %v", err)
	}
	v := r.Value(map[string]any{"model": map[string]any{"host": "http://u:hunter22@h/"}, "l": []any{msg, 3.0}})
	if s := strings.ReplaceAll(strings.ReplaceAll(fmtAny(v), "\n", ""), " ", ""); leak(s) {
		t.Errorf("Value: %s", s)
	}
}

func fmtAny(v any) string {
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("", "v", v)
	return b.String()
}

func TestIsSecretName(t *testing.T) {
	for _, n := range []string{"HF_TOKEN", "OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "GITHUB_TOKEN", "MY_SECRET", "DB_PASSWORD", "OLLAMA_API_KEY", "HUGGING_FACE_HUB_TOKEN"} {
		if !IsSecretName(n) {
			t.Errorf("%s is a secret", n)
		}
	}
	for _, n := range []string{"PATH", "HOME", "ROCM_PATH", "HIP_VISIBLE_DEVICES", "HIPCC_COMPILE_FLAGS_APPEND", "LANG", "OLLAMA_HOST"} {
		if IsSecretName(n) {
			t.Errorf("%s is not a secret", n)
		}
	}
}
