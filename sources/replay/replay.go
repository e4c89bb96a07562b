// Package replay reads general instruction data that is mixed into the sft
// split against catastrophic forgetting. It reads local JSONL and Parquet
// files (Parquet streamed row group by row group with parquet-go, any schema
// with a messages or prompt/response shape), local Hugging Face dataset
// folders, and Hub datasets by repo id at a pinned revision, downloaded once
// into a cache through a HubFetcher.
package replay

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"kforge/internal/parquetrows"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"kforge/datasets"
)

// HubFetcher downloads the data files of a Hub dataset at a pinned revision
// into cacheDir (once; later calls reuse them) and returns their local paths.
// The Hub client, internal/hubclient.Client, satisfies it.
type HubFetcher interface {
	Download(ctx context.Context, repo, revision, cacheDir string) ([]string, error)
}

// Options are what reading a source may need beyond the source itself.
type Options struct {
	Hub      HubFetcher // needed only by Hub sources
	CacheDir string     // where Hub downloads go
}

// Row is one replay conversation.
type Row struct {
	Messages []datasets.ChatMessage
	Index    int64 // position in the source (files sorted, rows in file order)
}

// Label names a source for the card, the manifest and the replay_source column.
func Label(src datasets.ReplaySource) string {
	if src.Hub != "" {
		return "hub:" + src.Hub + "@" + src.Revision
	}
	return "path:" + src.Path
}

// Files resolves a source to its data files, in a fixed order.
func Files(ctx context.Context, src datasets.ReplaySource, opt Options) ([]string, error) {
	split := cmpOr(src.Split, "train")
	if src.Hub != "" {
		if src.Revision == "" {
			return nil, fmt.Errorf("replay %s: a Hub source needs a pinned revision", src.Hub)
		}
		if opt.Hub == nil {
			return nil, fmt.Errorf("replay %s: no Hub client configured", src.Hub)
		}
		paths, err := opt.Hub.Download(ctx, src.Hub, src.Revision, opt.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("replay %s@%s: %w", src.Hub, src.Revision, err)
		}
		return pickSplit(paths, split, src.Hub)
	}
	st, err := os.Stat(src.Path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if !st.IsDir() {
		return []string{src.Path}, nil
	}
	var paths []string
	err = filepath.WalkDir(src.Path, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() && strings.HasPrefix(de.Name(), ".") && p != src.Path {
			return fs.SkipDir // .cache, .git
		}
		if !de.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", src.Path, err)
	}
	return pickSplit(paths, split, src.Path)
}

// pickSplit keeps the data files of one split, by the Hub's naming rules: a
// file or folder named after the split (train-00000-of-00001.parquet,
// train/0.jsonl). A dataset with no split names is all train.
func pickSplit(paths []string, split, what string) ([]string, error) {
	var data, named []string
	for _, p := range paths {
		switch strings.ToLower(filepath.Ext(p)) {
		case ".parquet", ".jsonl":
		default:
			continue
		}
		data = append(data, p)
		for _, part := range strings.Split(filepath.ToSlash(p), "/") {
			if part == split || strings.HasPrefix(part, split+"-") || strings.HasPrefix(part, split+".") || strings.HasPrefix(part, split+"_") {
				named = append(named, p)
				break
			}
		}
	}
	slices.Sort(data)
	slices.Sort(named)
	switch {
	case len(named) > 0:
		return named, nil
	case len(data) > 0 && split == "train":
		return data, nil
	case len(data) > 0:
		return nil, fmt.Errorf("replay %s: no data files for split %q", what, split)
	}
	return nil, fmt.Errorf("replay %s: no .parquet or .jsonl data files", what)
}

// Each streams the rows of a source to fn, in a fixed order. Rows with no
// usable conversation are skipped and counted; a file with none at all is an
// error (its schema has no messages or prompt/response shape).
func Each(ctx context.Context, src datasets.ReplaySource, opt Options, fn func(Row) error) (skipped int64, err error) {
	files, err := Files(ctx, src, opt)
	if err != nil {
		return 0, err
	}
	var index int64
	for _, path := range files {
		var used, skip int64
		emit := func(v map[string]any) error {
			ms, ok := Conversation(v)
			if !ok {
				skip++
				return nil
			}
			used++
			index++
			return fn(Row{Messages: ms, Index: index - 1})
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".parquet":
			err = parquetrows.Each(ctx, path, emit)
		default:
			err = eachJSONL(ctx, path, emit)
		}
		if err != nil {
			return skipped, fmt.Errorf("replay %s: %w", path, err)
		}
		if used == 0 && skip > 0 {
			return skipped, fmt.Errorf("replay %s: no row has a messages or prompt/response shape", path)
		}
		skipped += skip
	}
	return skipped, nil
}

func eachJSONL(ctx context.Context, path string, fn func(map[string]any) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	for line := 1; sc.Scan(); line++ {
		if line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Conversation finds a conversation in a row of any of the common shapes:
// messages or conversations (role/content or ShareGPT from/value), prompt
// and completion as message lists (TRL), or one of the string pairs
// prompt/response, prompt/completion, instruction(+input)/output,
// question/answer, query/response. ok is false when there is none.
func Conversation(v map[string]any) (ms []datasets.ChatMessage, ok bool) {
	for _, k := range []string{"messages", "conversations", "conversation"} {
		if ms, ok := messageList(v[k]); ok {
			return ms, true
		}
	}
	if p, ok := messageList(v["prompt"]); ok {
		if c, ok := messageList(v["completion"]); ok {
			return append(p, c...), true
		}
	}
	pairs := [][2]string{{"prompt", "response"}, {"prompt", "completion"}, {"instruction", "output"},
		{"question", "answer"}, {"query", "response"}, {"input", "output"}}
	for _, kv := range pairs {
		u, _ := v[kv[0]].(string)
		a, _ := v[kv[1]].(string)
		if strings.TrimSpace(u) == "" || strings.TrimSpace(a) == "" {
			continue
		}
		if kv[0] == "instruction" {
			if in, _ := v["input"].(string); strings.TrimSpace(in) != "" {
				u += "\n\n" + in
			}
		}
		return []datasets.ChatMessage{{Role: "user", Content: u}, {Role: "assistant", Content: a}}, true
	}
	return nil, false
}

// messageList reads a list of role/content (or from/value) objects; it needs
// at least one message and an assistant answer somewhere.
func messageList(x any) ([]datasets.ChatMessage, bool) {
	list, ok := x.([]any)
	if !ok || len(list) == 0 {
		return nil, false
	}
	out := make([]datasets.ChatMessage, 0, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, false
		}
		role, _ := m["role"].(string)
		content, hasContent := m["content"].(string)
		if role == "" {
			from, _ := m["from"].(string)
			role = map[string]string{"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}[from]
			content, hasContent = m["value"].(string)
		}
		if role == "" || !hasContent {
			return nil, false
		}
		out = append(out, datasets.ChatMessage{Role: role, Content: content})
	}
	return out, true
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Reader reads replay sources with fixed Options: the release assembly's
// replay input (assemble.Replay), which cmd/kforge wires in.
type Reader struct{ Options }

// Label is Label(src).
func (r Reader) Label(src datasets.ReplaySource) string { return Label(src) }

// Each calls fn with every conversation of src and its position in it.
func (r Reader) Each(ctx context.Context, src datasets.ReplaySource, fn func(index int64, msgs []datasets.ChatMessage) error) (int64, error) {
	return Each(ctx, src, r.Options, func(row Row) error { return fn(row.Index, row.Messages) })
}
