// Package parquet writes dataset rows as Hugging Face style Parquet shards
// through arrow-go (pqarrow): zstd, page index on, row groups and shards
// bounded in uncompressed bytes, named data/<config>/<split>-NNNNN-of-NNNNN.parquet.
// The output is deterministic: the same rows in the same order give the same
// bytes (no timestamps; the created_by string is fixed).
package parquet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"kforge/datasets"
)

// CreatedBy is the fixed created_by string of every file, so that a library
// upgrade alone does not change a release's bytes.
const CreatedBy = "kforge parquet sink (arrow-go v18)"

// Options bound the output.
type Options struct {
	// MaxShardBytes closes a shard once its rows reach this many uncompressed
	// bytes (so a shard stays under it by at most one row group's overshoot;
	// keep it a row group below the limit you need).
	MaxShardBytes int64
	// RowGroupBytes ends a row group at this many uncompressed bytes
	// (default 64 MB; the Hub viewer wants row groups well under 300 MB).
	RowGroupBytes int64
	// ZstdLevel is the zstd level (default 3).
	ZstdLevel int
}

// File is one shard written.
type File struct {
	Path  string `json:"path"` // relative to the release root, slash-separated
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`            // uncompressed estimate
	Size  int64  `json:"size"`             // bytes on disk
	SHA   string `json:"sha256,omitempty"` // filled by the caller if wanted
}

// Writer streams rows of one config and split into shards. Shards are written
// to temporary files in the target folder and renamed to their final
// NNNNN-of-NNNNN names by Close, when their count is known, so each file
// appears whole or not at all.
//
// Rows are gathered into an Arrow record on the caller's goroutine while the
// previous row group is encoded and compressed on another, so building and
// encoding overlap; at most two row groups are in memory.
type Writer struct {
	root, config, split string
	schema              *arrow.Schema
	opt                 Options
	props               *pq.WriterProperties
	mem                 memory.Allocator

	b          *array.RecordBuilder
	rgBytes    int64
	shardBytes int64
	shardRows  int64
	jobs       chan job
	done       chan struct{}
	err        error

	// Owned by the encoding goroutine until done is closed.
	f    *os.File
	fw   *pqarrow.FileWriter
	tmps []File // finished shards under temporary names
	werr error
	// failed tells Append, without a race, that the encoder stopped.
	failed atomic.Bool
}

// job is one step for the encoding goroutine: write rec as a row group, or
// (rec nil) close the current shard, which holds rows and bytes.
type job struct {
	rec   arrow.RecordBatch
	rows  int64
	bytes int64
}

// NewWriter returns a writer of rows for config/split under root (the release
// directory). Nothing is created until the first row group.
func NewWriter(root, config, split string, schema *arrow.Schema, opt Options) *Writer {
	if opt.RowGroupBytes <= 0 {
		opt.RowGroupBytes = 64 << 20
	}
	if opt.MaxShardBytes <= 0 {
		opt.MaxShardBytes = 450 << 20
	}
	if opt.ZstdLevel == 0 {
		opt.ZstdLevel = 3
	}
	mem := memory.NewGoAllocator()
	wp := []pq.WriterProperty{
		pq.WithCompression(compress.Codecs.Zstd),
		pq.WithCompressionLevel(opt.ZstdLevel),
		pq.WithPageIndexEnabled(true),
		pq.WithDictionaryDefault(true),
		pq.WithStats(true),
		pq.WithCreatedBy(CreatedBy),
		pq.WithAllocator(mem),
		// Row groups are cut by bytes in Append; never by this count.
		pq.WithMaxRowGroupLength(1 << 40),
	}
	for _, c := range datasets.PlainColumns(config) {
		wp = append(wp, pq.WithDictionaryFor(c, false))
	}
	w := &Writer{root: root, config: config, split: split, schema: schema, opt: opt,
		props: pq.NewWriterProperties(wp...), mem: mem, jobs: make(chan job, 1), done: make(chan struct{})}
	go w.encode(w.jobs)
	return w
}

// Dir is the folder the shards go to.
func (w *Writer) Dir() string { return filepath.Join(w.root, "data", w.config) }

// Append adds one row. An encoding or I/O error of an earlier row group is
// returned by a later Append and by Close.
func (w *Writer) Append(r datasets.Row) error {
	if w.err == nil && w.failed.Load() {
		w.err = fmt.Errorf("parquet %s/%s: writing an earlier row group failed", w.config, w.split)
	}
	if w.err != nil {
		return w.err
	}
	if w.b == nil {
		w.b = array.NewRecordBuilder(w.mem, w.schema)
	}
	r.AppendTo(w.b)
	n := int64(r.Size())
	w.rgBytes += n
	w.shardBytes += n
	w.shardRows++
	if w.rgBytes >= w.opt.RowGroupBytes || w.shardBytes >= w.opt.MaxShardBytes {
		w.flushRowGroup()
	}
	if w.shardBytes >= w.opt.MaxShardBytes {
		w.jobs <- job{rows: w.shardRows, bytes: w.shardBytes}
		w.shardBytes, w.shardRows = 0, 0
	}
	return nil
}

func (w *Writer) flushRowGroup() {
	if w.b == nil || w.rgBytes == 0 {
		return
	}
	// Size the next row group's buffers like this one, so that building it
	// does not grow them by doubling and copying.
	rows := w.b.Field(0).Len()
	var sizes []int
	for _, sb := range stringBuilders(w.b) {
		sizes = append(sizes, sb.DataLen())
	}
	w.jobs <- job{rec: w.b.NewRecordBatch()}
	w.rgBytes = 0
	w.b.Reserve(rows)
	for i, sb := range stringBuilders(w.b) {
		sb.ReserveData(sizes[i])
	}
}

// stringBuilders are the string builders of a record builder, nested ones
// included, in a fixed order.
func stringBuilders(b *array.RecordBuilder) []*array.StringBuilder {
	var out []*array.StringBuilder
	var walk func(array.Builder)
	walk = func(x array.Builder) {
		switch t := x.(type) {
		case *array.StringBuilder:
			out = append(out, t)
		case *array.ListBuilder:
			walk(t.ValueBuilder())
		case *array.StructBuilder:
			for i := range t.NumField() {
				walk(t.FieldBuilder(i))
			}
		}
	}
	for _, f := range b.Fields() {
		walk(f)
	}
	return out
}

// encode runs the jobs in order; after the first error it only drains.
func (w *Writer) encode(jobs <-chan job) {
	defer close(w.done)
	for j := range jobs {
		if w.werr == nil {
			if j.rec != nil {
				w.werr = w.writeRowGroup(j.rec)
			} else {
				w.werr = w.closeShard(j.rows, j.bytes)
			}
			if w.werr != nil {
				w.failed.Store(true)
			}
		}
		if j.rec != nil {
			j.rec.Release()
		}
	}
}

func (w *Writer) writeRowGroup(rec arrow.RecordBatch) error {
	if w.fw == nil {
		if err := os.MkdirAll(w.Dir(), 0o755); err != nil {
			return err
		}
		f, err := os.CreateTemp(w.Dir(), "."+w.split+".tmp-*")
		if err != nil {
			return err
		}
		fw, err := pqarrow.NewFileWriter(w.schema, f, w.props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(w.mem)))
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			return err
		}
		w.f, w.fw = f, fw
	}
	return w.fw.Write(rec)
}

func (w *Writer) closeShard(rows, bytes int64) error {
	if w.fw == nil {
		return nil
	}
	name := w.f.Name()
	cerr := w.f.Chmod(0o644) // CreateTemp makes 0600; releases are read by others
	err := errors.Join(cerr, w.fw.Close()) // Close also closes the file
	w.f, w.fw = nil, nil
	if err != nil {
		os.Remove(name)
		return err
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	st, serr := f.Stat()
	f.Close()
	w.tmps = append(w.tmps, File{Path: name, Rows: rows, Bytes: bytes})
	if err = errors.Join(err, serr); err != nil {
		return err
	}
	w.tmps[len(w.tmps)-1].Size = st.Size()
	return nil
}

// wait stops the encoding goroutine and returns its first error.
func (w *Writer) wait() error {
	if w.jobs != nil {
		close(w.jobs)
		w.jobs = nil
	}
	<-w.done
	return w.werr
}

// Close finishes the last shard and gives every shard its final name. It
// returns the shards in order, with paths relative to root; no rows means no
// files.
func (w *Writer) Close() ([]File, error) {
	if w.jobs != nil {
		w.flushRowGroup()
		if w.shardRows > 0 {
			w.jobs <- job{rows: w.shardRows, bytes: w.shardBytes}
			w.shardBytes, w.shardRows = 0, 0
		}
	}
	if err := w.wait(); err != nil {
		w.Abort()
		return nil, fmt.Errorf("parquet %s/%s: %w", w.config, w.split, err)
	}
	if w.b != nil {
		w.b.Release()
		w.b = nil
	}
	out := make([]File, len(w.tmps))
	for i, t := range w.tmps {
		rel := ShardName(w.config, w.split, i, len(w.tmps))
		if err := os.Rename(t.Path, filepath.Join(w.root, filepath.FromSlash(rel))); err != nil {
			w.Abort()
			return nil, fmt.Errorf("parquet %s/%s: %w", w.config, w.split, err)
		}
		t.Path = rel
		out[i] = t
	}
	w.tmps = nil
	if d, err := os.Open(w.Dir()); err == nil {
		d.Sync() // best effort, as pipeline.WriteAtomic
		d.Close()
	}
	return out, nil
}

// Abort removes every temporary file; final names are never touched.
func (w *Writer) Abort() {
	w.wait()
	if w.fw != nil {
		w.fw.Close()
		os.Remove(w.f.Name())
		w.f, w.fw = nil, nil
	}
	for _, t := range w.tmps {
		os.Remove(t.Path)
	}
	w.tmps = nil
	if w.b != nil {
		w.b.Release()
		w.b = nil
	}
}

// ShardName is the release-relative path of shard i of n:
// data/<config>/<split>-NNNNN-of-NNNNN.parquet.
func ShardName(config, split string, i, n int) string {
	return fmt.Sprintf("data/%s/%s-%05d-of-%05d.parquet", config, split, i, n)
}
