package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kforge/datasets/tokenizer"
	"kforge/internal/hubclient/hubtest"
)

// TestLoadTokenizerFromHub: dataset.tokenizer as hf://ORG/NAME@REV/PATH is
// downloaded once into the cache and named by its address (so the card
// reads the same on every machine), and counts as the same file loaded
// from disk.
func TestLoadTokenizerFromHub(t *testing.T) {
	fixture := filepath.Join("..", "..", "datasets", "tokenizer", "testdata", "bytebpe.json")
	raw, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	hub := hubtest.NewModelHub(t, "")
	hub.Files["tokenizer.json"] = raw
	var errb bytes.Buffer
	e := &env{stdout: &bytes.Buffer{}, stderr: &errb, getenv: func(k string) string {
		return map[string]string{"HF_ENDPOINT": hub.Hub.URL, "HOME": t.TempDir()}[k]
	}}
	cache := t.TempDir()
	const spec = "hf://org/tok@main/tokenizer.json"
	tok, err := loadTokenizer(context.Background(), e, spec, cache)
	if err != nil {
		t.Fatal(err)
	}
	local, err := tokenizer.Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	const text = " the in for\n\n  x <|im_start|>12"
	if tok.Name() != spec || !tok.Exact() || tok.Count(text) != local.Count(text) {
		t.Errorf("hub tokenizer %q exact=%v counts %d, local counts %d", tok.Name(), tok.Exact(), tok.Count(text), local.Count(text))
	}
	if _, err := loadTokenizer(context.Background(), e, spec, cache); err != nil {
		t.Fatal(err)
	}
	if n := hub.Count("cdn "); n != 1 {
		t.Errorf("tokenizer.json downloaded %d times, want once", n)
	}
	for _, bad := range []string{"hf://org/tok/tokenizer.json", "hf://org/tok@main/missing.json"} {
		if _, err := loadTokenizer(context.Background(), e, bad, cache); err == nil || !strings.Contains(err.Error(), "dataset.tokenizer") {
			t.Errorf("%s: err %v", bad, err)
		}
	}
	if tok, err := loadTokenizer(context.Background(), e, "", cache); err != nil || tok != nil {
		t.Errorf("no tokenizer: %v, %v", tok, err)
	}
}
