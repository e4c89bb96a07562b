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
type Writer struct {
	root, config, split string
	schema              *arrow.Schema
	opt                 Options
	props               *pq.WriterProperties
	mem                 memory.Allocator

	b          *array.RecordBuilder
	rgBytes    int64
	f          *os.File
	fw         *pqarrow.FileWriter
	shardBytes int64
	shardRows  int64
	tmps       []File // finished shards under temporary names
	err        error
}

// NewWriter returns a writer of rows for config/split under root (the release
// directory). Nothing is created until the first row.
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
	props := pq.NewWriterProperties(
		pq.WithCompression(compress.Codecs.Zstd),
		pq.WithCompressionLevel(opt.ZstdLevel),
		pq.WithPageIndexEnabled(true),
		pq.WithDictionaryDefault(true),
		pq.WithStats(true),
		pq.WithCreatedBy(CreatedBy),
		pq.WithAllocator(mem),
		// Row groups are cut by bytes in Append; never by this count.
		pq.WithMaxRowGroupLength(1<<40),
	)
	return &Writer{root: root, config: config, split: split, schema: schema, opt: opt, props: props, mem: mem}
}

// Dir is the folder the shards go to.
func (w *Writer) Dir() string { return filepath.Join(w.root, "data", w.config) }

// Append adds one row.
func (w *Writer) Append(r datasets.Row) error {
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
		if err := w.flushRowGroup(); err != nil {
			return w.fail(err)
		}
	}
	if w.shardBytes >= w.opt.MaxShardBytes {
		if err := w.closeShard(); err != nil {
			return w.fail(err)
		}
	}
	return nil
}

func (w *Writer) fail(err error) error {
	w.err = fmt.Errorf("parquet %s/%s: %w", w.config, w.split, err)
	return w.err
}

func (w *Writer) flushRowGroup() error {
	if w.b == nil || w.rgBytes == 0 {
		return nil
	}
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
	rec := w.b.NewRecordBatch()
	defer rec.Release()
	w.rgBytes = 0
	return w.fw.Write(rec)
}

func (w *Writer) closeShard() error {
	if w.fw == nil {
		return nil
	}
	if err := w.fw.Close(); err != nil { // also closes the file
		return err
	}
	name := w.f.Name()
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	st, serr := f.Stat()
	f.Close()
	if err = errors.Join(err, serr); err != nil {
		return err
	}
	w.tmps = append(w.tmps, File{Path: name, Rows: w.shardRows, Bytes: w.shardBytes, Size: st.Size()})
	w.f, w.fw = nil, nil
	w.shardBytes, w.shardRows = 0, 0
	return nil
}

// Close finishes the last shard and gives every shard its final name. It
// returns the shards in order, with paths relative to root; no rows means no
// files.
func (w *Writer) Close() ([]File, error) {
	if w.err != nil {
		w.Abort()
		return nil, w.err
	}
	if err := w.flushRowGroup(); err != nil {
		w.Abort()
		return nil, w.fail(err)
	}
	if err := w.closeShard(); err != nil {
		w.Abort()
		return nil, w.fail(err)
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
			return nil, w.fail(err)
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
