// Package datasets is kforge's shared vocabulary: the Task, Variant, Verdict and
// Record types that move between stages, what each release column holds (its
// documentation), and the build config's dataset section. It imports no other
// kforge package, and no Arrow: how records become columns (schemas, batches,
// encoders) belongs to the Parquet writer, sinks/parquet.
package datasets

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// Task kinds.
const (
	KindCKExample  = "ck-example"  // Composable Kernel classic example (device-op instance)
	KindCKTile     = "ck-tile"     // ck_tile example (tile configuration)
	KindHIPProgram = "hip-program" // self-contained HIP program with a main
)

// Task is one kernel-optimisation problem: a reference program, the region a
// candidate may change, the problem it solves, and how to build, run and judge it.
// Tasks are serialised one per line in tasks.jsonl; the same JSON is the task
// spec column of the rl dataset, so a reward function can re-verify from a row.
type Task struct {
	ID      string   `json:"id"`     // stable content hash (see TaskID)
	Kind    string   `json:"kind"`   // KindCKExample, KindCKTile, KindHIPProgram
	Name    string   `json:"name"`   // human name, e.g. "gemm_xdl_fp16/DeviceGemmInstance"
	Op      string   `json:"op"`     // op family: gemm, conv_fwd, softmax, vector_add, …
	Dtypes  []string `json:"dtypes"` // canonical names: fp16, bf16, fp32, fp8, int8, …
	Layouts []string `json:"layouts,omitempty"`
	// Description says in words what the program computes (shown in prompts).
	Description string `json:"description,omitempty"`

	Source Source `json:"source"`
	// Files are the program's own files that a candidate is spliced into and
	// that the build compiles, relative to the task root. Content is inline so a
	// task is self-describing; large shared headers stay in the repository and
	// are named by Build.IncludeDirs (resolved against the checkout at Source.Commit).
	Files  []File       `json:"files"`
	Region Region       `json:"region"`
	Sizes  []Size       `json:"sizes"`
	Build  BuildRecipe  `json:"build"`
	Run    RunRecipe    `json:"run"`
	Archs  []string     `json:"archs,omitempty"` // targets it builds for, e.g. gfx90a
	Extra  *TaskContext `json:"context,omitempty"`
	// SizeNotes say which sizes could not be generated valid for the
	// program's own rules, and why (e.g. no tail for an unpadded instance).
	SizeNotes []string `json:"size_notes,omitempty"`
	// Family groups near-identical tasks (the same region text, up to
	// whitespace, comments and data type names, of the same kind and op:
	// one instance in several dtype programs, one sample copied across
	// repositories). Splits keep a family together. Not part of the id.
	Family string `json:"family,omitempty"`
	// Qualification is what running the unchanged reference found (kforge
	// qualify, or a GPU backend on first use); nil when never qualified.
	Qualification *Qualification `json:"qualification,omitempty"`
}

// Qualification statuses, of a task and of each size.
const (
	QualQualified = "qualified"
	QualDropped   = "dropped"
	// QualUnchecked: the dry run could not judge it (the program calls a
	// HIP function the dry-run runtime lacks); it is kept.
	QualUnchecked = "unchecked"
)

// Qualification records how a task's unchanged reference fared when run the
// way verification runs it: per size, qualified or dropped with the reason.
// A dry run (Backend "dry-run") judges only the host side (sizes refused,
// arch checks, arguments, crashes, which kernels were launched), never
// correctness; a GPU backend requires every seed to pass and be timed.
type Qualification struct {
	Backend   string     `json:"backend"`
	Toolchain string     `json:"toolchain,omitempty"`
	Arch      string     `json:"arch,omitempty"`
	Status    string     `json:"status"`         // QualQualified or QualDropped
	Rule      string     `json:"rule,omitempty"` // why a dropped task was dropped: dead-region, too-few-sizes, compile, …
	Reason    string     `json:"reason,omitempty"`
	Sizes     []SizeQual `json:"sizes"`
	// Launched are the kernels the reference launched (dry run: demangled names).
	Launched []string `json:"launched,omitempty"`
	Note     string   `json:"note,omitempty"`
}

// SizeQual is one size's qualification.
type SizeQual struct {
	Name   string `json:"name"`
	Status string `json:"status"`         // QualQualified, QualDropped or QualUnchecked
	Rule   string `json:"rule,omitempty"` // refused, crash, timeout, dead-region, reference-fails, …
	Reason string `json:"reason,omitempty"`
	// RefMS is the reference's kernel time on a GPU backend.
	RefMS float64 `json:"reference_ms,omitempty"`
}

// Usable reports whether t may be used: never qualified, or qualified.
func (t *Task) Usable() bool {
	return t.Qualification == nil || t.Qualification.Status == QualQualified
}

// UsableSizes are the sizes verification runs: all of them when t was never
// qualified, else those its qualification did not drop (a size it does not
// name is not used).
func (t *Task) UsableSizes() []Size {
	q := t.Qualification
	if q == nil {
		return t.Sizes
	}
	ok := map[string]bool{}
	for _, s := range q.Sizes {
		ok[s.Name] = s.Status == QualQualified || s.Status == QualUnchecked
	}
	var out []Size
	for _, s := range t.Sizes {
		if ok[s.Name] {
			out = append(out, s)
		}
	}
	return out
}

// Source is the provenance of a task.
type Source struct {
	Repo      string `json:"repo"`             // URL or path as configured
	Commit    string `json:"commit"`           // 40-hex commit the task was mined at
	Subdir    string `json:"subdir,omitempty"` // project inside a monorepo, e.g. projects/composablekernel
	Path      string `json:"path"`             // file path relative to the project root
	Blob      string `json:"blob"`             // git blob SHA of Path at Commit
	Lines     [2]int `json:"lines"`            // 1-based inclusive line span of the region
	License   string `json:"license"`          // SPDX id
	Copyright string `json:"copyright,omitempty"`
}

// File is one file of a task's program.
type File struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

// Region is the editable part of a task: the one span of one file that a
// candidate replaces. Everything outside it stays byte-identical.
type Region struct {
	File  string `json:"file"`  // path of the file in Task.Files
	Start int    `json:"start"` // byte offset of the first byte of the region
	End   int    `json:"end"`   // byte offset one past the last byte
	Text  string `json:"text"`  // the reference text, File.Content[Start:End]
	// Kind says what the region holds and so which gate rules apply:
	// "ck-instance" (a type alias with a template argument list),
	// "tile-config" (ck_tile tile configuration), "hip-kernels" (__global__ and
	// __device__ functions).
	Kind string `json:"kind"`
	// Rules are the human-readable rules shown to the model and enforced by the gate.
	Rules []string `json:"rules,omitempty"`
	// Signatures are the kernel signatures a hip-kernels region must keep.
	Signatures []string `json:"signatures,omitempty"`
	// Params name and classify the template arguments of a ck-instance region.
	Params []TemplateParam `json:"params,omitempty"`
}

// TemplateParam is one template argument of a device-op instance.
type TemplateParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Class string `json:"class"` // "problem" or "knob"
}

// Size is one problem size: the arguments that make the program solve it.
type Size struct {
	Name   string            `json:"name"`             // e.g. "default", "m3840n4096k4096", "tail"
	Args   []string          `json:"args"`             // program arguments for this size
	Dims   map[string]int64  `json:"dims,omitempty"`   // M, N, K, … where known
	Hidden bool              `json:"hidden,omitempty"` // never shown in a prompt
	Origin string            `json:"origin,omitempty"` // example_default, generated_tail, …
	Env    map[string]string `json:"env,omitempty"`
}

// BuildRecipe says how to compile a task's program.
type BuildRecipe struct {
	Sources     []string `json:"sources"`                // files to compile, relative to the task root
	RepoSources []string `json:"repo_sources,omitempty"` // extra sources from the checkout
	IncludeDirs []string `json:"include_dirs,omitempty"` // relative to the checkout (project root)
	Flags       []string `json:"flags,omitempty"`        // e.g. -O3 -std=c++17
	// ConfigHeader is the content of a generated ck/config.h, when needed.
	ConfigHeader string `json:"config_header,omitempty"`
	// NeedsCheckout is true when the build reads files from the repository
	// checkout (IncludeDirs, RepoSources) and not only from Files.
	NeedsCheckout bool `json:"needs_checkout,omitempty"`
	// Needs is what the toolchain must provide beyond a default build: a
	// minimum HIP version, preprocessor defines (already in Flags), and why.
	Needs *Needs `json:"needs,omitempty"`
	// Rewrites are edits kforge makes to the program outside the region
	// before every compile, of the reference and of each candidate alike:
	// for a program whose sizes live in its code, they turn those constants
	// into reads of the size's environment (Size.Env), so one build runs
	// every size. A candidate never sees or edits them.
	Rewrites []Rewrite `json:"rewrites,omitempty"`
	// Generate, when set, runs the repository's own code generator before
	// the compile (ck_tile fmha): its outputs join Sources.
	Generate *GenerateStep `json:"generate,omitempty"`
}

// Rewrite replaces File[Start:End], which must read Text, with With.
// Offsets are those of the task's Files; Start == End inserts.
type Rewrite struct {
	File  string `json:"file"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	Text  string `json:"text"`
	With  string `json:"with"`
}

// GenerateStep is a pre-build code generation step: the repository's
// generator, run from a copy of its directory in the checkout with the
// task's files (the spliced region among them) written over it, confined as
// compiles are (no network). Everything needed to regenerate exactly the
// task's kernel is here.
type GenerateStep struct {
	// Interpreter runs Script: "python3" (also listed in Needs.Tools).
	Interpreter string `json:"interpreter"`
	// Tree is the generator's directory in the checkout (relative to the
	// project root), copied into the build directory at the same path.
	Tree string `json:"tree"`
	// Script is the generator, relative to the project root, under Tree.
	Script string `json:"script"`
	// Args are the script's arguments (the one kernel it writes: a filter).
	Args []string `json:"args,omitempty"`
	// OutDir is the directory the generator writes, relative to the build
	// root (named in Args).
	OutDir string `json:"out_dir"`
	// Outputs are the file name patterns (path.Match, in OutDir) compiled
	// with Sources: each must match at least one written file.
	Outputs []string `json:"outputs"`
}

// Needs records a task's toolchain requirements.
type Needs struct {
	MinHIP  string   `json:"min_hip,omitempty"` // e.g. "5.5": older hipcc cannot build it
	Defines []string `json:"defines,omitempty"` // e.g. CK_EXPERIMENTAL_BIT_INT_EXTENSION_INT4
	Flags   []string `json:"flags,omitempty"`   // compiler flags the defines come with
	Reason  string   `json:"reason,omitempty"`
	// Tools are programs the build runs besides the compiler (python3 for
	// a generate step); a machine without one skips the task.
	Tools []string `json:"tools,omitempty"`
}

// UnmetBy says why a compiler of HIP version hip cannot build a task with
// these needs ("" when it can, or when either version is unknown).
func (n *Needs) UnmetBy(hip string) string {
	if n == nil || n.MinHIP == "" || hip == "" {
		return ""
	}
	if CompareVersions(hip, n.MinHIP) >= 0 {
		return ""
	}
	why := "needs HIP >= " + n.MinHIP + " (hipcc is " + hip + ")"
	if n.Reason != "" {
		why += ": " + n.Reason
	}
	return why
}

// CompareVersions compares dotted numeric versions such as 5.2.21153-0 and
// 5.5 component by component (missing components are 0).
func CompareVersions(a, b string) int {
	num := func(s string) []int {
		var out []int
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' }) {
			x := 0
			for _, c := range f {
				if c < '0' || c > '9' {
					break
				}
				x = x*10 + int(c-'0')
			}
			out = append(out, x)
		}
		return out
	}
	x, y := num(a), num(b)
	for i := 0; i < max(len(x), len(y)); i++ {
		var p, q int
		if i < len(x) {
			p = x[i]
		}
		if i < len(y) {
			q = y[i]
		}
		if p != q {
			if p < q {
				return -1
			}
			return 1
		}
	}
	return 0
}

// RunRecipe says how to run a task's program and read its output.
type RunRecipe struct {
	Pass PassRule `json:"pass"`
	// PerfPattern is a regular expression with a named group "ms" that matches
	// the program's own timing line.
	PerfPattern string `json:"perf_pattern,omitempty"`
	// Seeds are extra argument sets (init methods, seeds) each size is run with.
	Seeds []SeedArgs `json:"seeds,omitempty"`
	// TimeoutSeconds bounds one run of the program.
	TimeoutSeconds float64 `json:"timeout_seconds,omitempty"`
	// Tolerance is informative: the program itself judges correctness.
	Tolerance *Tolerance `json:"tolerance,omitempty"`
}

// SeedArgs is one named way to initialise inputs.
type SeedArgs struct {
	Name string            `json:"name"`
	Args []string          `json:"args,omitempty"`
	Env  map[string]string `json:"env,omitempty"`
}

// PassRule decides whether one run of a program passed.
type PassRule struct {
	ExitZero bool     `json:"exit_zero"`
	Fail     []string `json:"fail,omitempty"` // substrings that fail the run wherever they appear
	Pass     []string `json:"pass,omitempty"` // regular expressions that must all match the output
}

// Tolerance is a numeric tolerance.
type Tolerance struct {
	RTol float64 `json:"rtol"`
	ATol float64 `json:"atol"`
}

// TaskContext is extra text for prompts (the device-op template declaration,
// helper code) that is not part of the program.
type TaskContext struct {
	Declaration string `json:"declaration,omitempty"`
	Notes       string `json:"notes,omitempty"`
}

// Message is one chat message.
type Message struct {
	Role     string `json:"role"` // system, user, assistant
	Content  string `json:"content"`
	Thinking string `json:"thinking,omitempty"`
}

// Sampling are the generation options that shaped a variant.
type Sampling struct {
	Temperature float64 `json:"temperature"`
	TopP        float64 `json:"top_p"`
	Seed        int     `json:"seed"`
	NumCtx      int     `json:"num_ctx,omitempty"`
	MaxTokens   int     `json:"max_tokens,omitempty"`
}

// Variant is one candidate for a task, written by a model.
type Variant struct {
	ID            string    `json:"id"`
	TaskID        string    `json:"task_id"`
	Round         int       `json:"round"`
	Sample        int       `json:"sample"`
	Parent        string    `json:"parent,omitempty"` // variant this one refines
	Provider      string    `json:"provider"`         // ollama, openai
	Model         string    `json:"model"`
	ModelDigest   string    `json:"model_digest,omitempty"`
	PromptVersion string    `json:"prompt_version"`
	Messages      []Message `json:"messages"` // the whole conversation, answer last
	Sampling      Sampling  `json:"sampling"`
	Region        string    `json:"region"`              // extracted candidate region text
	Reasoning     string    `json:"reasoning,omitempty"` // the model's thinking, if any
	// Rejected is set when no usable candidate could be extracted; the variant
	// is then recorded but never verified.
	Rejected         string  `json:"rejected,omitempty"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	DurationSeconds  float64 `json:"duration_seconds"`
	Cached           bool    `json:"cached,omitempty"`
}

// Verdict statuses.
const (
	StatusKept        = "kept"
	StatusRejected    = "rejected"
	StatusQuarantined = "quarantined"
	// StatusUnverified: every check that ran passed, but the backend cannot
	// measure on a GPU (compile-only), so the variant is never kept.
	StatusUnverified = "unverified"
)

// Verdict is what the verifier found about one variant.
type Verdict struct {
	VariantID   string          `json:"variant_id"`
	TaskID      string          `json:"task_id"`
	Backend     string          `json:"backend"`
	Device      Device          `json:"device"`
	Gate        Check           `json:"gate"`
	Splice      Check           `json:"splice"`
	Compile     CompileResult   `json:"compile"`
	Correctness []RunResult     `json:"correctness,omitempty"`
	Timing      *Timing         `json:"timing,omitempty"`
	Speedup     float64         `json:"speedup,omitempty"`
	Status      string          `json:"status"`                // StatusKept, …
	RejectedBy  string          `json:"rejected_by,omitempty"` // the rule that rejected or quarantined it
	Reason      string          `json:"reason,omitempty"`
	Sizes       []string        `json:"sizes,omitempty"`
	Logs        string          `json:"logs,omitempty"` // trimmed excerpts
	Seconds     float64         `json:"seconds"`
	Extra       json.RawMessage `json:"extra,omitempty"`
}

// Kept reports whether the verdict admits the variant into a dataset.
func (v Verdict) Kept() bool { return v.Status == StatusKept }

// CandidateRunsPass reports whether the candidate ran at least once and
// every one of its runs passed (the reference's runs do not count).
func (v Verdict) CandidateRunsPass() bool {
	n := 0
	for _, r := range v.Correctness {
		if r.Who == "reference" {
			continue
		}
		n++
		if !r.Pass {
			return false
		}
	}
	return n > 0
}

// Device describes where a verdict was reached.
type Device struct {
	Name      string `json:"name"`
	Arch      string `json:"arch"`
	Driver    string `json:"driver,omitempty"`
	Toolchain string `json:"toolchain,omitempty"`
	Clocks    string `json:"clocks,omitempty"`
}

// Check is the result of one pass/fail step.
type Check struct {
	OK     bool   `json:"ok"`
	Rule   string `json:"rule,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// CompileResult is the result of compiling a candidate.
type CompileResult struct {
	OK      bool              `json:"ok"`
	Seconds float64           `json:"seconds"`
	Log     string            `json:"log,omitempty"`
	Kernels []KernelResources `json:"kernels,omitempty"`
	Cached  bool              `json:"cached,omitempty"`
}

// KernelResources is the compiler's per-kernel resource usage.
type KernelResources struct {
	Name       string `json:"name"`
	VGPRs      int    `json:"vgprs"`
	SGPRs      int    `json:"sgprs"`
	AGPRs      int    `json:"agprs"`
	Scratch    int    `json:"scratch_bytes"`
	VGPRSpill  int    `json:"vgpr_spill"`
	SGPRSpill  int    `json:"sgpr_spill"`
	LDS        int    `json:"lds_bytes"`
	Occupancy  int    `json:"occupancy"`
	Registers  int    `json:"registers,omitempty"` // NVIDIA: registers per thread
	SharedMemB int    `json:"shared_bytes,omitempty"`
}

// RunResult is one correctness run.
type RunResult struct {
	Size    string  `json:"size"`
	Seed    string  `json:"seed,omitempty"`
	Who     string  `json:"who"` // reference or candidate
	Pass    bool    `json:"pass"`
	Exit    int     `json:"exit"`
	Detail  string  `json:"detail,omitempty"`
	Seconds float64 `json:"seconds"`
}

// Timing holds every repetition of reference and candidate, in milliseconds.
type Timing struct {
	Source     string     `json:"source"` // rocprofv3, ncu, program
	Size       string     `json:"size"`
	Reference  []float64  `json:"reference_ms"`
	Candidate  []float64  `json:"candidate_ms"`
	RefMedian  float64    `json:"reference_median_ms"`
	CandMedian float64    `json:"candidate_median_ms"`
	RefIQR     [2]float64 `json:"reference_iqr_ms"`
	CandIQR    [2]float64 `json:"candidate_iqr_ms"`
}

// Hash returns the hex SHA-256 of the canonical JSON of parts, each prefixed
// by its kind so that different kinds of value never share a hash.
func Hash(kind string, parts ...any) string {
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	enc := json.NewEncoder(h)
	for _, p := range parts {
		if err := enc.Encode(p); err != nil {
			// Values hashed here are plain data; a failure is a programming error.
			panic("datasets.Hash: " + err.Error())
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TaskID is the stable id of a task: a hash of what defines the problem
// (kind, source path and blob, region span and text, sizes) so an unchanged file
// yields the same ids at every commit.
func TaskID(t *Task) string {
	return Hash("task", t.Kind, t.Source.Repo, t.Source.Subdir, t.Source.Path, t.Source.Blob,
		t.Region.File, t.Region.Start, t.Region.End, t.Region.Text, t.Name, t.Sizes)[:24]
}

// VariantID is the id of a variant: task, round, sample, parent and the region text.
func VariantID(v *Variant) string {
	return Hash("variant", v.TaskID, v.Round, v.Sample, v.Parent, v.Model, v.PromptVersion, v.Region)[:24]
}
