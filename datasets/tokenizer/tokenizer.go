// Package tokenizer counts tokens with a Hugging Face tokenizer.json of the
// byte-level BPE family (Qwen2/2.5/3, Llama 3, GPT-2 style), or, when no
// tokenizer is named, estimates them as UTF-8 bytes / 4.
//
// Only what counting needs is implemented: the NFC normalizer, Split
// (regex) and ByteLevel pre-tokenizers, added (special) tokens and the BPE
// model with its merges. Other tokenizer types are refused with an error
// rather than counted wrongly.
package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Counter counts the tokens of a text.
type Counter interface {
	// Count returns the tokens of s.
	Count(s string) int
	// Name says what counts, for the dataset card.
	Name() string
	// Exact is false for an estimate.
	Exact() bool
}

// Estimate counts UTF-8 bytes / 4, rounded up: the proxy used when no
// tokenizer is named.
type Estimate struct{}

// Count implements Counter.
func (Estimate) Count(s string) int { return (len(s) + 3) / 4 }

// Name implements Counter.
func (Estimate) Name() string { return "estimate: UTF-8 bytes / 4" }

// Exact implements Counter.
func (Estimate) Exact() bool { return false }

// BPE is a byte-level BPE tokenizer loaded from a tokenizer.json. It is safe
// for concurrent use.
type BPE struct {
	name          string
	nfc           bool
	splits        []*regexp.Regexp // Split pre-tokenizers, in order
	lookahead     []bool           // the split's pattern had \s+(?!\S)
	byteLevel     bool
	addPrefix     bool
	byteLevelRe   bool // the ByteLevel pre-tokenizer splits with GPT-2's pattern itself
	vocab         map[string]int
	ranks         map[[2]string]int
	ignoreMerges  bool
	added         []string // added tokens, longest first
	mu            sync.Mutex
	cache         map[string]int
	byteToRune    [256]rune
	gpt2Pattern   *regexp.Regexp
	gpt2Lookahead bool
}

type tokJSON struct {
	AddedTokens []struct {
		Content string `json:"content"`
	} `json:"added_tokens"`
	Normalizer   *component `json:"normalizer"`
	PreTokenizer *component `json:"pre_tokenizer"`
	Model        modelJSON  `json:"model"`
}

type component struct {
	Type          string       `json:"type"`
	Normalizers   []*component `json:"normalizers"`
	Pretokenizers []*component `json:"pretokenizers"`
	Pattern       *struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	} `json:"pattern"`
	Behavior       string `json:"behavior"`
	Invert         bool   `json:"invert"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	UseRegex       *bool  `json:"use_regex"`
}

type modelJSON struct {
	Type          string            `json:"type"`
	Vocab         map[string]int    `json:"vocab"`
	Merges        []json.RawMessage `json:"merges"`
	IgnoreMerges  bool              `json:"ignore_merges"`
	ByteFallback  bool              `json:"byte_fallback"`
	ContinuingSub string            `json:"continuing_subword_prefix"`
	EndOfWord     string            `json:"end_of_word_suffix"`
}

// gpt2Split is the ByteLevel pre-tokenizer's own pattern (use_regex).
const gpt2Split = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// Load reads a tokenizer.json; its name (in the card) is path.
func Load(path string) (*BPE, error) { return LoadAs(path, path) }

// LoadAs reads the tokenizer.json at path and names it name: for a file
// downloaded into a cache, the hf:// address it came from.
func LoadAs(path, name string) (*BPE, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := parse(raw)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	t.name = name
	return t, nil
}

// HubFile is a file of a model repository on the Hugging Face Hub, written
// as huggingface_hub's file system writes it: hf://ORG/NAME@REVISION/PATH.
type HubFile struct{ Repo, Revision, Path string }

func (h HubFile) String() string { return "hf://" + h.Repo + "@" + h.Revision + "/" + h.Path }

// ParseHub reads a dataset.tokenizer value. ok is false for a local path
// (anything not starting with hf://); a hf:// value must name a model
// repository, a revision (pinned, so a rebuild counts with the same
// tokenizer) and the file, e.g. hf://Qwen/Qwen3-8B@main/tokenizer.json.
func ParseHub(s string) (h HubFile, ok bool, err error) {
	rest, ok := strings.CutPrefix(s, "hf://")
	if !ok {
		return HubFile{}, false, nil
	}
	bad := func(why string) (HubFile, bool, error) {
		return HubFile{}, true, fmt.Errorf("%q: %s; want hf://ORG/NAME@REVISION/PATH (a model repository)", s, why)
	}
	repo, after, found := strings.Cut(rest, "@")
	if !found {
		return bad("no @REVISION")
	}
	rev, file, found := strings.Cut(after, "/")
	org, name, _ := strings.Cut(repo, "/")
	switch {
	case strings.HasPrefix(repo, "datasets/") || strings.HasPrefix(repo, "spaces/"):
		return bad("not a model repository")
	case org == "" || name == "" || strings.Contains(name, "/"):
		return bad("repository is not ORG/NAME")
	case rev == "":
		return bad("empty revision")
	case !found || file == "" || strings.HasSuffix(file, "/"):
		return bad("no file path")
	}
	for _, seg := range strings.Split(file, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return bad("the file path must stay inside the repository")
		}
	}
	return HubFile{Repo: repo, Revision: rev, Path: file}, true, nil
}

func parse(raw []byte) (*BPE, error) {
	var tj tokJSON
	if err := json.Unmarshal(raw, &tj); err != nil {
		return nil, err
	}
	if tj.Model.Type != "BPE" && tj.Model.Type != "" {
		return nil, fmt.Errorf("model type %q: only byte-level BPE is supported", tj.Model.Type)
	}
	if tj.Model.ByteFallback || tj.Model.ContinuingSub != "" || tj.Model.EndOfWord != "" {
		return nil, errors.New("a BPE with byte_fallback or subword affixes (SentencePiece style) is not supported; only byte-level BPE")
	}
	t := &BPE{vocab: tj.Model.Vocab, ranks: map[[2]string]int{}, ignoreMerges: tj.Model.IgnoreMerges, cache: map[string]int{}}
	for i, m := range tj.Model.Merges {
		var pair [2]string
		var s string
		if json.Unmarshal(m, &s) == nil {
			a, b, ok := strings.Cut(s, " ")
			if !ok {
				return nil, fmt.Errorf("merge %d: %q is not two symbols", i, s)
			}
			pair = [2]string{a, b}
		} else if err := json.Unmarshal(m, &pair); err != nil {
			return nil, fmt.Errorf("merge %d: %w", i, err)
		}
		if _, dup := t.ranks[pair]; !dup {
			t.ranks[pair] = i
		}
	}
	if err := t.normalizer(tj.Normalizer); err != nil {
		return nil, err
	}
	if err := t.preTokenizer(tj.PreTokenizer); err != nil {
		return nil, err
	}
	if !t.byteLevel {
		return nil, errors.New("no ByteLevel pre-tokenizer: only byte-level BPE is supported")
	}
	for _, a := range tj.AddedTokens {
		if a.Content != "" {
			t.added = append(t.added, a.Content)
		}
	}
	slices.SortFunc(t.added, func(a, b string) int { return len(b) - len(a) })
	t.byteToRune = bytesToRunes()
	return t, nil
}

func (t *BPE) normalizer(c *component) error {
	if c == nil {
		return nil
	}
	switch c.Type {
	case "NFC":
		t.nfc = true
	case "Sequence":
		for _, n := range c.Normalizers {
			if err := t.normalizer(n); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("normalizer %q is not supported", c.Type)
	}
	return nil
}

func (t *BPE) preTokenizer(c *component) error {
	if c == nil {
		return nil
	}
	switch c.Type {
	case "Sequence":
		for _, p := range c.Pretokenizers {
			if err := t.preTokenizer(p); err != nil {
				return err
			}
		}
	case "Split":
		if c.Pattern == nil || c.Invert || (c.Behavior != "Isolated" && c.Behavior != "") {
			return fmt.Errorf("split pre-tokenizer (behavior %q, invert %v) is not supported", c.Behavior, c.Invert)
		}
		var pat string
		switch {
		case c.Pattern.Regex != nil:
			pat = *c.Pattern.Regex
		case c.Pattern.String != nil:
			pat = regexp.QuoteMeta(*c.Pattern.String)
		}
		re, la, err := compile(pat)
		if err != nil {
			return err
		}
		t.splits = append(t.splits, re)
		t.lookahead = append(t.lookahead, la)
	case "ByteLevel":
		t.byteLevel = true
		t.addPrefix = c.AddPrefixSpace
		if c.UseRegex == nil || *c.UseRegex {
			re, la, err := compile(gpt2Split)
			if err != nil {
				return err
			}
			t.byteLevelRe, t.gpt2Pattern, t.gpt2Lookahead = true, re, la
		}
	default:
		return fmt.Errorf("pre-tokenizer %q is not supported", c.Type)
	}
	return nil
}

// laGroup names the capture of the whitespace run that replaces \s+(?!\S).
const laGroup = "kforge_ws"

// Unicode White_Space, as \s means in the Rust regex engines that
// tokenizers use (Go's \s is ASCII only).
const space = `\t-\r \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`

// compile translates a tokenizers pattern into Go syntax. Go has no
// lookahead; the one the byte-level patterns use, `\s+(?!\S)` before a
// plain `\s+`, is dropped and done by hand in split (la reports it).
func compile(pat string) (re *regexp.Regexp, la bool, err error) {
	const look = `\s+(?!\S)|`
	if i := strings.Index(pat, look); i >= 0 {
		if !strings.HasPrefix(pat[i+len(look):], `\s+`) {
			return nil, false, fmt.Errorf("pattern %q: a lookahead is only supported as \\s+(?!\\S)|\\s+", pat)
		}
		// The plain \s+ that stands in for the lookahead alternative is
		// captured, so split gives back a character only when it matched
		// (not, say, after \s*[\r\n]+ matched "\n\n" before a word).
		pat, la = pat[:i]+"(?P<"+laGroup+">"+`\s+`+")"+pat[i+len(look)+len(`\s+`):], true
	}
	if strings.Contains(pat, "(?!") || strings.Contains(pat, "(?=") || strings.Contains(pat, "(?<") {
		return nil, false, fmt.Errorf("pattern %q: lookaround is not supported", pat)
	}
	var b strings.Builder
	inClass := false
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '\\' && i+1 < len(pat):
			n := pat[i+1]
			i++
			switch {
			case n == 's' && inClass:
				b.WriteString(space)
			case n == 's':
				b.WriteString("[" + space + "]")
			case n == 'S' && !inClass:
				b.WriteString("[^" + space + "]")
			case n == 'S':
				return nil, false, fmt.Errorf("pattern %q: \\S inside a class is not supported", pat)
			default:
				b.WriteByte('\\')
				b.WriteByte(n)
			}
		case c == '[' && !inClass:
			inClass = true
			b.WriteByte(c)
			if i+1 < len(pat) && pat[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(pat) && pat[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
		case c == ']' && inClass:
			inClass = false
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	re, err = regexp.Compile(b.String())
	if err != nil {
		return nil, false, fmt.Errorf("pattern %q: %w", pat, err)
	}
	return re, la, nil
}

func isSpace(r rune) bool {
	switch {
	case r >= '\t' && r <= '\r', r == ' ', r == 0x85, r == 0xa0, r == 0x1680, r >= 0x2000 && r <= 0x200a,
		r == 0x2028, r == 0x2029, r == 0x202f, r == 0x205f, r == 0x3000:
		return true
	}
	return false
}

// split cuts s into the pieces re matches (Isolated: the unmatched gaps are
// pieces too). With la, a whitespace-only match followed by a non-space
// gives back its last character, as `\s+(?!\S)` would.
func split(re *regexp.Regexp, la bool, s string) []string {
	var out []string
	pos := 0
	for pos < len(s) {
		loc := re.FindStringSubmatchIndex(s[pos:])
		if loc == nil {
			out = append(out, s[pos:])
			break
		}
		start, end := pos+loc[0], pos+loc[1]
		if end == start { // an empty match: step over one character
			_, w := firstRune(s[start:])
			if start > pos {
				out = append(out, s[pos:start])
			}
			out = append(out, s[start:start+w])
			pos = start + w
			continue
		}
		if g := 2 * re.SubexpIndex(laGroup); la && g > 0 && loc[g] >= 0 && end < len(s) {
			if next, _ := firstRune(s[end:]); !isSpace(next) {
				if last := lastRuneStart(s[start:end]); last > 0 {
					end = start + last
				}
			}
		}
		if start > pos {
			out = append(out, s[pos:start])
		}
		out = append(out, s[start:end])
		pos = end
	}
	return out
}

func firstRune(s string) (rune, int) { return utf8.DecodeRuneInString(s) }

func lastRuneStart(s string) int {
	last := 0
	for i := range s {
		last = i
	}
	return last
}

// bytesToRunes is GPT-2's byte-to-unicode table: printable bytes stand for
// themselves, the rest map to 256 and up.
func bytesToRunes() [256]rune {
	var tbl [256]rune
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff) {
			tbl[b] = rune(b)
		} else {
			tbl[b] = rune(256 + n)
			n++
		}
	}
	return tbl
}

// Name implements Counter.
func (t *BPE) Name() string { return t.name }

// Exact implements Counter.
func (t *BPE) Exact() bool { return true }

// Count implements Counter. Counts of pre-tokens are cached (code repeats
// its identifiers), up to maxCache of them.
func (t *BPE) Count(s string) int {
	n := 0
	t.each(s, func(p string, added bool) {
		if added {
			n++
			return
		}
		t.mu.Lock()
		c, ok := t.cache[p]
		t.mu.Unlock()
		if !ok {
			c = len(t.word(p))
			t.mu.Lock()
			if len(t.cache) >= maxCache {
				clear(t.cache)
			}
			t.cache[p] = c
			t.mu.Unlock()
		}
		n += c
	})
	return n
}

const maxCache = 1 << 16

// Tokens returns the tokens of s (the byte-level strings of the vocabulary).
func (t *BPE) Tokens(s string) []string {
	var out []string
	t.each(s, func(p string, added bool) {
		if added {
			out = append(out, p)
		} else {
			out = append(out, t.word(p)...)
		}
	})
	return out
}

// each calls fn with every pre-token of s, and with every added token.
func (t *BPE) each(s string, fn func(p string, added bool)) {
	for _, part := range t.splitAdded(s) {
		if part.added {
			fn(part.text, true)
			continue
		}
		text := part.text
		if t.nfc {
			text = norm.NFC.String(text)
		}
		if t.addPrefix && !strings.HasPrefix(text, " ") {
			text = " " + text
		}
		pieces := []string{text}
		for i, re := range t.splits {
			var next []string
			for _, p := range pieces {
				next = append(next, split(re, t.lookahead[i], p)...)
			}
			pieces = next
		}
		if t.byteLevelRe {
			var next []string
			for _, p := range pieces {
				next = append(next, split(t.gpt2Pattern, t.gpt2Lookahead, p)...)
			}
			pieces = next
		}
		for _, p := range pieces {
			fn(p, false)
		}
	}
}

type part struct {
	text  string
	added bool
}

// splitAdded cuts out added tokens, which are never split or merged.
func (t *BPE) splitAdded(s string) []part {
	if len(t.added) == 0 {
		return []part{{s, false}}
	}
	var out []part
	for len(s) > 0 {
		best, bestTok := -1, ""
		for _, a := range t.added {
			if i := strings.Index(s, a); i >= 0 && (best < 0 || i < best || (i == best && len(a) > len(bestTok))) {
				best, bestTok = i, a
			}
		}
		if best < 0 {
			out = append(out, part{s, false})
			break
		}
		if best > 0 {
			out = append(out, part{s[:best], false})
		}
		out = append(out, part{bestTok, true})
		s = s[best+len(bestTok):]
	}
	return out
}

// word runs BPE over one pre-token.
func (t *BPE) word(p string) []string {
	syms := make([]string, 0, len(p))
	var whole strings.Builder
	for i := 0; i < len(p); i++ {
		r := string(t.byteToRune[p[i]])
		syms = append(syms, r)
		whole.WriteString(r)
	}
	if t.ignoreMerges {
		if _, ok := t.vocab[whole.String()]; ok {
			return []string{whole.String()}
		}
	}
	for len(syms) > 1 {
		best, at := -1, -1
		for i := 0; i+1 < len(syms); i++ {
			if r, ok := t.ranks[[2]string{syms[i], syms[i+1]}]; ok && (best < 0 || r < best) {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		a, b := syms[at], syms[at+1]
		merged := syms[:0:0]
		for i := 0; i < len(syms); i++ {
			if i+1 < len(syms) && syms[i] == a && syms[i+1] == b {
				merged = append(merged, a+b)
				i++
				continue
			}
			merged = append(merged, syms[i])
		}
		syms = merged
	}
	return syms
}
