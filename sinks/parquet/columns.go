package parquet

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"kforge/datasets"
)

// Columns is a batch of rows of one schema held column by column in plain Go
// slices, lent to Arrow without a copy by Record. Reset keeps the slices'
// capacity, so a writer that reuses a Columns for batch after batch stops
// allocating after the first: Arrow's own builders allocate fresh, zeroed
// buffers for every record and grow them by copying, which costs more than
// the encoding on wide text columns. Wide text columns can also be kept by
// reference (see Storage), not copied at all.
type Columns struct {
	schema *arrow.Schema // of Record: dictionary types where dictionary-encoded
	fields []*Column
	rows   int
}

// Column is one column of a Columns batch, or the elements of a list column,
// or one field of a struct. Which append methods apply follows its type.
type Column struct {
	typ      arrow.DataType
	nullable bool
	n        int
	nulls    int
	valid    []byte    // validity bitmap (nullable columns)
	offs     []int32   // string: end offsets after a leading 0; list: start offsets
	data     []byte    // string bytes
	f64      []float64 // float64 values
	i32      []int32   // int32 values
	bits     []byte    // bool values
	elem     *Column   // list elements
	fields   []*Column // struct fields

	// A dictionary-encoded string column keeps its distinct values in
	// offs/data and one index per value; last short-cuts runs of one value.
	dict    map[string]int32
	idx     []int32
	last    string
	lastIdx int32 // -1: no last value

	// A Referenced string column keeps the strings themselves ("" for a
	// null); zeros is the all-zero offsets of its ShapeRecord array.
	ref   bool
	strs  []string
	zeros []int32
}

// Storage is how a Columns batch holds a string column.
type Storage int

const (
	// Copied strings are copied into one buffer, Arrow's layout.
	Copied Storage = iota
	// Dictionary strings are kept once per distinct value, with an index
	// per row, so that a Parquet writer gets the dictionary ready-made
	// instead of hashing every value again: for low-cardinality columns.
	Dictionary
	// Referenced strings are not copied: the batch keeps the strings it is
	// given (Go strings never change), Record copies them into Arrow's
	// layout, and a Parquet writer reads them through ShapeRecord and
	// Leaves without any copy: for wide text, whose copy would cost more
	// than the rest of the row.
	Referenced
)

// dictType is the Arrow type of a dictionary-encoded string column.
var dictType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

// NewColumns returns an empty batch for schema. storage says how to hold
// each string column, by its Parquet path (as in PlainColumns); nil holds
// them all Copied. It panics on a type the dataset schemas do not use
// (strings, float64, int32, bool, lists of them or of structs of them), as
// a schema is fixed at compile time.
func NewColumns(schema *arrow.Schema, storage func(path string) Storage) *Columns {
	if storage == nil {
		storage = func(string) Storage { return Copied }
	}
	c := &Columns{}
	fields := make([]arrow.Field, schema.NumFields())
	for i, f := range schema.Fields() {
		col, rf := newColumn(f, f.Name, storage)
		c.fields = append(c.fields, col)
		fields[i] = rf
	}
	md := schema.Metadata()
	c.schema = arrow.NewSchema(fields, &md)
	c.Reset()
	return c
}

// newColumn makes the column of field f at Parquet path path, and the field
// as the record will have it.
func newColumn(f arrow.Field, path string, storage func(string) Storage) (*Column, arrow.Field) {
	col := &Column{typ: f.Type, nullable: f.Nullable}
	switch t := f.Type.(type) {
	case *arrow.ListType:
		if f.Nullable {
			panic(fmt.Sprintf("parquet: nullable list column %s", f.Name))
		}
		var ef arrow.Field
		col.elem, ef = newColumn(t.ElemField(), path+".list.element", storage)
		// Elements are never null; the element field's nullability is
		// Arrow's default for lists and says nothing here.
		col.elem.nullable = false
		f.Type = arrow.ListOfField(ef)
	case *arrow.StructType:
		sfs := make([]arrow.Field, t.NumFields())
		for i, sf := range t.Fields() {
			var sc *Column
			sc, sfs[i] = newColumn(sf, path+"."+sf.Name, storage)
			col.fields = append(col.fields, sc)
		}
		f.Type = arrow.StructOf(sfs...)
	default:
		switch f.Type.ID() {
		case arrow.STRING:
			switch storage(path) {
			case Dictionary:
				col.dict = map[string]int32{}
				f.Type = dictType
			case Referenced:
				col.ref = true
			}
		case arrow.FLOAT64, arrow.INT32, arrow.BOOL:
		default:
			panic(fmt.Sprintf("parquet: column %s has unsupported type %s", f.Name, f.Type))
		}
	}
	col.typ = f.Type
	return col, f
}

// Rows is the number of rows appended since the last Reset.
func (c *Columns) Rows() int { return c.rows }

// Field returns column i in schema order.
func (c *Columns) Field(i int) *Column { return c.fields[i] }

// Reset empties the batch and keeps its memory. A record from Record must
// no longer be in use.
func (c *Columns) Reset() {
	c.rows = 0
	for _, f := range c.fields {
		f.reset()
	}
}

// Append adds one row, which must be a record of the batch's config (see
// appendRow).
func (c *Columns) Append(r datasets.Row) {
	appendRow(c, r)
	c.rows++
}

// Record wraps the batch as an Arrow record without copying, except that
// Referenced strings are copied into Arrow's layout: it is valid until the
// next Reset or Append, and releasing it frees nothing.
func (c *Columns) Record() arrow.RecordBatch { return c.record(false) }

// ShapeRecord is Record without the Referenced strings: their arrays have
// the right length and validity but every value is "". It gives a Parquet
// writer the nesting and null structure of every column without copying the
// text, which it then reads from Leaves.
func (c *Columns) ShapeRecord() arrow.RecordBatch { return c.record(true) }

// Leaves returns the batch's primitive columns in Parquet leaf order (list
// elements and struct fields in place of their parents), the order of a
// Parquet schema's leaf columns.
func (c *Columns) Leaves() []*Column {
	var out []*Column
	var walk func(col *Column)
	walk = func(col *Column) {
		switch {
		case col.elem != nil:
			walk(col.elem)
		case col.fields != nil:
			for _, f := range col.fields {
				walk(f)
			}
		default:
			out = append(out, col)
		}
	}
	for _, f := range c.fields {
		walk(f)
	}
	return out
}

// Referenced says whether col is a Referenced string column.
func (col *Column) Referenced() bool { return col.ref }

// Strings returns a Referenced column's values, "" where null; they are
// valid until the next Reset.
func (col *Column) Strings() []string { return col.strs }

func (c *Columns) record(shape bool) arrow.RecordBatch {
	arrs := make([]arrow.Array, len(c.fields))
	for i, f := range c.fields {
		d := f.arrayData(shape)
		arrs[i] = array.MakeFromData(d)
		d.Release()
	}
	rec := array.NewRecordBatch(c.schema, arrs, int64(c.rows))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

func (col *Column) reset() {
	col.n, col.nulls = 0, 0
	col.valid = col.valid[:0]
	col.data = col.data[:0]
	col.f64 = col.f64[:0]
	col.i32 = col.i32[:0]
	col.bits = col.bits[:0]
	col.offs = col.offs[:0]
	col.idx = col.idx[:0]
	clear(col.strs) // let the strings go
	col.strs = col.strs[:0]
	if col.dict != nil {
		clear(col.dict)
		col.last, col.lastIdx = "", -1
	}
	if col.typ.ID() == arrow.STRING || col.dict != nil {
		col.offs = append(col.offs, 0)
		if col.data == nil {
			// Never nil: Parquet statistics read a nil value as absent, and an
			// all-empty column would lose its page index.
			col.data = make([]byte, 0, 64)
		}
	}
	if col.elem != nil {
		col.elem.reset()
	}
	for _, f := range col.fields {
		f.reset()
	}
}

// slot records one more value and whether it is valid.
func (col *Column) slot(valid bool) {
	if col.nullable {
		if col.n%8 == 0 {
			col.valid = append(col.valid, 0)
		}
		if valid {
			col.valid[col.n/8] |= 1 << (col.n % 8)
		} else {
			col.nulls++
		}
	} else if !valid {
		panic(fmt.Sprintf("parquet: null in a non-nullable %s column", col.typ))
	}
	col.n++
}

// Str appends a string.
func (col *Column) Str(s string) {
	col.slot(true)
	if col.dict != nil {
		col.dictStr(s)
		return
	}
	if col.ref {
		col.strs = append(col.strs, s)
		return
	}
	if len(col.data)+len(s) > cap(col.data) {
		col.data = grow(col.data, len(s))
	}
	col.data = append(col.data, s...)
	col.offs = append(col.offs, int32(len(col.data)))
}

// grow returns b with room for n more bytes, doubling: append's growth of
// large slices by a quarter would copy a row group's text several times.
func grow(b []byte, n int) []byte {
	nb := make([]byte, len(b), max(2*cap(b), len(b)+n, 4096))
	copy(nb, b)
	return nb
}

// Reserve gives each column of c at least the capacity that the same column
// of like uses now, so a new batch of a writer does not grow by copying.
func (c *Columns) Reserve(like *Columns) {
	for i, f := range c.fields {
		f.ensure(like.fields[i], 1)
	}
}

// Expect makes room for k times the rows the batch holds now, column by
// column (dictionaries excepted): a writer that sizes its first batch from
// the first row saves growing it by doubling, which allocates and copies
// twice the row group.
func (c *Columns) Expect(k int) {
	for _, f := range c.fields {
		f.ensure(f, k)
	}
}

// ensure gives col room for k times the lengths like's slices have now; a
// dictionary's values do not grow with the rows, so they get like's length.
func (col *Column) ensure(like *Column, k int) {
	dk := k
	if col.dict != nil {
		dk = 1
	}
	col.valid = growTo(col.valid, k*len(like.valid))
	col.offs = growTo(col.offs, k*len(like.offs)+1)
	col.idx = growTo(col.idx, k*len(like.idx))
	col.data = growTo(col.data, dk*len(like.data))
	col.f64 = growTo(col.f64, k*len(like.f64))
	col.i32 = growTo(col.i32, k*len(like.i32))
	col.bits = growTo(col.bits, k*len(like.bits))
	col.strs = growTo(col.strs, k*len(like.strs))
	if col.elem != nil {
		col.elem.ensure(like.elem, k)
	}
	for i, f := range col.fields {
		f.ensure(like.fields[i], k)
	}
}

// growTo returns s with a capacity of at least n.
func growTo[S ~[]E, E any](s S, n int) S { return slices.Grow(s, max(0, n-len(s))) }

// StrOrNull appends s, or null when s is empty.
func (col *Column) StrOrNull(s string) {
	if s != "" {
		col.Str(s)
		return
	}
	col.slot(false)
	if col.dict != nil {
		col.idx = append(col.idx, 0)
		return
	}
	if col.ref {
		col.strs = append(col.strs, "")
		return
	}
	col.offs = append(col.offs, int32(len(col.data)))
}

// dictStr appends s to a dictionary-encoded column.
func (col *Column) dictStr(s string) {
	if col.lastIdx < 0 || s != col.last {
		k, ok := col.dict[s]
		if !ok {
			k = int32(len(col.dict))
			col.dict[s] = k
			col.data = append(col.data, s...)
			col.offs = append(col.offs, int32(len(col.data)))
		}
		col.last, col.lastIdx = s, k
	}
	col.idx = append(col.idx, col.lastIdx)
}

// F64 appends a float64, or null when !valid.
func (col *Column) F64(x float64, valid bool) {
	col.slot(valid)
	if !valid {
		x = 0
	}
	col.f64 = append(col.f64, x)
}

// I32 appends an int32, or null when !valid.
func (col *Column) I32(x int32, valid bool) {
	col.slot(valid)
	if !valid {
		x = 0
	}
	col.i32 = append(col.i32, x)
}

// Bool appends a bool.
func (col *Column) Bool(x bool) {
	i := col.n
	col.slot(true)
	if i%8 == 0 {
		col.bits = append(col.bits, 0)
	}
	if x {
		col.bits[i/8] |= 1 << (i % 8)
	}
}

// List starts the next list value of a list column and returns the column
// its elements are appended to.
func (col *Column) List() *Column {
	col.offs = append(col.offs, int32(col.elem.n))
	col.slot(true)
	return col.elem
}

// Struct adds the next struct value of a struct column (a list's element)
// and returns its fields, to each of which one value must then be appended.
func (col *Column) Struct() []*Column {
	col.slot(true)
	return col.fields
}

// arrayData lends the column's slices to an Arrow ArrayData. A Referenced
// column's strings are copied into data and offs, or, for a shape, left out.
func (col *Column) arrayData(shape bool) arrow.ArrayData {
	var validity *memory.Buffer
	if col.nulls > 0 {
		validity = memory.NewBufferBytes(col.valid)
	}
	var bufs []*memory.Buffer
	var children []arrow.ArrayData
	switch col.typ.ID() {
	case arrow.DICTIONARY:
		values := array.NewData(arrow.BinaryTypes.String, len(col.offs)-1, []*memory.Buffer{nil,
			memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(col.offs)), memory.NewBufferBytes(col.data)}, nil, 0, 0)
		defer values.Release()
		return array.NewDataWithDictionary(col.typ, col.n, []*memory.Buffer{validity,
			memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(col.idx))}, col.nulls, 0, values)
	case arrow.STRING:
		offs, data := col.offs, col.data
		switch {
		case col.ref && shape:
			for len(col.zeros) <= col.n {
				col.zeros = append(col.zeros, 0)
			}
			offs, data = col.zeros[:col.n+1], col.data[:0]
		case col.ref:
			col.data, col.offs = col.data[:0], col.offs[:1]
			for _, s := range col.strs {
				col.data = append(col.data, s...)
				col.offs = append(col.offs, int32(len(col.data)))
			}
			offs, data = col.offs, col.data
		}
		bufs = []*memory.Buffer{validity, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)), memory.NewBufferBytes(data)}
	case arrow.FLOAT64:
		bufs = []*memory.Buffer{validity, memory.NewBufferBytes(arrow.Float64Traits.CastToBytes(col.f64))}
	case arrow.INT32:
		bufs = []*memory.Buffer{validity, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(col.i32))}
	case arrow.BOOL:
		bufs = []*memory.Buffer{validity, memory.NewBufferBytes(col.bits)}
	case arrow.LIST:
		// The final end offset is added here and dropped by the next reset.
		offs := append(col.offs, int32(col.elem.n))
		col.offs = offs[:len(offs)-1]
		bufs = []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs))}
		children = []arrow.ArrayData{col.elem.arrayData(shape)}
	case arrow.STRUCT:
		bufs = []*memory.Buffer{nil}
		for _, f := range col.fields {
			children = append(children, f.arrayData(shape))
		}
	}
	d := array.NewData(col.typ, col.n, bufs, children, col.nulls, 0)
	for _, ch := range children {
		ch.Release()
	}
	return d
}
