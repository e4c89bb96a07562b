package parquet

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// leafColumn is one Parquet leaf column of an Arrow column, in the form
// pqarrow.WriteArrowToColumn takes: the leaf values (null slots included) and
// the definition and repetition levels of every slot.
//
// pqarrow computes these levels itself only inside FileWriter, one column
// after another; computing them here lets the sink encode the columns of a
// row group at the same time. The shapes are the ones the dataset schemas
// use (see leaves); anything else is refused rather than written wrong.
type leafColumn struct {
	values   arrow.Array
	def, rep []int16
	// nullable: the leaf field is nullable and some value is null. (With
	// no nulls pqarrow writes the leaf as not nullable, which changes the
	// null counts of empty lists in the page index; so does this.)
	nullable bool
}

// leaves splits one column of field f into its leaf columns, in Parquet
// column order. Supported: a primitive (nullable or not), and a list
// (nullable or not) of a primitive or of a struct of primitives, whose
// elements are never null when they are structs. Values are not copied;
// each leaf's values hold a reference the caller releases.
func leaves(f arrow.Field, col arrow.Array) ([]leafColumn, error) {
	switch t := f.Type.(type) {
	case *arrow.ListType:
		return listLeaves(f, t, col.(*array.List))
	case *arrow.StructType:
		sa, ok := col.(*array.Struct)
		if !ok {
			return nil, fmt.Errorf("column %s: a %s array for a struct field is not supported", f.Name, col.DataType())
		}
		return structLeaves(f, t, sa)
	}
	if !primitive(f.Type) {
		return nil, fmt.Errorf("column %s: type %s is not supported", f.Name, f.Type)
	}
	col = plainIfNeeded(col)
	if !f.Nullable {
		if col.NullN() > 0 {
			col.Release()
			return nil, fmt.Errorf("column %s: null in a non-nullable column", f.Name)
		}
		return []leafColumn{{values: col}}, nil
	}
	def := make([]int16, col.Len())
	for i := range def {
		if col.IsValid(i) {
			def[i] = 1
		}
	}
	return []leafColumn{{values: col, def: def, nullable: col.NullN() > 0}}, nil
}

func primitive(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.BINARY, arrow.LARGE_STRING, arrow.LARGE_BINARY, arrow.BOOL, arrow.DICTIONARY,
		arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT32, arrow.FLOAT64:
		return true
	}
	return false
}

// structLeaves gives the leaves of a non-nullable struct of primitives: a
// struct that is always present adds no level, so each field is a leaf as
// it would be at the top.
func structLeaves(f arrow.Field, t *arrow.StructType, col *array.Struct) ([]leafColumn, error) {
	if f.Nullable {
		return nil, fmt.Errorf("column %s: a nullable struct is not supported", f.Name)
	}
	if col.NullN() > 0 {
		return nil, fmt.Errorf("column %s: null in a non-nullable column", f.Name)
	}
	var out []leafColumn
	for k, sf := range t.Fields() {
		if !primitive(sf.Type) {
			release(out)
			return nil, fmt.Errorf("column %s.%s: type %s is not supported", f.Name, sf.Name, sf.Type)
		}
		ls, err := leaves(sf, col.Field(k))
		if err != nil {
			release(out)
			return nil, fmt.Errorf("column %s: %w", f.Name, err)
		}
		out = append(out, ls...)
	}
	return out, nil
}

func release(ls []leafColumn) {
	for _, l := range ls {
		l.values.Release()
	}
}

// listLeaves gives the leaves of a list column. Definition levels count the
// optional and repeated ancestors that are present: a null list is 0, an empty
// list is base, an element is base+1 (+1 if the element is nullable and
// present, +1 again if its struct field is nullable and present).
func listLeaves(f arrow.Field, t *arrow.ListType, col *array.List) ([]leafColumn, error) {
	elem := t.ElemField()
	var base int16
	if f.Nullable {
		base = 1
	}
	elemDef := base + 1 // a null element
	if elem.Nullable {
		elemDef++ // a present element
	}
	n := col.Len()
	var lo, hi int64
	if n > 0 {
		lo, _ = col.ValueOffsets(0)
		_, hi = col.ValueOffsets(n - 1)
	}
	child := col.ListValues()

	// One leaf per primitive element or per struct field.
	var fields []arrow.Field
	var arrays []arrow.Array
	st, isStruct := elem.Type.(*arrow.StructType)
	if isStruct {
		sa := child.(*array.Struct)
		for k, sf := range st.Fields() {
			if !primitive(sf.Type) {
				return nil, fmt.Errorf("column %s.%s: type %s is not supported", f.Name, sf.Name, sf.Type)
			}
			fields = append(fields, sf)
			arrays = append(arrays, sa.Field(k))
		}
	} else {
		if !primitive(elem.Type) {
			return nil, fmt.Errorf("column %s: list of %s is not supported", f.Name, elem.Type)
		}
		fields = []arrow.Field{elem}
		arrays = []arrow.Array{child}
	}

	// Repetition levels and the list/element part of the definition levels
	// are the same for every leaf.
	var rep, def []int16
	for i := range n {
		if col.IsNull(i) {
			if !f.Nullable {
				return nil, fmt.Errorf("column %s: null in a non-nullable column", f.Name)
			}
			rep, def = append(rep, 0), append(def, 0)
			continue
		}
		s, e := col.ValueOffsets(i)
		if s == e {
			rep, def = append(rep, 0), append(def, base)
			continue
		}
		for j := s; j < e; j++ {
			r := int16(1)
			if j == s {
				r = 0
			}
			d := elemDef
			if child.IsNull(int(j)) {
				if isStruct || !elem.Nullable {
					return nil, fmt.Errorf("column %s: null list element", f.Name)
				}
				d = elemDef - 1
			}
			rep, def = append(rep, r), append(def, d)
		}
	}

	out := make([]leafColumn, len(fields))
	for k, sf := range fields {
		sl := array.NewSlice(arrays[k], lo, hi)
		vals := plainIfNeeded(sl)
		sl.Release()
		d := def
		if isStruct && sf.Nullable {
			// A nullable struct field adds one level where it is present.
			d = make([]int16, len(def))
			j := 0
			for x, lvl := range def {
				d[x] = lvl
				if lvl == elemDef {
					if vals.IsValid(j) {
						d[x]++
					}
					j++
				}
			}
		} else if isStruct && vals.NullN() > 0 {
			vals.Release()
			releaseLeaves(out[:k])
			return nil, fmt.Errorf("column %s.%s: null in a non-nullable field", f.Name, sf.Name)
		}
		out[k] = leafColumn{values: vals, def: d, rep: rep, nullable: sf.Nullable && vals.NullN() > 0}
	}
	return out, nil
}

func releaseLeaves(ls []leafColumn) {
	for _, l := range ls {
		l.values.Release()
	}
}

// plainIfNeeded returns a new reference to arr, or, for a dictionary array
// with an empty dictionary or an empty string in it, the same values as a
// plain string array. pqarrow's dictionary path cannot take an empty
// dictionary, and leaves "" out of the statistics (a wrong minimum, which
// would let a reader skip pages that hold "").
func plainIfNeeded(arr arrow.Array) arrow.Array {
	d, ok := arr.(*array.Dictionary)
	if !ok {
		arr.Retain()
		return arr
	}
	dict := d.Dictionary().(*array.String)
	hasEmpty := dict.Len() == 0
	for i := 0; i < dict.Len() && !hasEmpty; i++ {
		hasEmpty = dict.ValueLen(i) == 0
	}
	if !hasEmpty {
		arr.Retain()
		return arr
	}
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	b.Reserve(d.Len())
	for i := range d.Len() {
		if d.IsNull(i) {
			b.AppendNull()
		} else {
			b.Append(dict.Value(d.GetValueIndex(i)))
		}
	}
	return b.NewArray()
}
