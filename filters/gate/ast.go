package gate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// The compiler's view of a hip-kernels region.
//
// The text rules in gate.go are a fast first pass; they cannot see what the
// compiler sees (an asm label that takes over printf, a constructor attribute
// in another spelling, a static data member, a call that resolves to a libc
// function). The AST check reads clang's own parse of the spliced translation
// unit. The verifier builds that unit as the harness up to the region, then
// the region inside `namespace RegionNamespace { … }`, and asks clang to dump
// only that namespace (-ast-dump=json -ast-dump-filter): a few hundred
// kilobytes, not the whole of the HIP headers.
//
// The rules are allowlists: declaration kinds, attributes, what a variable
// with static storage may be, which functions a region may call or name, and
// the statements it may hold. Every rejection names its rule and the line.

// RegionNamespace wraps a region in the translation unit the AST check parses.
const RegionNamespace = "kforge_region"

// Rules of the AST check (besides the text rules it shares).
const (
	RuleParse     = "ast-parse"             // the region does not parse on its own in the harness
	RuleAsm       = "no-asm"                // asm statements, asm labels, file-scope asm
	RuleAttribute = "attribute-allowlist"   // an attribute outside the allowlist
	RuleDeclKind  = "declaration-allowlist" // a declaration kind outside the allowlist
	RuleCall      = "call-allowlist"        // calls or names a function outside the allowlist
	RuleCapture   = "no-harness-names"      // declares a name the harness uses
	RuleStatement = "statement-allowlist"   // new/delete, throw, try, coroutines
	RuleConstCast = "no-const-cast"         // writes to what it was given read-only
)

// TranslationUnit returns the text the AST check parses for a region in
// file: the harness before the region, the region inside RegionNamespace
// (on the region's own first line, so lines keep their numbers), and closing
// braces for any harness scope still open there. The harness after the
// region is left out: it names the region's kernels unqualified.
func TranslationUnit(file string, start, end int, region string) string {
	prefix := file[:start]
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString("namespace " + RegionNamespace + " { ")
	b.WriteString(region)
	b.WriteString("\n}\n")
	for range openScopes(prefix) {
		b.WriteString("}\n")
	}
	return b.String()
}

// openScopes counts the braces the harness leaves open before the region.
func openScopes(s string) []struct{} {
	code := blankLiterals(s)
	depth := 0
	for _, c := range []byte(code) {
		switch c {
		case '{':
			depth++
		case '}':
			depth--
		}
	}
	return make([]struct{}, max(depth, 0))
}

// blankLiterals removes comments and string/char literal contents
// tolerantly (the harness is trusted text: raw strings, non-ASCII, anything).
func blankLiterals(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '/' && i+1 < len(s) && s[i+1] == '/':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return b.String()
			}
			b.WriteByte(' ')
			i += j
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return b.String()
			}
			b.WriteByte(' ')
			i += j + 4
		case c == 'R' && i+1 < len(s) && s[i+1] == '"' && (i == 0 || !isIdent(s[i-1])):
			open := strings.IndexByte(s[i+2:], '(')
			if open < 0 {
				return b.String()
			}
			delim := ")" + s[i+2:i+2+open] + "\""
			j := strings.Index(s[i+2+open:], delim)
			if j < 0 {
				return b.String()
			}
			b.WriteString(`""`)
			i += 2 + open + j + len(delim)
		case c == '"' || c == '\'':
			j := i + 1
			for ; j < len(s) && s[j] != c && s[j] != '\n'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			b.WriteByte(c)
			b.WriteByte(c)
			i = j + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

var (
	// A name the harness calls, instantiates or qualifies: what a region's
	// declaration of the same name could capture (a harness local named
	// like a region helper captures nothing).
	reCalled         = regexp.MustCompile(`\b([A-Za-z_]\w*)\s*(\(|<|::)`)
	reHarnessDevFunc = regexp.MustCompile(`__device__[^;{}()]*?\b([A-Za-z_]\w*)\s*\(`)
)

// Harness is what the AST check needs to know of the trusted text around a
// region: the names it calls, instantiates or qualifies, and the device
// functions it declares.
type Harness struct {
	Idents     map[string]bool
	DeviceFunc map[string]bool
}

// NewHarness scans the harness texts (the task's files with the region cut out).
func NewHarness(texts ...string) Harness {
	h := Harness{Idents: map[string]bool{}, DeviceFunc: map[string]bool{}}
	for _, t := range texts {
		code := blankLiterals(t)
		for _, m := range reCalled.FindAllStringSubmatch(code, -1) {
			h.Idents[m[1]] = true
		}
		for _, m := range reHarnessDevFunc.FindAllStringSubmatch(code, -1) {
			h.DeviceFunc[m[1]] = true
		}
	}
	return h
}

// Node is one node of clang's JSON AST dump (the fields the rules read).
type Node struct {
	ID            string    `json:"id"`
	Kind          string    `json:"kind"`
	Name          string    `json:"name"`
	Loc           *astLoc   `json:"loc"`
	Range         *astRange `json:"range"`
	Type          *astType  `json:"type"`
	StorageClass  string    `json:"storageClass"`
	TLS           string    `json:"tls"`
	Constexpr     bool      `json:"constexpr"`
	Implicit      bool      `json:"implicit"`
	IsImplicit    bool      `json:"isImplicit"`
	Language      string    `json:"language"`
	CastKind      string    `json:"castKind"`
	Mutable       bool      `json:"mutable"`
	TagUsed       string    `json:"tagUsed"`
	ScopedEnumTag string    `json:"scopedEnumTag"`
	Referenced    *refDecl  `json:"referencedDecl"`
	Inner         []*Node   `json:"inner"`

	line int // the line of the node's location in the checked file
}

type refDecl struct {
	ID   string   `json:"id"`
	Kind string   `json:"kind"`
	Name string   `json:"name"`
	Type *astType `json:"type"`
}

type astType struct {
	QualType string `json:"qualType"`
}

type astLoc struct {
	File         string  `json:"file"`
	Line         int     `json:"line"`
	SpellingLoc  *astLoc `json:"spellingLoc"`
	ExpansionLoc *astLoc `json:"expansionLoc"`
}

type astRange struct {
	Begin *astLoc `json:"begin"`
	End   *astLoc `json:"end"`
}

// locator follows clang's incremental locations: a location prints its file
// and line only when they differ from the previous one printed.
type locator struct {
	file, checked string
	line          int
}

func (l *locator) bare(x *astLoc) {
	if x == nil {
		return
	}
	if x.File != "" {
		l.file = x.File
	}
	if x.Line != 0 {
		l.line = x.Line
	}
}

// at advances over x and returns the line its expansion has in the checked
// file (0 when it lies elsewhere, e.g. in a header).
func (l *locator) at(x *astLoc) int {
	if x == nil {
		return 0
	}
	if x.SpellingLoc != nil || x.ExpansionLoc != nil {
		l.bare(x.SpellingLoc)
		l.bare(x.ExpansionLoc)
	} else {
		l.bare(x)
	}
	if l.checked == "" || strings.HasSuffix(l.file, l.checked) {
		return l.line
	}
	return 0
}

// place assigns lines in document order (loc, range, then children), which
// is the order clang prints them in.
func (l *locator) place(n *Node) {
	n.line = l.at(n.Loc)
	if n.Range != nil {
		if b := l.at(n.Range.Begin); n.line == 0 {
			n.line = b
		}
		l.at(n.Range.End)
	}
	for _, c := range n.Inner {
		if c != nil {
			l.place(c)
		}
	}
}

// ParseDump decodes clang's filtered JSON dump and returns the region's
// namespace declaration. checked names the file the region is in (lines
// are reported for it).
func ParseDump(dump []byte, checked string) (*Node, error) {
	dec := json.NewDecoder(bytes.NewReader(dump))
	var ns *Node
	loc := &locator{checked: checked}
	for {
		var n Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("gate: reading the AST dump: %w", err)
		}
		loc.place(&n)
		if n.Kind == "NamespaceDecl" && n.Name == RegionNamespace {
			if ns != nil {
				return nil, errors.New("gate: the AST dump holds the region namespace twice")
			}
			nn := n
			ns = &nn
		}
	}
	if ns == nil {
		return nil, errors.New("gate: the AST dump has no region namespace")
	}
	return ns, nil
}

// Kernel is a __global__ function of a region as the compiler sees it.
type Kernel struct{ Name, Type string }

// Facts are what the AST check learns from the reference region: its
// kernels, the names it declares and the functions it calls. A candidate
// may call what the reference calls and declare what it declares.
type Facts struct {
	Kernels  []Kernel
	Declared map[string]bool
	Calls    map[string]bool
	// Decls weighs the reference's top-level declarations of each kernel
	// name (declShape): a candidate may declare a kernel's name no more,
	// and no otherwise, than the reference does.
	Decls map[string]int
}

// declShape is what one top-level declaration of a function adds to its
// name's weight: 1, and 1<<10 more for a template, so a plain overload
// and a template one both show against what the reference declares.
func declShape(d *Node) int {
	if d.Kind == "FunctionTemplateDecl" {
		return 1 + 1<<10
	}
	return 1
}

// ReferenceFacts reads the reference region's AST. The reference itself
// must pass CheckAST against its own facts.
func ReferenceFacts(ns *Node) Facts {
	f := Facts{Declared: map[string]bool{}, Calls: map[string]bool{}, Decls: map[string]int{}}
	weight := map[string]int{}
	for _, d := range ns.Inner {
		if d.Name != "" {
			f.Declared[d.Name] = true
		}
		if fn := function(d); fn != nil {
			weight[fn.Name] += declShape(d)
			if hasAttr(fn, "CUDAGlobalAttr") && !slices.ContainsFunc(f.Kernels, func(k Kernel) bool { return k.Name == fn.Name }) {
				f.Kernels = append(f.Kernels, Kernel{Name: fn.Name, Type: qualType(fn.Type)})
			}
		}
	}
	for _, k := range f.Kernels {
		f.Decls[k.Name] = weight[k.Name]
	}
	walk(ns, func(n *Node) {
		if n.Referenced != nil && isFunctionKind(n.Referenced.Kind) {
			f.Calls[n.Referenced.Name] = true
		}
		if n.Kind == "UnresolvedLookupExpr" && n.Name != "" {
			f.Calls[n.Name] = true
		}
	})
	return f
}

func walk(n *Node, fn func(*Node)) {
	if n == nil {
		return
	}
	fn(n)
	for _, c := range n.Inner {
		walk(c, fn)
	}
}

func qualType(t *astType) string {
	if t == nil {
		return ""
	}
	return t.QualType
}

// function returns the function a top-level declaration defines (through a
// function template), or nil.
func function(d *Node) *Node {
	switch d.Kind {
	case "FunctionDecl":
		return d
	case "FunctionTemplateDecl":
		for _, c := range d.Inner {
			if c != nil && c.Kind == "FunctionDecl" {
				return c
			}
		}
	}
	return nil
}

func isFunctionKind(k string) bool {
	switch k {
	case "FunctionDecl", "CXXMethodDecl", "CXXConstructorDecl", "CXXDestructorDecl", "CXXConversionDecl", "FunctionTemplateDecl":
		return true
	}
	return false
}

func hasAttr(n *Node, kind string) bool {
	for _, c := range n.Inner {
		if c != nil && c.Kind == kind {
			return true
		}
	}
	return false
}

// checker holds one candidate's check.
type checker struct {
	ref      Facts
	harness  Harness
	startRow int             // the region's first line in the file
	regionID map[string]bool // ids of every declaration inside the region
	defined  map[string]bool // names of functions the region defines
	free     map[string]bool // names of the region's file-scope functions
}

// CheckAST applies the hip-kernels allowlist to a candidate region's AST
// (cand), given the reference's facts and the harness. startLine is the
// file line the region starts on (reasons give region lines).
func CheckAST(cand *Node, ref Facts, h Harness, startLine int) *Rejection {
	c := &checker{ref: ref, harness: h, startRow: startLine, regionID: map[string]bool{}, defined: map[string]bool{}, free: map[string]bool{}}
	walk(cand, func(n *Node) {
		if strings.HasSuffix(n.Kind, "Decl") && n.ID != "" {
			c.regionID[n.ID] = true
		}
		if isFunctionKind(n.Kind) && n.Kind != "FunctionTemplateDecl" && hasBody(n) {
			c.defined[n.Name] = true
		}
	})
	for _, d := range cand.Inner {
		if fn := function(d); fn != nil && hasBody(fn) {
			c.free[fn.Name] = true
		}
	}
	for _, d := range cand.Inner {
		if d == nil {
			continue
		}
		if rej := c.topLevel(d); rej != nil {
			return rej
		}
	}
	if rej := c.body(cand, false); rej != nil {
		return rej
	}
	return c.kernels(cand)
}

// hasExplicitAttr: n carries the attribute as written, not one the compiler
// implied (constexpr functions are implicitly host and device).
func hasExplicitAttr(n *Node, kind string) bool {
	for _, c := range n.Inner {
		if c != nil && c.Kind == kind && !c.Implicit {
			return true
		}
	}
	return false
}

func hasBody(n *Node) bool {
	for _, c := range n.Inner {
		if c != nil && c.Kind == "CompoundStmt" {
			return true
		}
	}
	return false
}

func (c *checker) at(n *Node, rule, format string, args ...any) *Rejection {
	r := reject(rule, format, args...)
	if n != nil && n.line >= c.startRow && c.startRow > 0 {
		r.Detail = fmt.Sprintf("region line %d: %s", n.line-c.startRow+1, r.Detail)
	}
	return r
}

// topLevelKinds are the declarations a region may make at file scope.
var topLevelKinds = map[string]bool{
	"FunctionDecl": true, "FunctionTemplateDecl": true, "CXXRecordDecl": true, "ClassTemplateDecl": true,
	"ClassTemplateSpecializationDecl": true, "ClassTemplatePartialSpecializationDecl": true,
	"EnumDecl": true, "TypedefDecl": true, "TypeAliasDecl": true, "TypeAliasTemplateDecl": true,
	"VarDecl": true, "VarTemplateDecl": true, "StaticAssertDecl": true, "EmptyDecl": true,
}

// nestedKinds are the further declarations allowed inside records,
// templates and function bodies.
var nestedKinds = map[string]bool{
	"FieldDecl": true, "IndirectFieldDecl": true, "AccessSpecDecl": true, "CXXMethodDecl": true,
	"CXXConstructorDecl": true, "CXXDestructorDecl": true, "CXXConversionDecl": true, "FriendDecl": true,
	"ParmVarDecl": true, "TemplateTypeParmDecl": true, "NonTypeTemplateParmDecl": true,
	"TemplateTemplateParmDecl": true, "EnumConstantDecl": true, "UsingDecl": true, "UsingShadowDecl": true,
	"UsingDirectiveDecl": true, "BindingDecl": true, "DecompositionDecl": true, "VarTemplateSpecializationDecl": true,
	"VarTemplatePartialSpecializationDecl": true, "LabelDecl": true, "ImplicitParamDecl": true,
	"CXXDeductionGuideDecl": true,
}

// allowedAttrs are the attributes a region may carry: placement in device
// code, launch bounds, inlining, alignment, loop hints and diagnostics.
// Not: constructor, destructor, section, used, weak, alias, visibility,
// cleanup, asm labels, annotate, target or anything else.
var allowedAttrs = map[string]bool{
	"CUDAGlobalAttr": true, "CUDADeviceAttr": true, "CUDAHostAttr": true, "CUDASharedAttr": true,
	"CUDAConstantAttr": true, "CUDALaunchBoundsAttr": true, "AMDGPUFlatWorkGroupSizeAttr": true,
	"AMDGPUWavesPerEUAttr": true, "AMDGPUNumVGPRAttr": true, "AMDGPUNumSGPRAttr": true,
	"AlwaysInlineAttr": true, "NoInlineAttr": true, "AlignedAttr": true, "PackedAttr": true,
	"UnusedAttr": true, "FallThroughAttr": true, "LoopHintAttr": true, "ConstAttr": true, "PureAttr": true,
	"NoThrowAttr": true, "LikelyAttr": true, "UnlikelyAttr": true, "AssumeAlignedAttr": true,
	"NoUniqueAddressAttr": true, "DeprecatedAttr": true, "WarnUnusedResultAttr": true,
	"ConvergentAttr": true, "ColdAttr": true, "HotAttr": true, "NonNullAttr": true,
	"ReturnsNonNullAttr": true, "MaxFieldAlignmentAttr": true, "FinalAttr": true, "OverrideAttr": true,
	"NoEscapeAttr": true, "ModeAttr": true, "MayAliasAttr": true, "TypeVisibilityAttr": false,
}

// deniedStmts are statements and expressions that have no place in a kernel
// rewrite (everything else is judged by what it names or calls).
var deniedStmts = map[string]string{
	"GCCAsmStmt":           RuleAsm,
	"MSAsmStmt":            RuleAsm,
	"CXXNewExpr":           RuleStatement,
	"CXXDeleteExpr":        RuleStatement,
	"CXXThrowExpr":         RuleStatement,
	"CXXTryStmt":           RuleStatement,
	"CoroutineBodyStmt":    RuleStatement,
	"CoreturnStmt":         RuleStatement,
	"CoawaitExpr":          RuleStatement,
	"CoyieldExpr":          RuleStatement,
	"DependentCoawaitExpr": RuleStatement,
	"RecoveryExpr":         RuleParse,
}

func (c *checker) topLevel(d *Node) *Rejection {
	switch {
	case d.IsImplicit, strings.HasSuffix(d.Kind, "Comment"):
		return nil
	case d.Kind == "LinkageSpecDecl":
		return c.at(d, RuleHostCode, "extern %q: a region may not declare external symbols", d.Language)
	case d.Kind == "FileScopeAsmDecl":
		return c.at(d, RuleAsm, "file-scope asm")
	case d.Kind == "UsingDirectiveDecl" || d.Kind == "UsingDecl" || d.Kind == "NamespaceAliasDecl":
		return c.at(d, RuleDeclKind, "%s at file scope would change name lookup in the harness after the region", d.Kind)
	case !topLevelKinds[d.Kind]:
		return c.at(d, RuleDeclKind, "%s %q is not allowed at file scope in a region", d.Kind, d.Name)
	}
	for _, name := range fileScopeDecls(d) {
		if c.harness.Idents[name] && !c.ref.Declared[name] {
			return c.at(d, RuleCapture, "%q is a name the harness uses: a region may not declare it (it could replace or overload the harness's own)", name)
		}
	}
	if strings.HasPrefix(d.Name, "operator") && !c.ref.Declared[d.Name] {
		return c.at(d, RuleCapture, "%s at file scope could take over the harness's operators: define operators as members of the region's own types", d.Name)
	}
	return nil
}

// body checks every node under n. inFunc says whether n lies in a function
// body (where static storage is a local's).
func (c *checker) body(n *Node, inFunc bool) *Rejection {
	for _, ch := range n.Inner {
		if ch == nil {
			continue
		}
		if rej := c.node(ch, n, inFunc); rej != nil {
			return rej
		}
	}
	return nil
}

func (c *checker) node(n, parent *Node, inFunc bool) *Rejection {
	k := n.Kind
	switch {
	case strings.HasSuffix(k, "Comment"):
		// Doc comments clang attaches to declarations (FullComment, …).
		return nil
	case strings.HasSuffix(k, "Attr"):
		if !allowedAttrs[k] && !n.Implicit {
			if k == "AsmLabelAttr" {
				return c.at(parent, RuleAsm, "%q is declared with an asm label: it would take over another symbol", parent.Name)
			}
			return c.at(parent, RuleAttribute, "attribute %s on %q is not allowed", strings.TrimSuffix(k, "Attr"), parent.Name)
		}
		if k == "AsmLabelAttr" {
			return c.at(parent, RuleAsm, "%q is declared with an asm label", parent.Name)
		}
		if k == "CUDAHostAttr" && !n.Implicit {
			// In any spelling (__host__, __attribute__((host))): host code
			// the region writes would run, and could define C library
			// functions the program and kforge's runtime call.
			return c.at(parent, RuleHostCode, "%q is a host function (host attribute): only device code may be rewritten", parent.Name)
		}
		return nil
	case strings.HasSuffix(k, "Decl"):
		// A declaration's attributes first: an asm label or a constructor
		// attribute is the reason to name, whatever else the decl is.
		for _, a := range n.Inner {
			if a != nil && strings.HasSuffix(a.Kind, "Attr") {
				if rej := c.node(a, n, inFunc); rej != nil {
					return rej
				}
			}
		}
		if rej := c.decl(n, parent, inFunc); rej != nil {
			return rej
		}
		if isFunctionKind(k) && k != "FunctionTemplateDecl" {
			inFunc = true
		}
	default:
		if rule, bad := deniedStmts[k]; bad {
			return c.at(n, rule, "%s is not allowed in a kernel region", k)
		}
		if rej := c.reference(n); rej != nil {
			return rej
		}
		if rej := c.cast(n); rej != nil {
			return rej
		}
	}
	return c.body(n, inFunc)
}

// decl checks one declaration anywhere in the region.
func (c *checker) decl(n, parent *Node, inFunc bool) *Rejection {
	k := n.Kind
	if !topLevelKinds[k] && !nestedKinds[k] {
		switch k {
		case "LinkageSpecDecl":
			return c.at(n, RuleHostCode, "extern %q: a region may not declare external symbols", n.Language)
		case "FileScopeAsmDecl":
			return c.at(n, RuleAsm, "file-scope asm")
		}
		return c.at(n, RuleDeclKind, "%s %q is not allowed in a region", k, n.Name)
	}
	if reserved(n.Name) && !n.IsImplicit && !c.ref.Declared[n.Name] {
		return c.at(n, RuleDeclKind, "%q is a reserved identifier (double underscore, or underscore and a capital): the implementation's names are not the region's to declare", n.Name)
	}
	switch {
	case k == "CXXRecordDecl" && n.TagUsed == "union" && unionHoldsPointer(n):
		return c.at(n, RuleConstCast, "a union with a pointer member can turn a read-only pointer, or any bytes, into a writable address")
	case k == "FieldDecl" && n.Mutable:
		return c.at(n, RuleDeviceGlobal, "mutable member %q: a constant object with it could still carry state between launches", n.Name)
	case k == "VarDecl" || k == "VarTemplateSpecializationDecl":
		return c.variable(n, parent, inFunc)
	case isFunctionKind(k) && k != "FunctionTemplateDecl":
		return c.function(n, parent)
	}
	return nil
}

func (c *checker) function(n, parent *Node) *Rejection {
	if n.IsImplicit || (parent != nil && parent.Kind == "CXXRecordDecl" && parent.IsImplicit) {
		// Compiler-made members (lambdas' call operators, defaulted
		// special members) follow from what the region wrote.
		return nil
	}
	if !hasExplicitAttr(n, "CUDAGlobalAttr") && !hasExplicitAttr(n, "CUDADeviceAttr") {
		if hasAttr(n, "CUDADeviceAttr") {
			// constexpr makes a function host and device implicitly: its
			// host side would be compiled and could run in the program.
			return c.at(n, RuleHostCode, "%q is constexpr without __device__, so also a host function: write __device__ constexpr", n.Name)
		}
		return c.at(n, RuleHostCode, "%q is a host function: only __global__ and __device__ functions are allowed", n.Name)
	}
	if !hasBody(n) && !c.defined[n.Name] {
		return c.at(n, RuleCall, "%q is declared but not defined in the region: it would bind to a symbol from elsewhere", n.Name)
	}
	return nil
}

// variable: a variable with static or thread storage duration outlives a
// launch, unless it is read-only and initialised with constants, or is
// shared memory (which lives for one workgroup).
func (c *checker) variable(n, parent *Node, inFunc bool) *Rejection {
	if n.TLS != "" {
		return c.at(n, RuleStaticLocal, "thread_local %q would carry state between launches", n.Name)
	}
	if hasAttr(n, "CUDASharedAttr") {
		if !inFunc {
			// Inside a kernel, shared memory lives for one workgroup; at file
			// scope (or extern there) it names memory beyond any one launch,
			// and on a host build a symbol of the C library.
			return c.at(n, RuleDeviceGlobal, "__shared__ %q at file scope: declare shared memory inside the kernel", n.Name)
		}
		return nil
	}
	if n.StorageClass == "extern" {
		return c.at(n, RuleHostCode, "extern %q names a symbol from outside the region", n.Name)
	}
	member := parent != nil && (parent.Kind == "CXXRecordDecl" || parent.Kind == "ClassTemplateSpecializationDecl")
	static := n.StorageClass == "static" || (!inFunc && !member) || (member && n.StorageClass == "static")
	if !static {
		return nil
	}
	if n.Constexpr || (isConstType(qualType(n.Type)) && constantInit(n)) {
		return nil
	}
	rule := RuleDeviceGlobal
	if inFunc {
		rule = RuleStaticLocal
	}
	return c.at(n, rule, "%q has static storage and is not a constant: it would carry state between launches", n.Name)
}

// constantInit: a variable's initializer holds only literals, operators,
// casts, initializer lists and names of constants.
func constantInit(v *Node) bool {
	ok := true
	for _, ch := range v.Inner {
		if ch == nil || strings.HasSuffix(ch.Kind, "Attr") {
			continue
		}
		walk(ch, func(n *Node) {
			switch n.Kind {
			case "IntegerLiteral", "FloatingLiteral", "CXXBoolLiteralExpr", "CharacterLiteral",
				"InitListExpr", "ImplicitCastExpr", "CStyleCastExpr", "CXXFunctionalCastExpr", "CXXStaticCastExpr",
				"UnaryOperator", "BinaryOperator", "ConditionalOperator", "ParenExpr", "ConstantExpr",
				"ImplicitValueInitExpr", "UnaryExprOrTypeTraitExpr", "DeclRefExpr", "ArrayInitLoopExpr",
				"OpaqueValueExpr", "ArrayInitIndexExpr", "":
				if n.Referenced != nil && n.Referenced.Kind != "EnumConstantDecl" && !isConstType(qualType(n.Referenced.Type)) {
					ok = false
				}
			default:
				ok = false
			}
		})
	}
	return ok
}

// isConstType says whether a clang qualType is const at its top level (for
// arrays, their elements).
func isConstType(t string) bool {
	t = strings.TrimSpace(t)
	if i := strings.IndexByte(t, '['); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	if i := strings.LastIndexAny(t, "*&"); i >= 0 {
		return reConstWord.MatchString(t[i+1:])
	}
	return reConstWord.MatchString(t)
}

// reference checks what an expression names: functions only from the
// allowlist, variables from outside the region only when constant.
func (c *checker) reference(n *Node) *Rejection {
	if n.Kind == "UnresolvedLookupExpr" {
		if !c.callable(n.Name, "") {
			return c.at(n, RuleCall, "%q is not a function a kernel region may call", n.Name)
		}
		return nil
	}
	r := n.Referenced
	if r == nil || c.regionID[r.ID] {
		return nil
	}
	switch {
	case isFunctionKind(r.Kind):
		if !c.callable(r.Name, r.Kind) {
			return c.at(n, RuleCall, "%q is not a function a kernel region may call (allowed: the region's own functions, the harness's device functions, what the reference calls, and HIP device builtins and math)", r.Name)
		}
	case r.Kind == "VarDecl":
		if !isConstType(qualType(r.Type)) {
			return c.at(n, RuleDeviceGlobal, "%q is a variable outside the region that is not a constant: it would carry state between launches", r.Name)
		}
	}
	return nil
}

// cast rejects casts that make read-only memory writable: const_cast, an
// explicit cast from a pointer to const to a pointer to non-const, and a
// pointer made from an integer. A kernel that rewrites its inputs (or a
// constant table) can carry state from one launch to the next.
func (c *checker) cast(n *Node) *Rejection {
	switch n.Kind {
	case "CXXConstCastExpr":
		return c.at(n, RuleConstCast, "const_cast: a region may not write what it was given read-only")
	case "BuiltinBitCastExpr":
		if ptr, _ := pointee(qualType(n.Type)); ptr {
			return c.at(n, RuleConstCast, "__builtin_bit_cast to a pointer can make any address, read-only or not")
		}
		return nil
	case "CStyleCastExpr", "CXXReinterpretCastExpr", "CXXFunctionalCastExpr", "CXXStaticCastExpr":
	default:
		return nil
	}
	if ptr, _ := pointee(qualType(n.Type)); ptr && n.CastKind == "LValueBitCast" {
		return c.at(n, RuleConstCast, "a cast to a reference to a pointer reinterprets other bytes as an address")
	}
	if n.CastKind == "IntegralToPointer" {
		return c.at(n, RuleConstCast, "a pointer made from an integer can reach any memory, read-only or not")
	}
	// What is cast: the operand with the implicit conversions the cast
	// itself inserted (`(void*)x` on a const float* x is a const-dropping
	// BitCast to void* over an LValueToRValue of const float*): if the
	// pointer was to const anywhere down that chain, it still is.
	toPtr, toConst := pointee(qualType(n.Type))
	if !toPtr || toConst {
		return nil
	}
	for op := operand(n); op != nil; op = operand(op) {
		if ptr, isConst := pointee(qualType(op.Type)); ptr && isConst {
			return c.at(n, RuleConstCast, "cast from %s to %s: a region may not write what it was given read-only", qualType(op.Type), qualType(n.Type))
		}
		if op.Kind != "ImplicitCastExpr" && op.Kind != "ParenExpr" && !strings.HasSuffix(op.Kind, "CastExpr") {
			break
		}
	}
	return nil
}

// operand is an expression's first child that is not an attribute.
func operand(n *Node) *Node {
	for _, ch := range n.Inner {
		if ch != nil && !strings.HasSuffix(ch.Kind, "Attr") {
			return ch
		}
	}
	return nil
}

// pointee says whether t is a pointer type and whether what it points to is
// const (the qualifiers left of its last '*').
func pointee(t string) (ptr, isConst bool) {
	i := strings.LastIndexByte(t, '*')
	if i < 0 {
		return false, false
	}
	return true, reConstWord.MatchString(t[:i])
}

var reConstWord = regexp.MustCompile(`\bconst\b`)

// unionHoldsPointer: one of a union's members is a pointer.
func unionHoldsPointer(n *Node) bool {
	for _, f := range n.Inner {
		if f != nil && f.Kind == "FieldDecl" && strings.ContainsAny(qualType(f.Type), "*&") {
			return true
		}
	}
	return false
}

// reserved says whether a name is reserved to the C++ implementation (and
// so to the runtime and the C library, whose symbols a region could bind to).
func reserved(name string) bool {
	return strings.HasPrefix(name, "__") || len(name) > 1 && name[0] == '_' && name[1] >= 'A' && name[1] <= 'Z'
}

// callable says whether a region may call or name the function name.
//
// The region's own functions are recognised by declaration, not by name
// (a member named printf must not make the runtime's printf callable); by
// name only the region's file-scope functions, for calls a template leaves
// unresolved. A few names are never callable, whoever else calls them.
func (c *checker) callable(name, kind string) bool {
	switch {
	case neverCallable[name]:
		return false
	case c.free[name], c.ref.Calls[name], c.harness.DeviceFunc[name], deviceBuiltin(name):
		return true
	case kind == "CXXMethodDecl" || kind == "CXXConstructorDecl" || kind == "CXXConversionDecl" || kind == "CXXDestructorDecl":
		// Members of types: device code can call only device members, and
		// the types' own code is the harness's or the runtime's.
		return true
	case strings.HasPrefix(name, "operator") && !strings.HasPrefix(name, "operator new") && !strings.HasPrefix(name, "operator delete"):
		return true
	}
	return false
}

// neverCallable are the device functions that print, allocate, trap or
// read clocks: not even a reference that calls them lends them to a
// candidate (such a reference fails the gate itself).
var neverCallable = map[string]bool{
	"printf": true, "fprintf": true, "puts": true, "vprintf": true, "malloc": true, "free": true,
	"abort": true, "__assert_fail": true, "__assertfail": true, "clock": true, "clock64": true,
	"wall_clock64": true, "__clock": true, "__clock64": true, "system": true, "exit": true,
}

// kernels requires every kernel of the reference, with the same type.
func (c *checker) kernels(cand *Node) *Rejection {
	have := map[string]string{}
	count := map[string]int{}
	refType := map[string]string{}
	for _, k := range c.ref.Kernels {
		refType[k.Name] = k.Type
	}
	for _, d := range cand.Inner {
		if fn := function(d); fn != nil {
			count[fn.Name] += declShape(d)
			if want, ok := refType[fn.Name]; ok && qualType(fn.Type) != want {
				// An overload of a kernel's name: the harness's launch
				// could resolve to it, unchecked.
				return reject(RuleSignature, "kernel %s is declared again with type %s (an overload of the same name): the harness's launch must resolve to the one kernel checked", fn.Name, qualType(fn.Type))
			}
			if hasAttr(fn, "CUDAGlobalAttr") {
				have[fn.Name] = qualType(fn.Type)
			}
		}
	}
	for _, k := range c.ref.Kernels {
		if count[k.Name] > max(c.ref.Decls[k.Name], 1) {
			// Another overload (a template, say) could be the one the
			// harness's launch resolves to, unchecked.
			return reject(RuleSignature, "kernel %s is declared more than once (an overload or template of the same name): the harness's launch must resolve to the one kernel checked", k.Name)
		}
	}
	for _, k := range c.ref.Kernels {
		got, ok := have[k.Name]
		switch {
		case !ok:
			return reject(RuleSignature, "no __global__ kernel %s: the harness launches it", k.Name)
		case got != k.Type:
			return reject(RuleSignature, "kernel %s has type %s, the task's is %s", k.Name, got, k.Type)
		}
	}
	return nil
}

// FileScopeNames reads clang's -ast-list of the translation unit the AST
// check parses and returns the names declared at file scope outside the
// region (the C library's, the runtime's and the harness's before the region).
func FileScopeNames(list []byte) map[string]bool {
	names := map[string]bool{}
	for _, l := range strings.Split(string(list), "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "::"))
		if l == "" || strings.Contains(l, "::") || l == RegionNamespace || !reIdentOnly.MatchString(l) {
			continue
		}
		names[l] = true
	}
	return names
}

var reIdentOnly = regexp.MustCompile(`^[A-Za-z_]\w*$`)

// CheckFileScope rejects a region declaration whose name the program
// already declares at file scope: parsed inside RegionNamespace it is a new
// name, but compiled at file scope a `__device__ int clock_gettime(…)` or
// `strcmp(…)` would define the C library's function for the whole program
// (its timers, kforge's runtime) or overload what the harness calls. The
// reference's own names are allowed.
func CheckFileScope(cand *Node, fileScope map[string]bool, ref Facts, startLine int) *Rejection {
	c := &checker{ref: ref, startRow: startLine}
	for _, d := range cand.Inner {
		if d == nil || d.IsImplicit {
			continue
		}
		for _, name := range fileScopeDecls(d) {
			if ref.Declared[name] || !fileScope[name] {
				continue
			}
			return c.at(d, RuleCapture, "%q is already declared at file scope (by the C library, the runtime or the harness): compiled there, the region's %s would replace or overload it", name, name)
		}
	}
	return nil
}

// fileScopeDecls are the names a top-level declaration puts at file scope:
// its own, and an unscoped enum's enumerators.
func fileScopeDecls(d *Node) []string {
	var out []string
	if d.Name != "" {
		out = append(out, d.Name)
	}
	if d.Kind == "EnumDecl" && d.ScopedEnumTag == "" {
		for _, e := range d.Inner {
			if e != nil && e.Kind == "EnumConstantDecl" && e.Name != "" {
				out = append(out, e.Name)
			}
		}
	}
	return out
}
