package gate_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"kforge/datasets"
	"kforge/filters/compile"
	"kforge/filters/gate"
	"kforge/pipeline"
)

const (
	beginMark = "// KFORGE-REGION-BEGIN\n"
	endMark   = "// KFORGE-REGION-END"
)

// astFixture is the harness of testdata/ast with its region, parsed by the
// real hipcc front end.
type astFixture struct {
	cc      *compile.Compiler
	file    string
	region  datasets.Region
	harness gate.Harness
	facts   gate.Facts
	line    int
}

var (
	fixtureOnce sync.Once
	fixture     *astFixture
	fixtureErr  string
)

func loadFixture(t testing.TB) *astFixture {
	t.Helper()
	fixtureOnce.Do(func() {
		fixture, fixtureErr = newASTFixture("testdata/ast/harness.hip", "__global__ void poly(const float* x, float* y, int n)")
	})
	if fixture == nil {
		skipOrFail(t, fixtureErr)
	}
	return fixture
}

func skipOrFail(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" || !strings.Contains(why, "not found") {
		t.Fatalf("AST fixture: %s", why)
	}
	t.Skip(why)
}

// newASTFixture parses the harness file's region (between the markers) as
// the reference, with the real hipcc front end.
func newASTFixture(harness string, sigs ...string) (*astFixture, string) {
	cc, err := compile.New(context.Background(), compile.Compiler{Kind: compile.HIPCC, Archs: []string{"gfx90a"}, WorkDir: os.TempDir(), Cache: pipeline.NewMemCache()})
	if err != nil {
		return nil, err.Error()
	}
	b, err := os.ReadFile(harness)
	if err != nil {
		return nil, err.Error()
	}
	s := string(b)
	start := strings.Index(s, beginMark) + len(beginMark)
	end := strings.Index(s, endMark)
	f := &astFixture{cc: cc, file: s, line: strings.Count(s[:start], "\n") + 1}
	f.region = datasets.Region{File: "main.hip", Start: start, End: end, Text: s[start:end], Kind: gate.KindHIPKernels, Signatures: sigs}
	f.harness = gate.NewHarness(s[:start], s[end:])
	ref, log := f.parse(nil, f.region.Text)
	if ref == nil {
		return nil, "the reference does not parse: " + log
	}
	f.facts = gate.ReferenceFacts(ref)
	return f, ""
}

// parse parses a region in the fixture's harness; with t nil, an error
// is the returned log.
func (f *astFixture) parse(t testing.TB, region string) (*gate.Node, string) {
	fail := func(err error) (*gate.Node, string) {
		if t == nil {
			return nil, err.Error()
		}
		t.Helper()
		t.Fatal(err)
		return nil, ""
	}
	tu := gate.TranslationUnit(f.file, f.region.Start, f.region.End, region)
	job := compile.Job{Files: []datasets.File{{Path: "main.hip", Content: tu}}, Flags: []string{"-std=c++17"}}
	p, err := f.cc.Parse(context.Background(), job, "main.hip", gate.RegionNamespace)
	if err != nil {
		return fail(err)
	}
	if !p.OK {
		return nil, p.Log
	}
	n, err := gate.ParseDump(p.AST, "main.hip")
	if err != nil {
		return fail(err)
	}
	return n, ""
}

// check is the whole gate on a region: the text pass, then the compiler's
// view. It returns the rule of the first rejection ("ok" when none) and
// the AST check's own verdict.
func (f *astFixture) check(t testing.TB, region string) (first, ast string, detail string) {
	first, ast = "ok", "ok"
	if rej := gate.Check(f.region, region); rej != nil {
		first, detail = rej.Rule, rej.Detail
	}
	n, log := f.parse(t, region)
	if n == nil {
		ast = gate.RuleParse
		if first == "ok" {
			first, detail = ast, log
		}
		return
	}
	rej := gate.CheckAST(n, f.facts, f.harness, f.line)
	if rej == nil {
		rej = gate.CheckFileScope(n, f.names(t, region), f.facts, f.line)
	}
	if rej != nil {
		ast = rej.Rule
		if first == "ok" {
			first, detail = rej.Rule, rej.Detail
		}
	}
	return
}

// names is what the check's translation unit declares at file scope.
func (f *astFixture) names(t testing.TB, region string) map[string]bool {
	t.Helper()
	tu := gate.TranslationUnit(f.file, f.region.Start, f.region.End, region)
	job := compile.Job{Files: []datasets.File{{Path: "main.hip", Content: tu}}, Flags: []string{"-std=c++17"}}
	p, err := f.cc.Names(context.Background(), job, "main.hip")
	if err != nil || !p.OK {
		t.Fatalf("names: %v %s", err, p.Log)
	}
	return gate.FileScopeNames(p.AST)
}

var reWant = regexp.MustCompile(`(?m)^// want: (\S+)`)

// TestASTGate: every hostile candidate of testdata/ast is rejected by the
// compiler's view alone, with the rule its header names, whatever the text
// pass says; every honest one passes both.
func TestASTGate(t *testing.T) {
	f := loadFixture(t)
	files, _ := filepath.Glob("testdata/ast/*.hip")
	sort.Strings(files)
	n := 0
	for _, p := range files {
		if filepath.Base(p) == "harness.hip" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m := reWant.FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s has no '// want:' line", p)
		}
		want := string(m[1])
		n++
		t.Run(strings.TrimSuffix(filepath.Base(p), ".hip"), func(t *testing.T) {
			first, ast, detail := f.check(t, string(b))
			if want == "ok" {
				if first != "ok" {
					t.Fatalf("honest region rejected by %s: %s", first, detail)
				}
				return
			}
			if ast != want {
				t.Fatalf("the AST check says %s, want %s (first rejection %s: %s)", ast, want, first, detail)
			}
			if first == "ok" || detail == "" {
				t.Fatalf("accepted: %s", detail)
			}
		})
	}
	if n < 20 {
		t.Fatalf("only %d fixture candidates", n)
	}
}

// TestASTRejectionNamesTheLine: a rejection points at the region's line.
func TestASTRejectionNamesTheLine(t *testing.T) {
	f := loadFixture(t)
	region := "__global__ void poly(const float* x, float* y, int n)\n{\n    int i = threadIdx.x;\n    static int calls;\n    if (i < n) y[i] = x[i] + calls++;\n}\n"
	_, ast, _ := f.check(t, region)
	n, _ := f.parse(t, region)
	rej := gate.CheckAST(n, f.facts, f.harness, f.line)
	if ast != gate.RuleStaticLocal || rej == nil || !strings.HasPrefix(rej.Detail, "region line 4:") || !strings.Contains(rej.Detail, `"calls"`) {
		t.Fatalf("%s: %+v", ast, rej)
	}
}

// TestTranslationUnitClosesHarnessScopes: a region inside a harness
// namespace parses, its scopes closed after the region.
func TestTranslationUnitClosesHarnessScopes(t *testing.T) {
	file := "namespace app { /* { */ const char* s = \"}{\";\n// REGION\n__global__ void k(int* p) { p[0] = 1; }\n// END\nvoid host() { k<<<1, 1>>>(nullptr); }\n}\n"
	start := strings.Index(file, "__global__")
	end := strings.Index(file, "// END")
	tu := gate.TranslationUnit(file, start, end, file[start:end])
	if !strings.HasSuffix(tu, "\n}\n}\n") || strings.Contains(tu, "void host") {
		t.Fatalf("%q", tu)
	}
	if strings.Count(tu[:start], "\n") != strings.Count(file[:start], "\n") {
		t.Fatal("the region's lines moved")
	}
}

// FuzzASTGate: any region the gate accepts has, in the compiler's own
// dump, no asm, no asm label, no constructor or destructor attribute, no
// thread_local and no extern "C": checked on the raw JSON, independently
// of the checker's walk.
func FuzzASTGate(f *testing.F) {
	files, _ := filepath.Glob("testdata/ast/*.hip")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && filepath.Base(p) != "harness.hip" {
			f.Add(string(b))
		}
	}
	forbidden := [][]byte{[]byte(`"GCCAsmStmt"`), []byte(`"AsmLabelAttr"`), []byte(`"ConstructorAttr"`),
		[]byte(`"DestructorAttr"`), []byte(`"tls"`), []byte(`"LinkageSpecDecl"`), []byte(`"FileScopeAsmDecl"`)}
	f.Fuzz(func(t *testing.T, region string) {
		fx := loadFixture(t)
		if gate.Check(fx.region, region) != nil {
			return
		}
		tu := gate.TranslationUnit(fx.file, fx.region.Start, fx.region.End, region)
		job := compile.Job{Files: []datasets.File{{Path: "main.hip", Content: tu}}, Flags: []string{"-std=c++17"}}
		p, err := fx.cc.Parse(context.Background(), job, "main.hip", gate.RegionNamespace)
		if err != nil || !p.OK {
			return
		}
		n, err := gate.ParseDump(p.AST, "main.hip")
		if err != nil {
			t.Fatalf("a dump clang printed does not decode: %v", err)
		}
		if gate.CheckAST(n, fx.facts, fx.harness, fx.line) != nil {
			return
		}
		for _, bad := range forbidden {
			if bytes.Contains(p.AST, bad) {
				t.Fatalf("accepted a region whose AST holds %s:\n%s", bad, region)
			}
		}
	})
}

// TestASTTemplateKernel: a task whose kernel is a template (as many
// rocm-examples and hip-tests samples are) passes its own gate, and so
// does a candidate that keeps the template; another template or a plain
// overload of the kernel's name is still rejected.
func TestASTTemplateKernel(t *testing.T) {
	f, why := newASTFixture("testdata/ast_template/harness.hip", "template <unsigned int BlockSize> __global__ void block_sum(const float* in, float* out, unsigned int n)")
	if f == nil {
		skipOrFail(t, why)
	}
	ref := f.region.Text
	tmpl := strings.Replace(ref, "sum += in[i];", "sum += in[i] * 1.0f;", 1)
	if tmpl == ref {
		t.Fatal("the fixture's region changed: update the candidate")
	}
	for _, tc := range []struct{ name, region, want string }{
		{"the reference", ref, "ok"},
		{"the template, rewritten", tmpl, "ok"},
		{"a plain overload", ref + "__global__ void block_sum(const float* in, float* out, unsigned int n) { if (n) out[0] = in[0]; }\n", gate.RuleSignature},
		{"a second template", ref + "template <int B, int C> __global__ void block_sum(const float* in, float* out, unsigned int n) { if (n) out[0] = in[0]; }\n", gate.RuleSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ast, detail := f.check(t, tc.region); ast != tc.want {
				t.Fatalf("the AST check says %s (%s), want %s", ast, detail, tc.want)
			}
		})
	}
}
