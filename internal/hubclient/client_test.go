package hubclient

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testToken = "hf_kforgeTESTtoken0123456789abcdefXYZ"

func TestServerWait(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{"Ratelimit": {`"api";r=0;t=42`}}, 43 * time.Second},
		{http.Header{"Retry-After": {"5"}}, 5 * time.Second},
		{http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second},
		{http.Header{"Ratelimit": {`"api";r=0`}, "Retry-After": {"2"}}, 2 * time.Second},
		{http.Header{}, 0},
		{http.Header{"Retry-After": {"soon"}}, 0},
	}
	for _, c := range cases {
		if got := serverWait(c.h, now); got != c.want {
			t.Errorf("%v: %v, want %v", c.h, got, c.want)
		}
	}
}

func TestResolveToken(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) string {
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	write(filepath.Join(dir, "hfhome", "token"), "hf_fromHFHOME\n")
	write(filepath.Join(dir, "home", ".cache", "huggingface", "token"), " hf_fromHOME ")
	write(filepath.Join(dir, "xdg", "huggingface", "token"), "hf_fromXDG")
	tp := write(filepath.Join(dir, "custom"), "hf_fromPATH")
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"HF_TOKEN": "hf_env", "HF_HOME": dir + "/hfhome"}, "hf_env"},
		{map[string]string{"HUGGING_FACE_HUB_TOKEN": "hf_legacy"}, "hf_legacy"},
		{map[string]string{"HF_TOKEN_PATH": tp, "HF_HOME": dir + "/hfhome"}, "hf_fromPATH"},
		{map[string]string{"HF_HOME": dir + "/hfhome", "HOME": dir + "/home"}, "hf_fromHFHOME"},
		{map[string]string{"XDG_CACHE_HOME": dir + "/xdg", "HOME": dir + "/home"}, "hf_fromXDG"},
		{map[string]string{"HOME": dir + "/home"}, "hf_fromHOME"},
		{map[string]string{"HOME": dir + "/nothing"}, ""},
	}
	for _, c := range cases {
		tok, err := resolveToken(func(k string) string { return c.env[k] })
		if tok.reveal() != c.want || (c.want == "" && !errors.Is(err, ErrNoToken)) {
			t.Errorf("%v: %q %v, want %q", c.env, tok.reveal(), err, c.want)
		}
	}
}

func TestSecretNeverFormats(t *testing.T) {
	s := secret(testToken)
	var b bytes.Buffer
	slog.New(s.handler(slog.NewJSONHandler(&b, nil))).Info("msg "+testToken, "tok", s, "raw", testToken, "err", errors.New("x "+testToken))
	for _, out := range []string{b.String(), s.String(), strings.Join([]string{s.GoString()}, ""), s.redact("Bearer " + testToken)} {
		if strings.Contains(out, testToken) {
			t.Errorf("leak: %s", out)
		}
	}
	if _, err := io.WriteString(&b, ""); err != nil {
		t.Fatal(err)
	}
}
