// Package parquet writes dataset rows as Hugging Face style Parquet shards
// through arrow-go (pqarrow): zstd, page index on, row groups and shards
// bounded in uncompressed bytes, named data/<config>/<split>-NNNNN-of-NNNNN.parquet.
// The output is deterministic: the same rows in the same order give the same
// bytes (no timestamps; the created_by string is fixed).
//
// The package owns everything Arrow about a release: each config's schema
// and which of its columns are stored plain (one table, schema.go), the
// Hugging Face features derived from a schema (features.go), the reusable
// column batches (Columns) and the encoding of the plain record types of
// package datasets into them (rows.go).
package parquet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
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
// Rows are gathered into a column batch (Columns, reused row group
// after row group; wide text by reference) on the caller's goroutine while
// earlier row groups are encoded and compressed on others: one encoding
// goroutine per shard, so that a finished shard's last row groups encode
// while the next shard fills, at most GOMAXPROCS shards at once, and within a
// row group the leaf columns encode in parallel (see writeRowGroup).
type Writer struct {
	root, config, split string
	schema              *arrow.Schema
	opt                 Options
	props               *pq.WriterProperties
	arrowProps          pqarrow.ArrowWriterProperties
	mem                 memory.Allocator

	batch      *Columns      // the row group being filled
	free       chan *Columns // batches the encoders are done with
	made       int           // batches allocated, at most maxBatches
	rgBytes    int64
	shardBytes int64
	shardRows  int64
	cur        *shardEnc   // the shard being filled, nil between shards
	shards     []*shardEnc // every shard started, in order
	err        error
	// failed tells Append, without a race, that an encoder stopped, and why.
	failed atomic.Pointer[error]
}

// shardEnc is one shard's encoding goroutine and what it produced.
type shardEnc struct {
	jobs chan *Columns
	done chan struct{}
	// Set by the caller before jobs is closed.
	rows, bytes int64
	// Owned by the goroutine until done is closed.
	path string
	size int64
	err  error
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
	for _, c := range layouts[config].plain {
		wp = append(wp, pq.WithDictionaryFor(c, false))
	}
	return &Writer{root: root, config: config, split: split, schema: schema, opt: opt,
		free: make(chan *Columns, maxBatches), props: pq.NewWriterProperties(wp...), arrowProps: pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)), mem: mem}
}

// Dir is the folder the shards go to.
func (w *Writer) Dir() string { return filepath.Join(w.root, "data", w.config) }

// Append adds one row, a record of the writer's config. The row's wide
// text (Referenced columns) is kept by reference, not copied, until its row
// group is written; Go strings never change, so the caller may drop the row
// at once. An encoding or I/O error of an earlier row group is returned by a
// later Append and by Close.
func (w *Writer) Append(r datasets.Row) error {
	if e := w.failed.Load(); w.err == nil && e != nil {
		w.err = fmt.Errorf("parquet %s/%s: writing an earlier row group: %w", w.config, w.split, *e)
	}
	if w.err != nil {
		return w.err
	}
	if c := r.Config(); c != w.config {
		return fmt.Errorf("parquet %s/%s: a %s row", w.config, w.split, c)
	}
	first := w.made == 0
	if w.batch == nil {
		w.batch = w.takeBatch()
	}
	w.batch.Append(r)
	n := int64(rowSize(r))
	if k := min(w.opt.RowGroupBytes/max(n, 1), expectRows); first && k > 1 {
		// The writer's first row: size its first batch for a row group of
		// rows like it (at most a row group's bytes in all, and at most
		// expectRows rows, as a tiny first row would size it for millions).
		w.batch.Expect(int(k))
	}
	w.rgBytes += n
	w.shardBytes += n
	w.shardRows++
	if w.rgBytes >= w.opt.RowGroupBytes || w.shardBytes >= w.opt.MaxShardBytes {
		w.flushRowGroup(true)
	}
	if w.shardBytes >= w.opt.MaxShardBytes {
		w.endShard()
	}
	return nil
}

// flushRowGroup hands the filled batch to the shard's encoder; more says
// that rows will follow.
func (w *Writer) flushRowGroup(more bool) {
	if w.batch == nil || w.rgBytes == 0 {
		return
	}
	if w.cur == nil {
		w.startShard()
	}
	var next *Columns
	if more && w.made < maxBatches && len(w.free) == 0 {
		// The next row group will need a new batch: size it like this
		// one now, before an encoder owns this one, so that it does not
		// grow by copying.
		next = w.newBatch()
		next.Reserve(w.batch)
	}
	w.cur.jobs <- w.batch
	w.batch = next
	w.rgBytes = 0
}

// expectRows bounds the rows a writer's first batch is sized for; beyond
// them it grows as it fills. With the wide text kept by reference, a row
// costs the batch about a hundred bytes.
const expectRows = 16384

// maxBatches bounds the row groups a writer holds in memory: one filling,
// the others queued or encoding. Batches are reused, so their memory is
// allocated once.
const maxBatches = 3

// takeBatch returns an empty batch: a reused one, a new one while fewer than
// maxBatches exist, or else the next one an encoder gives back.
func (w *Writer) takeBatch() *Columns {
	select {
	case b := <-w.free:
		return b
	default:
	}
	if w.made < maxBatches {
		return w.newBatch()
	}
	return <-w.free
}

// newBatch allocates one of the writer's maxBatches batches.
func (w *Writer) newBatch() *Columns {
	w.made++
	return NewColumns(w.schema, StringStorage(w.config))
}

// startShard starts the next shard's encoder, first waiting for an older one
// when GOMAXPROCS of them are busy.
func (w *Writer) startShard() {
	if k := len(w.shards) - runtime.GOMAXPROCS(0); k >= 0 {
		<-w.shards[k].done
	}
	se := &shardEnc{jobs: make(chan *Columns, 1), done: make(chan struct{})}
	w.shards = append(w.shards, se)
	w.cur = se
	go w.encode(se)
}

// endShard hands the current shard its totals and lets its encoder finish.
func (w *Writer) endShard() {
	if w.cur != nil {
		w.cur.rows, w.cur.bytes = w.shardRows, w.shardBytes
		close(w.cur.jobs)
		w.cur = nil
	}
	w.shardBytes, w.shardRows = 0, 0
}

// encode writes one shard: its row groups in order, then the footer. After
// an error it only drains.
func (w *Writer) encode(se *shardEnc) {
	defer close(se.done)
	var f *os.File
	var fw *file.Writer
	fail := func(err error) {
		if se.err == nil && err != nil {
			se.err = err
			w.failed.CompareAndSwap(nil, &err)
		}
	}
	for batch := range se.jobs {
		if se.err == nil && fw == nil {
			var err error
			if err = os.MkdirAll(w.Dir(), 0o755); err == nil {
				f, err = os.CreateTemp(w.Dir(), "."+w.split+".tmp-*")
			}
			if err == nil {
				se.path = f.Name()
				fw, err = w.newFileWriter(f)
			}
			fail(err)
		}
		if se.err == nil {
			fail(w.writeRowGroup(fw, batch))
		}
		batch.Reset()
		w.free <- batch
	}
	if fw == nil {
		if f != nil {
			f.Close()
		}
		return
	}
	if se.err != nil {
		fw.Close()
		return
	}
	fail(f.Chmod(0o644)) // CreateTemp makes 0600; releases are read by others
	fail(fw.Close())     // also closes the file
	if se.err != nil {
		return
	}
	g, err := os.Open(se.path)
	if err != nil {
		fail(err)
		return
	}
	fail(g.Sync())
	if st, err := g.Stat(); err == nil {
		se.size = st.Size()
	} else {
		fail(err)
	}
	g.Close()
}

// newFileWriter starts a Parquet file with the schema pqarrow derives from
// the Arrow schema, and the Arrow schema's metadata (the Hugging Face
// features) as the file's key-value metadata.
func (w *Writer) newFileWriter(f io.Writer) (*file.Writer, error) {
	sc, err := pqarrow.ToParquet(w.schema, w.props, w.arrowProps)
	if err != nil {
		return nil, err
	}
	md := w.schema.Metadata()
	var kv metadata.KeyValueMetadata
	for i, k := range md.Keys() {
		kv.Append(k, md.Values()[i])
	}
	return file.NewParquetWriterWithError(f, sc.Root(), file.WithWriterProps(w.props), file.WithWriteMetadata(kv))
}

// writeRowGroup writes one batch as a row group, its leaf columns encoded
// and compressed in parallel: a buffered row group gives every leaf column
// its own in-memory chunk, copied to the file in column order when it
// closes, so the bytes do not depend on which column finished first. Jobs
// are leaves, not top-level columns, so that a list of structs (the
// messages) spreads its fields over several workers.
func (w *Writer) writeRowGroup(fw *file.Writer, batch *Columns) error {
	rgw, err := fw.AppendBufferedRowGroupChecked()
	if err != nil {
		return err
	}
	type job struct {
		leaf int // Parquet leaf column index
		name string
		lc   leafColumn
		strs []string // a Referenced leaf's values
		cost int64
	}
	// The shape gives the levels; Referenced text is read from the batch.
	rec := batch.ShapeRecord()
	defer rec.Release()
	cols := batch.Leaves()
	var jobs []job
	defer func() {
		for _, j := range jobs {
			j.lc.values.Release()
		}
	}()
	schema := rec.Schema() // dictionary types where the batch built dictionaries
	for i, f := range schema.Fields() {
		ls, err := leaves(f, rec.Column(i))
		if err != nil {
			return err
		}
		if len(jobs)+len(ls) > len(cols) {
			releaseLeaves(ls)
			return fmt.Errorf("column %s: the batch has %d leaf columns, its record more", f.Name, len(cols))
		}
		for _, l := range ls {
			j := job{leaf: len(jobs), name: f.Name, lc: l}
			if c := cols[j.leaf]; c.Referenced() {
				j.strs = c.Strings()
				for _, s := range j.strs {
					j.cost += int64(len(s))
				}
			} else {
				j.cost = arrayBytes(l.values.Data())
			}
			jobs = append(jobs, j)
		}
	}
	// Biggest first, so the long column does not start last.
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(jobs[b].cost, jobs[a].cost) })
	errs := make([]error, len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(order) {
					return
				}
				j := &jobs[order[k]]
				if err := w.safeWriteLeaf(rgw, j.leaf, j.lc, j.strs); err != nil {
					errs[k] = fmt.Errorf("column %s: %w", j.name, err)
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return rgw.Close()
}

// safeWriteLeaf is writeLeaf with a panic in arrow-go's encoders turned
// into an error: in an encoding goroutine it would end the process and
// leave every shard's temporary file behind.
func (w *Writer) safeWriteLeaf(rgw file.BufferedRowGroupWriter, leaf int, l leafColumn, strs []string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the encoder panicked: %v", r)
		}
	}()
	return w.writeLeaf(rgw, leaf, l, strs)
}

// writeLeaf writes one leaf column into its column chunk; strs, if not
// nil, are the values of a Referenced string leaf whose l.values is only
// its shape.
func (w *Writer) writeLeaf(rgw file.BufferedRowGroupWriter, leaf int, l leafColumn, strs []string) error {
	cw, err := rgw.Column(leaf)
	if err != nil {
		return err
	}
	if strs != nil {
		err = writeStrings(cw, l, strs)
	} else {
		ctx := pqarrow.NewArrowWriteContext(context.Background(), &w.arrowProps)
		err = pqarrow.WriteArrowToColumn(ctx, cw, l.values, l.def, l.rep, l.nullable)
	}
	if err != nil {
		return err
	}
	// Encode and compress the last, partly filled page here, in parallel,
	// rather than in the row group's Close, which closes the columns one
	// after another: a short column's only page is its last. Close then
	// finds no page pending and writes the same bytes. FlushCurrentPage
	// fails on an empty page, which the page statistics tell (a dictionary
	// encoder's size estimate is never 0); a page of nulls only, or a
	// column without statistics, is left to Close.
	if p, ok := cw.(pageFlusher); ok {
		if st := cw.PageStatistics(); st != nil && st.NumValues() > 0 {
			return p.FlushCurrentPage()
		}
	}
	return nil
}

// writeStrings writes a Referenced string leaf: the non-null values of
// strs, which the leaf's shape array indexes from its offset on, lent to the
// column writer as byte slices without a copy. The writer only reads them
// (it copies each value into its page), and Go strings never change.
func writeStrings(cw file.ColumnChunkWriter, l leafColumn, strs []string) error {
	bw, ok := cw.(*file.ByteArrayColumnChunkWriter)
	if !ok {
		return fmt.Errorf("a string column has a %s column writer", cw.Type())
	}
	off, n := l.values.Data().Offset(), l.values.Len()
	vals := make([]pq.ByteArray, 0, n-l.values.NullN())
	for i := range n {
		if !l.values.IsValid(i) {
			continue
		}
		if s := strs[off+i]; s != "" {
			vals = append(vals, unsafe.Slice(unsafe.StringData(s), len(s)))
		} else {
			// Not nil: statistics take a nil value for no value.
			vals = append(vals, pq.ByteArray{})
		}
	}
	_, err := bw.WriteBatch(vals, l.def, l.rep)
	return err
}

// pageFlusher is the method that arrow-go's column chunk writers have but
// their interface does not name.
type pageFlusher interface{ FlushCurrentPage() error }

// arrayBytes is the size of an array's buffers, children included: the
// encoding cost estimate that orders the columns.
func arrayBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += arrayBytes(c)
	}
	return n
}

// wait ends the current shard and waits for every encoder; it returns the
// first error.
func (w *Writer) wait() error {
	if w.cur != nil {
		w.endShard()
	}
	var errs []error
	for _, se := range w.shards {
		<-se.done
		errs = append(errs, se.err)
	}
	return errors.Join(errs...)
}

// Close finishes the last shard and gives every shard its final name. It
// returns the shards in order, with paths relative to root; no rows means no
// files.
func (w *Writer) Close() ([]File, error) {
	if w.err == nil {
		w.flushRowGroup(false)
	}
	if err := w.wait(); err != nil || w.err != nil {
		w.Abort()
		return nil, fmt.Errorf("parquet %s/%s: %w", w.config, w.split, errors.Join(err, w.err))
	}
	w.batch = nil
	out := make([]File, len(w.shards))
	for i, se := range w.shards {
		rel := ShardName(w.config, w.split, i, len(w.shards))
		if err := os.Rename(se.path, filepath.Join(w.root, filepath.FromSlash(rel))); err != nil {
			w.Abort()
			return nil, fmt.Errorf("parquet %s/%s: %w", w.config, w.split, err)
		}
		se.path = ""
		out[i] = File{Path: rel, Rows: se.rows, Bytes: se.bytes, Size: se.size}
	}
	if d, err := os.Open(w.Dir()); err == nil {
		d.Sync() // best effort, as pipeline.WriteAtomic
		d.Close()
	}
	w.shards = nil
	return out, nil
}

// Abort removes every temporary file; final names are never touched.
func (w *Writer) Abort() {
	w.wait()
	for _, se := range w.shards {
		if se.path != "" {
			os.Remove(se.path)
		}
	}
	w.shards = nil
	w.batch = nil
}

// ShardName is the release-relative path of shard i of n:
// data/<config>/<split>-NNNNN-of-NNNNN.parquet.
func ShardName(config, split string, i, n int) string {
	return fmt.Sprintf("data/%s/%s-%05d-of-%05d.parquet", config, split, i, n)
}
