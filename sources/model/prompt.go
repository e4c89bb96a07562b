package model

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"unicode/utf8"

	"kforge/datasets"
)

//go:embed prompts/*.tmpl
var promptFS embed.FS

// answerSchema is the JSON schema of a structured answer.
const answerSchema = `{"type":"object","properties":{"region":{"type":"string","description":"the complete replacement text of the editable region"},"notes":{"type":"string","description":"one or two sentences on what changed and why it should be faster"}},"required":["region","notes"],"additionalProperties":false}`

var versionRe = regexp.MustCompile(`\{\{/\*\s*version:\s*([A-Za-z0-9._-]+)\s*\*/\}\}`)

// prompts holds one parsed template set per task kind. Each set has the
// kind's "system" and "user" templates, the shared ones and the refinement
// turn ("feedback").
type prompts struct {
	sets     map[string]*template.Template
	versions map[string]string
}

// loadPrompts parses the embedded templates. The version of a kind is the
// declared version of its template plus a hash of every file in its set, so a
// template edited without a version bump still records a new version.
func loadPrompts() (*prompts, error) {
	shared := []string{"prompts/common.tmpl", "prompts/refine.tmpl"}
	p := &prompts{sets: map[string]*template.Template{}, versions: map[string]string{}}
	for _, kind := range []string{datasets.KindCKExample, datasets.KindCKTile, datasets.KindHIPProgram} {
		files := append([]string{"prompts/" + kind + ".tmpl"}, shared...)
		h := sha256.New()
		t := template.New(kind).Option("missingkey=error").Funcs(template.FuncMap{
			"join": strings.Join,
			"trim": func(s string) string { return strings.TrimRight(s, "\n") },
			"ms":   func(x float64) string { return fmt.Sprintf("%.4g ms", x) },
			"x":    func(x float64) string { return fmt.Sprintf("%.3gx", x) },
		})
		declared := ""
		for _, f := range files {
			b, err := promptFS.ReadFile(f)
			if err != nil {
				return nil, err
			}
			h.Write(b)
			if f == files[0] {
				m := versionRe.FindSubmatch(b)
				if m == nil {
					return nil, fmt.Errorf("%s: no {{/* version: N */}} comment", f)
				}
				declared = string(m[1])
			}
			if _, err := t.New(f).Parse(string(b)); err != nil {
				return nil, fmt.Errorf("prompt template %s: %w", f, err)
			}
		}
		for _, name := range []string{"system", "user", "feedback"} {
			if t.Lookup(name) == nil {
				return nil, fmt.Errorf("prompt templates for %s define no %q", kind, name)
			}
		}
		p.sets[kind] = t
		p.versions[kind] = fmt.Sprintf("%s/v%s-%s", kind, declared, hex.EncodeToString(h.Sum(nil))[:8])
	}
	return p, nil
}

// promptData is what the kind templates see.
type promptData struct {
	Kind, Name, Op, Description string
	Dtypes, Layouts             []string
	Arch                        string
	Sizes                       []sizeView
	File                        string
	StartLine, EndLine          int
	Before, After               string // context lines around the region
	Region                      string
	Declaration, Notes          string
	Rules, Signatures           []string
	Knobs, Fixed                []datasets.TemplateParam
	Baseline                    float64
	Structured                  bool
}

// sizeView is a problem size as shown: never a hidden one.
type sizeView struct {
	Name string
	Dims string
	Args string
}

// feedbackData is what the refinement template sees.
type feedbackData struct {
	Round      int
	Status     string
	RejectedBy string
	Reason     string
	Gate       string // failing gate detail
	Splice     string
	Compiled   bool
	CompileLog string
	Failures   []string
	RefMs      float64
	CandMs     float64
	Speedup    float64
	Baseline   float64
	Structured bool
}

func (p *prompts) version(kind string) (string, error) {
	v, ok := p.versions[kind]
	if !ok {
		return "", fmt.Errorf("no prompt template for task kind %q", kind)
	}
	return v, nil
}

// first renders the opening system and user messages for a task.
func (p *prompts) first(req Request, cfg Config) ([]datasets.Message, error) {
	t, ok := p.sets[req.Task.Kind]
	if !ok {
		return nil, fmt.Errorf("no prompt template for task kind %q", req.Task.Kind)
	}
	d := newPromptData(req, cfg)
	sys, err := render(t, "system", d)
	if err != nil {
		return nil, err
	}
	user, err := render(t, "user", d)
	if err != nil {
		return nil, err
	}
	return []datasets.Message{{Role: "system", Content: sys}, {Role: "user", Content: user}}, nil
}

// feedback renders the user turn that carries a verdict back to the model.
func (p *prompts) feedback(req Request, cfg Config) (datasets.Message, error) {
	t, ok := p.sets[req.Task.Kind]
	if !ok {
		return datasets.Message{}, fmt.Errorf("no prompt template for task kind %q", req.Task.Kind)
	}
	s, err := render(t, "feedback", newFeedbackData(req, cfg))
	return datasets.Message{Role: "user", Content: s}, err
}

func render(t *template.Template, name string, data any) (string, error) {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("prompt %s: %w", name, err)
	}
	return strings.TrimSpace(collapseBlankLines(b.String())) + "\n", nil
}

var blankRuns = regexp.MustCompile(`\n{3,}`)

func collapseBlankLines(s string) string { return blankRuns.ReplaceAllString(s, "\n\n") }

func newPromptData(req Request, cfg Config) promptData {
	t := req.Task
	d := promptData{
		Kind: t.Kind, Name: t.Name, Op: t.Op, Description: t.Description,
		Dtypes: t.Dtypes, Layouts: t.Layouts, Arch: req.Arch,
		File: t.Region.File, Region: t.Region.Text,
		Rules: t.Region.Rules, Signatures: t.Region.Signatures,
		Baseline: req.Baseline, Structured: cfg.Structured,
	}
	if d.Arch == "" && len(t.Archs) > 0 {
		d.Arch = t.Archs[0]
	}
	if t.Extra != nil {
		d.Declaration, d.Notes = t.Extra.Declaration, t.Extra.Notes
	}
	for _, prm := range t.Region.Params {
		if prm.Class == "knob" {
			d.Knobs = append(d.Knobs, prm)
		} else {
			d.Fixed = append(d.Fixed, prm)
		}
	}
	for _, s := range t.UsableSizes() {
		if s.Hidden {
			continue
		}
		v := sizeView{Name: s.Name, Args: strings.Join(s.Args, " ")}
		keys := make([]string, 0, len(s.Dims))
		for k := range s.Dims {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				v.Dims += " "
			}
			v.Dims += fmt.Sprintf("%s=%d", k, s.Dims[k])
		}
		d.Sizes = append(d.Sizes, v)
	}
	d.Before, d.After, d.StartLine, d.EndLine = regionContext(t, cfg.ContextLines)
	return d
}

// regionContext returns up to n lines of the region's file before and after
// the region, and the region's 1-based line span.
func regionContext(t *datasets.Task, n int) (before, after string, start, end int) {
	var content string
	found := false
	for _, f := range t.Files {
		if f.Path == t.Region.File {
			content, found = f.Content, true
			break
		}
	}
	r := t.Region
	if !found || r.Start < 0 || r.End > len(content) || r.Start > r.End {
		return "", "", t.Source.Lines[0], t.Source.Lines[1]
	}
	pre, post := content[:r.Start], content[r.End:]
	start = strings.Count(pre, "\n") + 1
	end = start + strings.Count(strings.TrimSuffix(r.Text, "\n"), "\n")
	if n <= 0 {
		return "", "", start, end
	}
	// Keep a partial first line of the region with the context it belongs to.
	lines := strings.SplitAfter(pre, "\n")
	before = strings.Join(lines[max(0, len(lines)-n-1):], "")
	lines = strings.SplitAfter(post, "\n")
	after = strings.Join(lines[:min(len(lines), n+1)], "")
	return before, after, start, end
}

func newFeedbackData(req Request, cfg Config) feedbackData {
	v := req.Verdict
	d := feedbackData{Round: req.Round, Baseline: req.Baseline, Structured: cfg.Structured}
	if v == nil {
		d.Status = "not verified"
		return d
	}
	d.Status, d.RejectedBy, d.Reason = v.Status, v.RejectedBy, trimText(v.Reason, 600)
	if !v.Gate.OK && (v.Gate.Rule != "" || v.Gate.Detail != "") {
		d.Gate = trimText(strings.TrimSpace(v.Gate.Rule+": "+v.Gate.Detail), 800)
	}
	if !v.Splice.OK && (v.Splice.Rule != "" || v.Splice.Detail != "") {
		d.Splice = trimText(strings.TrimSpace(v.Splice.Rule+": "+v.Splice.Detail), 800)
	}
	d.Compiled = v.Compile.OK
	if !v.Compile.OK {
		d.CompileLog = compileErrors(v.Compile.Log, 40, 4000)
	}
	hidden := map[string]bool{}
	for _, s := range req.Task.Sizes {
		hidden[s.Name] = s.Hidden
	}
	for _, r := range v.Correctness {
		if r.Pass || r.Who == "reference" {
			continue
		}
		size := r.Size
		if hidden[size] {
			size = "a held-out size"
		}
		line := fmt.Sprintf("size %s", size)
		if r.Seed != "" {
			line += ", inputs " + r.Seed
		}
		line += fmt.Sprintf(": exit %d", r.Exit)
		if r.Detail != "" {
			line += ": " + trimText(r.Detail, 400)
		}
		d.Failures = append(d.Failures, line)
		if len(d.Failures) == 8 {
			break
		}
	}
	if v.Timing != nil && !HeldOutTiming(req.Task, v.Timing) {
		d.RefMs, d.CandMs = v.Timing.RefMedian, v.Timing.CandMedian
	}
	d.Speedup = v.Speedup
	// Verifier text may name a held-out size or its arguments; never show them.
	if r := heldOutReplacer(req.Task); r != nil {
		d.Reason, d.Gate, d.Splice, d.CompileLog = r.Replace(d.Reason), r.Replace(d.Gate), r.Replace(d.Splice), r.Replace(d.CompileLog)
		for i := range d.Failures {
			d.Failures[i] = r.Replace(d.Failures[i])
		}
	}
	return d
}

// heldOutReplacer replaces t's held-out size names and arguments with
// placeholders; nil when t holds none out.
func heldOutReplacer(t *datasets.Task) *strings.Replacer {
	var pairs []string
	for _, s := range t.Sizes {
		if !s.Hidden {
			continue
		}
		pairs = append(pairs, s.Name, "a held-out size")
		if a := strings.Join(s.Args, " "); len(a) >= 3 {
			pairs = append(pairs, a, "[held-out arguments]")
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	return strings.NewReplacer(pairs...)
}

// HideHeldOut returns verifier text (a verdict's reason, a log) with t's
// held-out sizes and their arguments replaced as feedback replaces them,
// for text shown to a policy or its trainer outside a prompt.
func HideHeldOut(t *datasets.Task, text string) string {
	if r := heldOutReplacer(t); r != nil {
		return r.Replace(text)
	}
	return text
}

// HeldOutTiming reports whether a verdict's timing is of a held-out size,
// whose times feedback never shows.
func HeldOutTiming(t *datasets.Task, tm *datasets.Timing) bool {
	if tm == nil {
		return false
	}
	for _, s := range t.Sizes {
		if s.Name == tm.Size {
			return s.Hidden
		}
	}
	return false
}

// compileErrors keeps the lines of a compiler log that say what is wrong
// (errors first, then notes and warnings), within maxLines and maxBytes.
func compileErrors(log string, maxLines, maxBytes int) string {
	var errs, rest []string
	for _, l := range strings.Split(log, "\n") {
		l = strings.TrimRight(l, " \r\t")
		switch {
		case l == "":
		case strings.Contains(l, "error"):
			errs = append(errs, l)
		default:
			rest = append(rest, l)
		}
	}
	lines := append(errs, rest...)
	omitted := 0
	if len(lines) > maxLines {
		omitted = len(lines) - maxLines
		lines = lines[:maxLines]
	}
	s := trimText(strings.Join(lines, "\n"), maxBytes)
	if omitted > 0 {
		s += fmt.Sprintf("\n[%d more lines omitted]", omitted)
	}
	return s
}

// trimText cuts s to n bytes at a line or rune boundary and says so.
func trimText(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := s[:n]
	if i := strings.LastIndexByte(cut, '\n'); i > n/2 {
		cut = cut[:i]
	}
	for len(cut) > 0 && !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1]
	}
	return cut + " […]"
}
