package tokenizer

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// testdata/bytebpe.json is a hand-made byte-level BPE tokenizer.json in the
// layout Qwen2 ships (NFC, a Split with the Qwen pattern, ByteLevel without
// its own regex, merges as "a b" strings, two added tokens) with 11 merges,
// so every expected token below can be worked out by hand.
func load(t *testing.T) *BPE {
	t.Helper()
	tk, err := Load(filepath.Join("testdata", "bytebpe.json"))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestBPETokens(t *testing.T) {
	tk := load(t)
	for _, c := range []struct {
		in   string
		want []string
	}{
		// "Ġ t" (rank 0), "h e" (1), then "Ġt he" (2).
		{" the", []string{"Ġthe"}},
		// "Ġ in" needs "i n" first; "for" has no "f o" merge, so "o r" then
		// "f or" applies.
		{" in for", []string{"Ġin", "Ġ", "for"}},
		// The split keeps "  " before "x" as " " + " x" (\s+(?!\S)), and
		// "\n\n" is one piece merged by "Ċ Ċ".
		{"a\n\n  x", []string{"a", "ĊĊ", "Ġ", "Ġ", "x"}},
		// Newlines before a word stay one piece: \s*[\r\n]+ matched them,
		// so nothing is given back (only \s+(?!\S) gives back a space).
		{"a\n\nx", []string{"a", "ĊĊ", "x"}},
		// Trailing whitespace stays whole: "Ġ Ġ" merges it.
		{"x  ", []string{"x", "ĠĠ"}},
		// Added tokens are never split; digits are single pieces.
		{"<|im_start|>12", []string{"<|im_start|>", "1", "2"}},
		// Non-ASCII: "é" is two bytes, each its own symbol.
		{"é", []string{"Ã", "©"}},
		// The contraction alternative is case-insensitive: "'S" is its own
		// piece (no merge joins "' S"), not part of a letters piece "'S".
		{"IT'S x", []string{"I", "T", "'", "S", "Ġ", "x"}},
	} {
		got := tk.Tokens(c.in)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Tokens(%q) = %q, want %q", c.in, got, c.want)
		}
		if n := tk.Count(c.in); n != len(c.want) {
			t.Errorf("Count(%q) = %d, want %d", c.in, n, len(c.want))
		}
	}
}

func TestSplitLookahead(t *testing.T) {
	re, la, err := compile(`\s+(?!\S)|\s+`)
	if err != nil || !la {
		t.Fatalf("compile: %v %v", la, err)
	}
	// Pieces between matches are kept (Isolated); a run of spaces before a
	// non-space gives its last one back; U+3000 is whitespace as in Rust.
	got := split(re, la, "a   b\u3000\u3000c ")
	want := []string{"a", "  ", " ", "b", "\u3000", "\u3000", "c", " "}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("split = %q, want %q", got, want)
	}
}

func TestUnsupported(t *testing.T) {
	dir := t.TempDir()
	for name, js := range map[string]string{
		"wordpiece":     `{"model":{"type":"WordPiece","vocab":{}}}`,
		"sentencepiece": `{"pre_tokenizer":{"type":"Metaspace"},"model":{"type":"BPE","byte_fallback":true,"vocab":{},"merges":[]}}`,
		"no byte level": `{"model":{"type":"BPE","vocab":{},"merges":[]}}`,
	} {
		p := filepath.Join(dir, "t.json")
		if err := os.WriteFile(p, []byte(js), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil {
			t.Errorf("%s: loaded, want an error", name)
		}
	}
}

func TestEstimate(t *testing.T) {
	if n := (Estimate{}).Count("12345"); n != 2 {
		t.Errorf("estimate = %d, want 2", n)
	}
}

func TestParseHub(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    HubFile
		ok, err bool
	}{
		{"testdata/bytebpe.json", HubFile{}, false, false},
		{"hf://Qwen/Qwen3-8B@main/tokenizer.json", HubFile{"Qwen/Qwen3-8B", "main", "tokenizer.json"}, true, false},
		{"hf://meta-llama/Llama-3.1-8B@0e9e39f249a16976918f6564b8830bc894c89659/original/tokenizer.json",
			HubFile{"meta-llama/Llama-3.1-8B", "0e9e39f249a16976918f6564b8830bc894c89659", "original/tokenizer.json"}, true, false},
		{"hf://Qwen/Qwen3-8B/tokenizer.json", HubFile{}, true, true}, // no revision
		{"hf://Qwen/Qwen3-8B@main", HubFile{}, true, true},           // no file
		{"hf://Qwen@main/tokenizer.json", HubFile{}, true, true},     // not ORG/NAME
		{"hf://datasets/org/x@main/tokenizer.json", HubFile{}, true, true},
		{"hf://Qwen/Qwen3-8B@main/../x.json", HubFile{}, true, true},
	} {
		h, ok, err := ParseHub(c.in)
		if ok != c.ok || (err != nil) != c.err || h != c.want {
			t.Errorf("ParseHub(%q) = %+v, %v, %v", c.in, h, ok, err)
		}
		if err == nil && ok && h.String() != c.in {
			t.Errorf("String() = %q, want %q", h.String(), c.in)
		}
	}
}
