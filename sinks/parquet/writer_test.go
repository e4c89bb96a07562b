package parquet

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pgo "github.com/parquet-go/parquet-go"

	"kforge/datasets"
	"kforge/sinks/parquet/internal/sftgen"
)

func sftRow(i int) *datasets.SFTRecord {
	return &datasets.SFTRecord{
		ID: fmt.Sprintf("v%06d", i),
		Messages: []datasets.ChatMessage{
			{Role: "system", Content: "You optimise HIP kernels."},
			{Role: "user", Content: fmt.Sprintf("Make kernel %d faster.", i)},
			{Role: "assistant", Content: fmt.Sprintf("```cpp\n__global__ void k%d(float* p) { p[threadIdx.x] *= %d; }\n```", i, i)},
		},
		TaskID: fmt.Sprintf("t%04d", i/10), Op: []string{"gemm", "softmax"}[i%2], Arch: "gfx90a", Speedup: 1 + float64(i%7)/10,
		NumTurns: 1, IsReplay: i%50 == 0,
	}
}

func write(t *testing.T, dir string, n int, opt Options) []File {
	t.Helper()
	w := NewWriter(dir, "sft", "train", Schema(datasets.ConfigSFT), opt)
	for i := range n {
		if err := w.Append(sftRow(i)); err != nil {
			t.Fatal(err)
		}
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestShardsAndRowGroups(t *testing.T) {
	dir := t.TempDir()
	opt := Options{MaxShardBytes: 60_000, RowGroupBytes: 16_000}
	files := write(t, dir, 1000, opt)
	if len(files) < 3 {
		t.Fatalf("%d shards, want several", len(files))
	}
	var total int64
	for i, f := range files {
		want := fmt.Sprintf("data/sft/train-%05d-of-%05d.parquet", i, len(files))
		if f.Path != want {
			t.Errorf("shard %d is %s, want %s", i, f.Path, want)
		}
		if f.Bytes > opt.MaxShardBytes+400 { // at most one row over
			t.Errorf("%s: %d uncompressed bytes > %d", f.Path, f.Bytes, opt.MaxShardBytes)
		}
		fh, err := os.Open(filepath.Join(dir, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := fh.Stat()
		pf, err := pgo.OpenFile(fh, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", f.Path, st.Mode().Perm())
		}
		if pf.NumRows() != f.Rows || st.Size() != f.Size {
			t.Errorf("%s: %d rows on disk, %d reported", f.Path, pf.NumRows(), f.Rows)
		}
		if len(pf.RowGroups()) < 2 {
			t.Errorf("%s: %d row groups, want row groups cut by bytes", f.Path, len(pf.RowGroups()))
		}
		// Read the first rows back and compare with what was written.
		r := pgo.NewGenericReader[struct {
			ID       string `parquet:"id"`
			IsReplay bool   `parquet:"is_replay"`
		}](pf)
		buf := make([]struct {
			ID       string `parquet:"id"`
			IsReplay bool   `parquet:"is_replay"`
		}, 2)
		if n, _ := r.Read(buf); n != 2 || buf[0].ID != sftRow(int(total)).ID || buf[0].IsReplay != sftRow(int(total)).IsReplay {
			t.Errorf("%s: first row %+v, want id %s", f.Path, buf[0], sftRow(int(total)).ID)
		}
		total += f.Rows
		fh.Close()
	}
	if total != 1000 {
		t.Errorf("%d rows in all shards, want 1000", total)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "data", "sft"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestDeterministicBytes(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	fa := write(t, a, 300, Options{})
	fb := write(t, b, 300, Options{})
	if len(fa) != 1 || len(fb) != 1 {
		t.Fatalf("shards %d %d", len(fa), len(fb))
	}
	x, _ := os.ReadFile(filepath.Join(a, fa[0].Path))
	y, _ := os.ReadFile(filepath.Join(b, fb[0].Path))
	if !bytes.Equal(x, y) {
		t.Errorf("same rows, different bytes")
	}
	// Shards encoded concurrently are byte-identical too.
	c, d := t.TempDir(), t.TempDir()
	opt := Options{MaxShardBytes: 20_000, RowGroupBytes: 3_000}
	fc, fd := write(t, c, 500, opt), write(t, d, 500, opt)
	if len(fc) < 4 || len(fc) != len(fd) {
		t.Fatalf("shards %d %d", len(fc), len(fd))
	}
	for i := range fc {
		x, _ := os.ReadFile(filepath.Join(c, fc[i].Path))
		y, _ := os.ReadFile(filepath.Join(d, fd[i].Path))
		if !bytes.Equal(x, y) || fc[i] != fd[i] {
			t.Errorf("shard %d differs", i)
		}
	}
}

func TestAbortAndEmpty(t *testing.T) {
	dir := t.TempDir()
	w := NewWriter(dir, "rl", "test", Schema(datasets.ConfigRL), Options{})
	if files, err := w.Close(); err != nil || len(files) != 0 {
		t.Errorf("no rows: files %v err %v", files, err)
	}
	w = NewWriter(dir, "sft", "train", Schema(datasets.ConfigSFT), Options{MaxShardBytes: 2000, RowGroupBytes: 500})
	for i := range 50 {
		w.Append(sftRow(i))
	}
	w.Abort()
	ents, _ := os.ReadDir(filepath.Join(dir, "data", "sft"))
	if len(ents) != 0 {
		t.Errorf("abort left %d files", len(ents))
	}
}

// TestAppendRefusesAnotherConfigsRow: a row of another config is an error,
// not a batch of misplaced columns, and the writer's own rows still go in.
func TestAppendRefusesAnotherConfigsRow(t *testing.T) {
	dir := t.TempDir()
	w := NewWriter(dir, datasets.ConfigRL, "train", Schema(datasets.ConfigRL), Options{})
	for _, r := range []datasets.Row{sftRow(0), &datasets.PairRecord{ID: "p"}, &datasets.MultiturnRecord{ID: "m"}} {
		err := w.Append(r)
		if err == nil || !strings.Contains(err.Error(), "a "+r.Config()+" row") {
			t.Errorf("rl writer took a %s row: err %v", r.Config(), err)
		}
	}
	if err := w.Append(&datasets.RLRecord{ID: "t", TaskID: "t"}); err != nil {
		t.Fatal(err)
	}
	files, err := w.Close()
	if err != nil || len(files) != 1 || files[0].Rows != 1 {
		t.Fatalf("files %v err %v, want one file of one row", files, err)
	}
}

// BenchmarkWriteSFT measures the sink alone on in-memory rows, the rows of
// scripts/bench-parquet.sh (about 1.9 KB each).
func BenchmarkWriteSFT(b *testing.B) {
	rows := make([]*datasets.SFTRecord, 50_000)
	var size int
	for i := range rows {
		rows[i] = sftgen.Row(i)
		size += rowSize(rows[i])
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	for range b.N {
		w := NewWriter(b.TempDir(), "sft", "train", Schema(datasets.ConfigSFT), Options{})
		for _, r := range rows {
			w.Append(r)
		}
		if _, err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func TestWriteErrorSurfaces(t *testing.T) {
	dir := t.TempDir()
	// The shard folder is a file: the first row group cannot be written.
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.WriteFile(filepath.Join(dir, "data", "sft"), []byte("in the way"), 0o644)
	w := NewWriter(dir, "sft", "train", Schema(datasets.ConfigSFT), Options{RowGroupBytes: 500})
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = w.Append(sftRow(i))
	}
	if err == nil {
		t.Errorf("Append kept accepting rows after the writer failed")
	}
	if _, err := w.Close(); err == nil || !strings.Contains(err.Error(), "parquet sft/train") {
		t.Errorf("Close err = %v", err)
	}
}

// TestRowGroupEndingOnAPageBoundary: when a column's last rows exactly fill a
// page, nothing is left to flush at the end of the row group. (131072 small
// rows in one row group did that for the dictionary columns, and flushing the
// empty page crashed the encoder.)
func TestRowGroupEndingOnAPageBoundary(t *testing.T) {
	w := NewWriter(t.TempDir(), datasets.ConfigSFT, "train", Schema(datasets.ConfigSFT), Options{RowGroupBytes: 1 << 40, MaxShardBytes: 1 << 40})
	const n = 131072
	for i := range n {
		r := &datasets.SFTRecord{ID: fmt.Sprint(i), Messages: []datasets.ChatMessage{{Role: "user", Content: "q"}, {Role: "assistant", Content: "a"}},
			TaskID: "t", Kind: "k", Speedup: 1.5, BaselineMS: 2, CandidateMS: 1}
		if err := w.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	files, err := w.Close()
	if err != nil || len(files) != 1 || files[0].Rows != n {
		t.Fatalf("files %+v, err %v", files, err)
	}
}
