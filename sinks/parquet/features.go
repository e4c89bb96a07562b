package parquet

import (
	"encoding/json"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// hfDtype maps an Arrow type to a `datasets` Value dtype.
func hfDtype(t arrow.DataType) string {
	switch t.ID() {
	case arrow.STRING:
		return "string"
	case arrow.LARGE_STRING:
		return "large_string"
	case arrow.BOOL:
		return "bool"
	case arrow.INT32:
		return "int32"
	case arrow.INT64:
		return "int64"
	case arrow.FLOAT32:
		return "float32"
	case arrow.FLOAT64:
		return "float64"
	}
	return t.String()
}

// hfFeatureJSON writes the `datasets` Features JSON of one type, keeping field
// order (a Go map would sort it). A list is written as a one-element JSON
// array, the form every `datasets` version reads.
func hfFeatureJSON(sb *strings.Builder, t arrow.DataType) {
	switch tt := t.(type) {
	case *arrow.ListType:
		sb.WriteByte('[')
		hfFeatureJSON(sb, tt.Elem())
		sb.WriteByte(']')
	case *arrow.StructType:
		sb.WriteByte('{')
		for i, f := range tt.Fields() {
			if i > 0 {
				sb.WriteByte(',')
			}
			k, _ := json.Marshal(f.Name)
			sb.Write(k)
			sb.WriteByte(':')
			hfFeatureJSON(sb, f.Type)
		}
		sb.WriteByte('}')
	default:
		sb.WriteString(`{"dtype":"` + hfDtype(t) + `","_type":"Value"}`)
	}
}

// HFFeaturesJSON returns the value of the "huggingface" schema metadata key:
// {"info":{"features":{…}}} in column order.
func HFFeaturesJSON(s *arrow.Schema) string {
	var sb strings.Builder
	sb.WriteString(`{"info":{"features":`)
	hfFeatureJSON(&sb, arrow.StructOf(s.Fields()...))
	sb.WriteString(`}}`)
	return sb.String()
}

// YAMLFeature is one feature in a dataset card's dataset_info (the form
// `datasets` writes: dtype for values, list for lists, struct for structs).
type YAMLFeature struct {
	Name   string        `yaml:"name,omitempty"`
	Dtype  string        `yaml:"dtype,omitempty"`
	List   any           `yaml:"list,omitempty"`
	Struct []YAMLFeature `yaml:"struct,omitempty"`
}

func yamlOf(name string, t arrow.DataType) YAMLFeature {
	switch tt := t.(type) {
	case *arrow.ListType:
		f := YAMLFeature{Name: name}
		switch et := tt.Elem().(type) {
		case *arrow.StructType:
			var fs []YAMLFeature
			for _, sf := range et.Fields() {
				fs = append(fs, yamlOf(sf.Name, sf.Type))
			}
			f.List = fs
		default:
			f.List = hfDtype(et)
		}
		return f
	case *arrow.StructType:
		f := YAMLFeature{Name: name}
		for _, sf := range tt.Fields() {
			f.Struct = append(f.Struct, yamlOf(sf.Name, sf.Type))
		}
		return f
	}
	return YAMLFeature{Name: name, Dtype: hfDtype(t)}
}

// YAMLFeatures returns a schema's features as a dataset card lists them.
func YAMLFeatures(s *arrow.Schema) []YAMLFeature {
	var out []YAMLFeature
	for _, f := range s.Fields() {
		out = append(out, yamlOf(f.Name, f.Type))
	}
	return out
}
