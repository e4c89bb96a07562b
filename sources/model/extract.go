package model

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// codeLangs are the fence languages that may hold a C++/HIP region; an
// untagged fence counts too. Other tagged blocks (shell, output) are ignored.
var codeLangs = map[string]bool{"": true, "c": true, "cpp": true, "c++": true, "cxx": true, "cc": true,
	"h": true, "hpp": true, "hip": true, "cuda": true, "cu": true}

var fenceOpen = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})[ \t]*([^`\\s]*)")

// splitThinking moves <think>…</think> blocks that some servers leave in the
// content into the reasoning. An unclosed block means the answer never began.
func splitThinking(content, thinking string) (string, string, bool) {
	const open, closeTag = "<think>", "</think>"
	for {
		i := strings.Index(content, open)
		if i < 0 {
			return content, thinking, true
		}
		j := strings.Index(content[i:], closeTag)
		if j < 0 {
			return content[:i], thinking + content[i+len(open):], false
		}
		thinking += content[i+len(open) : i+j]
		content = content[:i] + content[i+j+len(closeTag):]
	}
}

// codeBlock is one fenced block of an answer.
type codeBlock struct {
	lang   string
	text   string
	closed bool
}

// fencedBlocks finds the fenced code blocks of a Markdown answer.
func fencedBlocks(s string) []codeBlock {
	var blocks []codeBlock
	lines := strings.SplitAfter(s, "\n")
	for i := 0; i < len(lines); i++ {
		m := fenceOpen.FindStringSubmatch(strings.TrimRight(lines[i], "\r\n"))
		if m == nil {
			continue
		}
		fence := m[1]
		b := codeBlock{lang: strings.ToLower(m[2])}
		var body strings.Builder
		for i++; i < len(lines); i++ {
			l := strings.TrimSpace(lines[i])
			if strings.HasPrefix(l, fence) && strings.Trim(l, fence[:1]) == "" {
				b.closed = true
				break
			}
			body.WriteString(lines[i])
		}
		b.text = body.String()
		blocks = append(blocks, b)
	}
	return blocks
}

// extraction is the outcome of reading a candidate out of an answer.
type extraction struct {
	Region    string
	Reasoning string
	Rejected  string // why no usable candidate; empty when Region is one
}

// extract reads the candidate region out of a model's answer. Every way an
// answer can be unusable ends in a rejection reason, never an error.
func extract(res callResult, reference string, structured bool, maxBytes int) extraction {
	content, reasoning, thinkClosed := splitThinking(res.Content, res.Thinking)
	x := extraction{Reasoning: strings.TrimSpace(reasoning)}
	reject := func(format string, a ...any) extraction {
		x.Rejected = fmt.Sprintf(format, a...)
		return x
	}
	switch {
	case res.DoneReason == "length":
		return reject("truncated: the answer hit the token limit")
	case !thinkClosed:
		return reject("truncated: the answer ended inside its reasoning")
	case strings.TrimSpace(content) == "":
		return reject("empty answer")
	}
	var region string
	if structured {
		r, why := jsonRegion(content)
		if why != "" {
			return reject("%s", why)
		}
		region = r
	} else {
		var candidates []string
		seen := map[string]bool{}
		emptyCode := false
		blocks := fencedBlocks(content)
		for _, b := range blocks {
			if !codeLangs[b.lang] {
				continue
			}
			if !b.closed {
				return reject("truncated: unterminated code block")
			}
			t := strings.TrimSpace(b.text)
			emptyCode = emptyCode || t == ""
			if t == "" || seen[t] {
				continue
			}
			seen[t] = true
			candidates = append(candidates, b.text)
		}
		switch {
		case len(candidates) == 0 && emptyCode:
			return reject("empty code block")
		case len(candidates) == 0 && len(blocks) > 0:
			return reject("no C++ code block in the answer")
		case len(candidates) == 0:
			return reject("no code block in the answer")
		case len(candidates) > 1:
			return reject("conflicting code blocks: %d different candidates", len(candidates))
		}
		region = candidates[0]
	}
	// Match the reference's trailing newline so the splice keeps the file's shape.
	region = strings.TrimRight(region, "\r\n")
	if strings.HasSuffix(reference, "\n") {
		region += "\n"
	}
	switch {
	case !utf8.ValidString(region) || strings.ContainsRune(region, 0):
		return reject("not valid UTF-8 text")
	case len(region) > maxBytes:
		return reject("absurd size: %d bytes (limit %d)", len(region), maxBytes)
	case strings.TrimSpace(region) == "":
		return reject("empty code block")
	case strings.Join(strings.Fields(region), " ") == strings.Join(strings.Fields(reference), " "):
		return reject("identical to the reference region")
	}
	x.Region = region
	return x
}

// jsonRegion reads {"region": …} from a structured answer, tolerating a
// fence around the JSON.
func jsonRegion(content string) (string, string) {
	s := strings.TrimSpace(content)
	if strings.HasPrefix(s, "```") || strings.HasPrefix(s, "~~~") {
		if bs := fencedBlocks(s); len(bs) == 1 && bs[0].closed {
			s = strings.TrimSpace(bs[0].text)
		}
	}
	var a struct {
		Region *string `json:"region"`
	}
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&a); err != nil {
		return "", fmt.Sprintf("invalid JSON answer: %v", err)
	}
	if dec.More() {
		return "", "invalid JSON answer: text after the object"
	}
	if a.Region == nil {
		return "", "JSON answer without a region"
	}
	return *a.Region, ""
}
