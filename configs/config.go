// Package configs holds kforge's YAML recipes (quickstart, nightly, release)
// and the strict decoder for them. Each stage defines its own section type
// next to the code that reads it; this package only composes them, so the
// config spec, the decoder and `kforge config explain` share one definition.
package configs

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"kforge/datasets"
	"kforge/datasets/tokenizer"
	"kforge/filters/verify"
	"kforge/internal/redact"
	"kforge/internal/sched"
	"kforge/serve"
	"kforge/sinks/hub"
	"kforge/sources/model"
	"kforge/sources/repos"
)

// Recipes are the YAML recipes shipped in this folder.
//
//go:embed *.yaml
var Recipes embed.FS

// Config is a whole recipe.
type Config struct {
	Name     string          `yaml:"name" required:"true" doc:"Name of the build; used in logs, the manifest and the dataset card."`
	Out      string          `yaml:"out" default:"out" doc:"Build directory (--out overrides)."`
	CacheDir string          `yaml:"cache_dir" doc:"Cache directory, shareable between runs, shards and hosts (--cache-dir overrides); empty means <out>/cache."`
	Log      LogConfig       `yaml:"log" doc:"Logging."`
	Run      RunConfig       `yaml:"run" doc:"How the run is split and shown."`
	Sources  repos.Config    `yaml:"sources" doc:"Repositories to mine for tasks."`
	Model    model.Config    `yaml:"model" doc:"The model that writes variants."`
	Verify   verify.Config   `yaml:"verify" doc:"How variants are judged."`
	Dataset  datasets.Config `yaml:"dataset" doc:"What the release holds."`
	Slurm    sched.Config    `yaml:"slurm" doc:"Defaults of kforge slurm submit."`
	Serve    serve.Config    `yaml:"serve" doc:"kforge serve: the verifier as an RL environment service."`
	Publish  *hub.Config     `yaml:"publish" doc:"Publish the release to the Hugging Face Hub at the end of a build that passed every gate (omit to not publish)."`
}

// LogConfig is the log section.
type LogConfig struct {
	Format string `yaml:"format" default:"text" enum:"text|json" doc:"Log format on stderr (--log-format overrides)."`
	Level  string `yaml:"level" default:"info" enum:"debug|info|warn|error" doc:"Least severe level logged."`
}

// RunConfig is the run section.
type RunConfig struct {
	Shards           int           `yaml:"shards" default:"0" min:"0" max:"100000" doc:"Shard count for schedulers that give only an index (Kubernetes JOB_COMPLETION_INDEX); Slurm arrays give both."`
	ProgressInterval time.Duration `yaml:"progress_interval" default:"30s" min:"1s" doc:"Interval of progress log lines when stderr is not a terminal."`
	MaxFailedItems   int           `yaml:"max_failed_items" default:"-1" min:"-1" doc:"Fail the run (exit 1) when more items than this fail for infrastructure reasons (-1: never)."`
}

// validate checks what the tags cannot: required keys and cross-field rules.
// Problems carry key paths; Parse fills in file and line.
func (c *Config) validate() []Problem {
	var ps []Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	ps = append(ps, requiredMissing(reflect.ValueOf(c).Elem(), "")...)
	if len(c.Sources.Repos) == 0 {
		add("sources.repos", "at least one repository is needed")
	}
	for i, r := range c.Dataset.Replay.Sources {
		p := fmt.Sprintf("dataset.replay.sources[%d]", i)
		switch {
		case r.Path == "" && r.Hub == "":
			add(p, "give path or hub")
		case r.Path != "" && r.Hub != "":
			add(p, "give path or hub, not both")
		case r.Hub != "" && r.Revision == "":
			add(p+".revision", "a Hub source needs a pinned revision, so a rebuild reads the same rows")
		}
	}
	for _, f := range c.Dataset.Formats {
		if !slicesContains([]string{"sft", "rl", "pairs", "multiturn"}, f) {
			add("dataset.formats", "%q is not one of sft, rl, pairs, multiturn", f)
		}
	}
	if c.Verify.MaxSpeedup < c.Verify.MinSpeedup {
		add("verify.max_speedup", "must be at least min_speedup (%g)", c.Verify.MinSpeedup)
	}
	if c.Publish != nil && strings.Count(c.Publish.Repo, "/") != 1 {
		add("publish.repo", "want ORG/NAME, got %q", c.Publish.Repo)
	}
	if c.Publish != nil && c.Publish.Endpoint != "" {
		if msg := checkURL(c.Publish.Endpoint, "http", "https"); msg != "" {
			add("publish.endpoint", "%s", msg)
		}
	}
	if c.Publish != nil && c.Publish.Tag != "" && !hub.ValidTag(c.Publish.Tag) {
		add("publish.tag", "%q is not a valid git tag name", c.Publish.Tag)
	}
	for _, p := range []struct{ key, v string }{{"slurm.partition", c.Slurm.Partition}, {"slurm.merge_partition", c.Slurm.MergePartition}} {
		if p.v != "" && !sched.ValidName(p.v) {
			add(p.key, "%q: use letters, digits, '.', '_' and '-'", p.v)
		}
	}
	if c.Model.Host != "" {
		h := c.Model.Host
		if !strings.Contains(h, "://") {
			h = "http://" + h // OLLAMA_HOST's form, host:port
		}
		if msg := checkURL(h, "http", "https"); msg != "" {
			add("model.host", "%s", msg)
		}
	}
	for _, p := range c.Model.Check() {
		add("model."+p.Key, "%s", p.Msg)
	}
	if k := c.Model.APIKeyEnv; k != "" && !envNameRe.MatchString(k) {
		add("model.api_key_env", "want the name of an environment variable (like OPENAI_API_KEY), never the key itself")
	}
	if _, _, err := tokenizer.ParseHub(c.Dataset.Tokenizer); err != nil {
		add("dataset.tokenizer", "%v", err)
	}
	for i, r := range c.Dataset.Replay.Sources {
		if r.Hub != "" && strings.Count(r.Hub, "/") != 1 {
			add(fmt.Sprintf("dataset.replay.sources[%d].hub", i), "want ORG/NAME, got %q", r.Hub)
		}
	}
	return ps
}

// Notes are advice on a valid recipe: choices that work, but perhaps not
// as the writer expects. `kforge config check` prints them; they never fail.
func (c *Config) Notes() []string {
	var ns []string
	if c.Publish != nil && (c.Run.Shards > 0 || c.Slurm.Partition != "") {
		ns = append(ns, "publish: a sharded build (--shard, a Slurm array, a Kubernetes index) does not publish from its shards; "+
			"`kforge merge -c FILE` publishes after the last shard (kforge slurm submit queues it), within publish.max_failed_items")
	}
	return ns
}

var (
	envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// checkURL says what is wrong with a server URL, or "" when it is fine. The
// URL itself is not repeated: it may hold a password.
func checkURL(s string, schemes ...string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "not a URL (" + redact.Text(err.Error()) + ")"
	}
	if !slicesContains(schemes, u.Scheme) || u.Host == "" {
		return fmt.Sprintf("want a %s URL with a host", strings.Join(schemes, " or "))
	}
	return ""
}

// checkPaths checks that the local files and directories the recipe names
// exist, so that a build fails at its start, not at the release after every
// model call: replay sources and decontamination sets. Relative paths are
// taken from the working directory, as the build reads them.
func (c *Config) checkPaths() []Problem {
	var ps []Problem
	check := func(path, p string) {
		if p == "" {
			return
		}
		_, err := os.Stat(p)
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrNotExist):
			ps = append(ps, Problem{Path: path, Msg: fmt.Sprintf("%s does not exist", p)})
		default:
			ps = append(ps, Problem{Path: path, Msg: err.Error()})
		}
	}
	for i, r := range c.Dataset.Replay.Sources {
		check(fmt.Sprintf("dataset.replay.sources[%d].path", i), r.Path)
	}
	for i, p := range c.Dataset.Decontaminate {
		check(fmt.Sprintf("dataset.decontaminate[%d]", i), p)
	}
	if _, hub, _ := tokenizer.ParseHub(c.Dataset.Tokenizer); !hub {
		check("dataset.tokenizer", c.Dataset.Tokenizer)
	}
	return ps
}

// requiredMissing lists required fields left empty, recursively.
func requiredMissing(v reflect.Value, path string) []Problem {
	var ps []Problem
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		k := yamlKey(f)
		if k == "" {
			continue
		}
		fv := v.Field(i)
		p := join(path, k)
		if f.Tag.Get("required") == "true" && fv.IsZero() {
			ps = append(ps, Problem{Path: p, Msg: "required"})
		}
		switch {
		case fv.Kind() == reflect.Struct && fv.Type() != durationType:
			ps = append(ps, requiredMissing(fv, p)...)
		case fv.Kind() == reflect.Pointer && !fv.IsNil() && fv.Elem().Kind() == reflect.Struct:
			ps = append(ps, requiredMissing(fv.Elem(), p)...)
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
			for j := range fv.Len() {
				ps = append(ps, requiredMissing(fv.Index(j), fmt.Sprintf("%s[%d]", p, j))...)
			}
		}
	}
	return ps
}

// Explain writes every key of a recipe with its type, default and meaning,
// from the same struct tags the decoder reads.
func Explain(w io.Writer) {
	explain(w, reflect.TypeOf(Config{}), "")
}

func explain(w io.Writer, t reflect.Type, path string) {
	for i := range t.NumField() {
		f := t.Field(i)
		k := yamlKey(f)
		if k == "" {
			continue
		}
		p := join(path, k)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		line := fmt.Sprintf("%s (%s)", p, typeName(ft))
		if d, ok := f.Tag.Lookup("default"); ok {
			line += " default " + d
		}
		if f.Tag.Get("required") == "true" {
			line += " required"
		}
		if e := f.Tag.Get("enum"); e != "" {
			line += " one of " + strings.ReplaceAll(e, "|", ", ")
		}
		if lo, hi := f.Tag.Get("min"), f.Tag.Get("max"); lo != "" || hi != "" {
			line += fmt.Sprintf(" range [%s, %s]", orDash(lo), orDash(hi))
		}
		fmt.Fprintf(w, "%s\n    %s\n", line, f.Tag.Get("doc"))
		switch {
		case ft.Kind() == reflect.Struct && ft != durationType:
			explain(w, ft, p)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			explain(w, ft.Elem(), p+"[]")
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
