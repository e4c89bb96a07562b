package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a config, at a place in a file.
type Problem struct {
	File string
	Line int
	Path string // key path, e.g. model.samples or sources.repos[1].url
	Msg  string
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	if p.Path != "" {
		return fmt.Sprintf("%s: %s: %s", loc, p.Path, p.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, p.Msg)
}

// Problems is every problem found in a config; it is the error Load returns.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Options change what Load checks.
type Options struct {
	// SkipPaths leaves out the checks that local paths exist (replay
	// sources, decontamination sets): for a recipe written for another
	// machine.
	SkipPaths bool
}

// Load reads, decodes and validates a recipe, and checks that the local paths
// it names exist. Every problem is reported at once, as Problems, each with
// file and line, before any work starts.
func Load(path string) (*Config, error) { return LoadWith(path, Options{}) }

// LoadWith is Load with options.
func LoadWith(path string, o Options) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{File: path, Msg: err.Error()}}
	}
	return parse(path, b, !o.SkipPaths)
}

// Parse decodes and validates a recipe held in memory; name is used in
// messages. It reads no file: the paths the recipe names are not checked.
func Parse(name string, data []byte) (*Config, error) { return parse(name, data, false) }

func parse(name string, data []byte, checkPaths bool) (*Config, error) {
	var c Config
	if err := ApplyDefaults(&c); err != nil {
		return nil, err
	}
	d := decoder{file: name, top: 1}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Problems{{File: name, Line: 1, Msg: "empty config"}}
		}
		return nil, Problems{yamlProblem(name, data, err)}
	}
	// A recipe is one document: a second one (after ---) would be silently
	// ignored by a plain decode.
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		d.problems = append(d.problems, Problem{File: name, Line: extra.Line,
			Msg: "a second YAML document (---) starts here; a recipe is one document: put each recipe in its own file"})
	case !errors.Is(err, io.EOF):
		p := yamlProblem(name, data, err)
		p.Msg = "a second YAML document (---), and " + p.Msg
		d.problems = append(d.problems, p)
	}
	if len(root.Content) == 0 || root.Content[0].Tag == "!!null" {
		return nil, append(Problems{{File: name, Line: 1, Msg: "empty config"}}, d.problems...)
	}
	top := root.Content[0]
	if top.Line > 0 {
		d.top = top.Line
	}
	d.decode(top, reflect.ValueOf(&c).Elem(), "")
	// Every problem at once: the cross-field rules and path checks run even
	// when a value did not decode, leaving out what that value's problem
	// already covers.
	decoded := len(d.problems)
	var more []Problem
	more = append(more, c.validate()...)
	if checkPaths {
		more = append(more, c.checkPaths()...)
	}
	for _, p := range more {
		if d.covered(p.Path, decoded) {
			continue
		}
		p.File = name
		p.Line = d.lineOf(p.Path)
		d.problems = append(d.problems, p)
	}
	if len(d.problems) > 0 {
		sort.SliceStable(d.problems, func(i, j int) bool { return d.problems[i].Line < d.problems[j].Line })
		return nil, d.problems
	}
	return &c, nil
}

// yamlProblem turns a YAML syntax error into a problem with a line: the one
// yaml.v3 names ("yaml: line N: …"), else the first line holding a byte YAML
// refuses (control characters, invalid UTF-8: a binary file), else line 1.
func yamlProblem(name string, data []byte, err error) Problem {
	msg := err.Error()
	line := 0
	if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
		if n, tail, ok := strings.Cut(rest, ":"); ok {
			line, _ = strconv.Atoi(n)
			msg = strings.TrimSpace(tail)
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if line == 0 {
		line = badByteLine(data)
	}
	return Problem{File: name, Line: line, Msg: "not valid YAML: " + msg}
}

// badByteLine is the line of the first byte a YAML file may not hold (a
// control character other than tab, newline and carriage return, or a byte
// that is not UTF-8), or 1 when there is none.
func badByteLine(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return line
		case r == '\n':
			line++
		case r < 0x20 && r != '\t' && r != '\r', r == 0x7f:
			return line
		}
		i += size
	}
	return 1
}

// covered reports whether one of the first n problems (the decoder's) is at
// path or above it: a value that did not decode is not reported again.
func (d *decoder) covered(path string, n int) bool {
	for _, q := range d.problems[:n] {
		if q.Path == "" {
			continue
		}
		if path == q.Path || strings.HasPrefix(path, q.Path+".") || strings.HasPrefix(path, q.Path+"[") {
			return true
		}
	}
	return false
}

type decoder struct {
	file     string
	problems Problems
	lines    map[string]int // key path -> line, for validation messages
	top      int            // line of the document's top mapping
}

// lineOf is the line of path, or of its nearest ancestor that is in the file
// (a missing key is reported where its parent is; a missing top-level key,
// like name, at the top of the document).
func (d *decoder) lineOf(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return d.top
}

func (d *decoder) add(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.problems = append(d.problems, Problem{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

var durationType = reflect.TypeOf(time.Duration(0))

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return fmt.Sprintf("%q", n.Value)
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if d.lines == nil {
		d.lines = map[string]int{}
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.lines[path] = n.Line
	if v.Type() == durationType {
		if n.Kind != yaml.ScalarNode {
			d.add(n, path, "want a duration like 90s or 10m, got %s", kindName(n))
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.add(n, path, "want a duration like 90s or 10m, got %q", n.Value)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			nv := reflect.New(v.Type().Elem())
			if nv.Elem().Kind() == reflect.Struct {
				if err := applyDefaults(nv.Elem()); err != nil {
					d.add(n, path, "%v", err)
				}
			}
			v.Set(nv)
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.add(n, path, "want a mapping, got %s", kindName(n))
			return
		}
		fields := structFields(v.Type())
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			kp := join(path, k.Value)
			f, ok := fields[k.Value]
			if !ok {
				d.add(k, kp, "unknown key (known: %s)", strings.Join(fieldNames(v.Type()), ", "))
				continue
			}
			if seen[k.Value] {
				d.add(k, kp, "key given twice")
				continue
			}
			seen[k.Value] = true
			fv := v.FieldByIndex(f.Index)
			if val.Tag == "!!null" {
				continue // "key:" with no value keeps the default
			}
			d.decode(val, fv, kp)
			if len(d.problems) == 0 || d.problems[len(d.problems)-1].Path != kp {
				d.check(val, fv, f, kp)
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.add(n, path, "want a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, e := range n.Content {
			el := s.Index(i)
			if el.Kind() == reflect.Struct {
				if err := applyDefaults(el); err != nil {
					d.add(e, path, "%v", err)
				}
			}
			d.decode(e, el, fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.add(n, path, "want a mapping, got %s", kindName(n))
			return
		}
		m := reflect.MakeMap(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, ev, join(path, k.Value))
			m.SetMapIndex(reflect.ValueOf(k.Value), ev)
		}
		v.Set(m)
	default:
		if n.Kind != yaml.ScalarNode {
			d.add(n, path, "want %s, got %s", typeName(v.Type()), kindName(n))
			return
		}
		if err := setScalar(v, n.Value, n.Tag); err != nil {
			d.add(n, path, "%v", err)
		}
	}
}

// check applies a field's min, max and enum tags.
func (d *decoder) check(n *yaml.Node, v reflect.Value, f reflect.StructField, path string) {
	if e := f.Tag.Get("enum"); e != "" {
		check := func(s string) {
			if !slicesContains(strings.Split(e, "|"), s) {
				d.add(n, path, "%q is not one of %s", s, strings.ReplaceAll(e, "|", ", "))
			}
		}
		if v.Kind() == reflect.String {
			check(v.String())
		} else if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String {
			for i := range v.Len() {
				check(v.Index(i).String())
			}
		}
	}
	num, isNum := numeric(v)
	if !isNum {
		return
	}
	if s := f.Tag.Get("min"); s != "" {
		if lim, err := parseLimit(s, v.Type()); err == nil && num < lim {
			d.add(n, path, "%s is below the minimum %s", n.Value, s)
		}
	}
	if s := f.Tag.Get("max"); s != "" {
		if lim, err := parseLimit(s, v.Type()); err == nil && num > lim {
			d.add(n, path, "%s is above the maximum %s", n.Value, s)
		}
	}
}

func numeric(v reflect.Value) (float64, bool) {
	switch v.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return float64(v.Int()), true
	case reflect.Float64, reflect.Float32:
		return v.Float(), true
	}
	return 0, false
}

func parseLimit(s string, t reflect.Type) (float64, error) {
	if t == durationType {
		d, err := time.ParseDuration(s)
		return float64(d), err
	}
	return strconv.ParseFloat(s, 64)
}

func setScalar(v reflect.Value, s, tag string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("want a duration like 90s or 10m, got %q", s)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		if tag != "" && tag != "!!str" && tag != "!" {
			// A bare number or boolean where text is wanted is almost always a
			// mistake (a version 1.10 read as 1.1); ask for quotes.
			if tag == "!!int" || tag == "!!float" || tag == "!!bool" {
				return fmt.Errorf("want text, got %s %q (quote it)", strings.TrimPrefix(tag, "!!"), s)
			}
		}
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil || tag == "!!str" {
			return fmt.Errorf("want true or false, got %q", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := strconv.ParseInt(s, 0, 64)
		if err != nil || tag == "!!str" {
			return fmt.Errorf("want an integer, got %q", s)
		}
		v.SetInt(i)
	case reflect.Float64, reflect.Float32:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || tag == "!!str" {
			return fmt.Errorf("want a number, got %q", s)
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("unsupported field type %s", v.Type())
	}
	return nil
}

func typeName(t reflect.Type) string {
	if t == durationType {
		return "duration"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "int"
	case reflect.Float64, reflect.Float32:
		return "number"
	case reflect.Slice:
		return "list of " + typeName(t.Elem())
	case reflect.Map:
		return "map of " + typeName(t.Elem())
	case reflect.Struct:
		return "mapping"
	case reflect.Pointer:
		return typeName(t.Elem())
	}
	return t.String()
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func slicesContains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// structFields maps YAML keys to fields.
func structFields(t reflect.Type) map[string]reflect.StructField {
	m := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		if k := yamlKey(f); k != "" {
			m[k] = f
		}
	}
	return m
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if k := yamlKey(t.Field(i)); k != "" {
			names = append(names, k)
		}
	}
	return names
}

func yamlKey(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	k, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if k == "-" {
		return ""
	}
	return k
}

// ApplyDefaults sets every field of the struct pointed to by p from its
// default tag, recursively.
func ApplyDefaults(p any) error {
	v := reflect.ValueOf(p)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return errors.New("ApplyDefaults: want a pointer to a struct")
	}
	return applyDefaults(v.Elem())
}

func applyDefaults(v reflect.Value) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if yamlKey(f) == "" {
			continue
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type() != durationType {
			if err := applyDefaults(fv); err != nil {
				return err
			}
			continue
		}
		def, ok := f.Tag.Lookup("default")
		if !ok {
			continue
		}
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(def), &n); err != nil || len(n.Content) == 0 {
			return fmt.Errorf("field %s: bad default %q", f.Name, def)
		}
		d := decoder{file: "(default)"}
		d.decode(n.Content[0], fv, f.Name)
		if len(d.problems) > 0 {
			return fmt.Errorf("field %s: bad default: %v", f.Name, d.problems)
		}
	}
	return nil
}
