package configs

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

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

// Load reads, decodes and validates a recipe. Every problem is reported at
// once, as Problems, before any work starts.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{File: path, Msg: err.Error()}}
	}
	return Parse(path, b)
}

// Parse decodes and validates a recipe held in memory; name is used in messages.
func Parse(name string, data []byte) (*Config, error) {
	var c Config
	if err := ApplyDefaults(&c); err != nil {
		return nil, err
	}
	d := decoder{file: name}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		var line int
		msg := err.Error()
		// yaml.v3 reports "yaml: line N: …".
		if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
			if n, tail, ok := strings.Cut(rest, ":"); ok {
				line, _ = strconv.Atoi(n)
				msg = strings.TrimSpace(tail)
			}
		}
		return nil, Problems{{File: name, Line: line, Msg: "not valid YAML: " + msg}}
	}
	if len(root.Content) == 0 {
		return nil, Problems{{File: name, Msg: "empty config"}}
	}
	d.decode(root.Content[0], reflect.ValueOf(&c).Elem(), "")
	if len(d.problems) == 0 {
		for _, p := range c.validate() {
			p.File = name
			p.Line = d.lineOf(p.Path)
			d.problems = append(d.problems, p)
		}
	}
	if len(d.problems) > 0 {
		return nil, d.problems
	}
	return &c, nil
}

type decoder struct {
	file     string
	problems Problems
	lines    map[string]int // key path -> line, for validation messages
}

// lineOf is the line of path, or of its nearest ancestor that is in the file
// (a missing key is reported where its parent is).
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
	return 0
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
