// Command benchsink is the kforge side of scripts/bench-parquet.sh: it
// generates sft rows as JSONL and writes a JSONL file of sft rows to Parquet
// with kforge's sink, printing rows/s, so the same rows can be written by
// DuckDB's COPY … TO parquet for comparison.
//
//	benchsink gen -n 1000000 -o rows.jsonl
//	benchsink write -i rows.jsonl -o outdir
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"kforge/datasets"
	pq "kforge/sinks/parquet"
	"kforge/sinks/parquet/internal/sftgen"
)

// row is an sft row as JSON, with the column names of the sft schema.
type row struct {
	ID            string                 `json:"id"`
	Messages      []datasets.ChatMessage `json:"messages"`
	Prompt        []datasets.ChatMessage `json:"prompt"`
	Completion    []datasets.ChatMessage `json:"completion"`
	Reasoning     string                 `json:"reasoning"`
	TaskID        string                 `json:"task_id"`
	SourceRepo    string                 `json:"source_repo"`
	SourceCommit  string                 `json:"source_commit"`
	SourcePath    string                 `json:"source_path"`
	License       string                 `json:"license"`
	Kind          string                 `json:"kind"`
	Op            string                 `json:"op"`
	Dtype         string                 `json:"dtype"`
	Arch          string                 `json:"arch"`
	Device        string                 `json:"device"`
	Toolchain     string                 `json:"toolchain"`
	BaselineMS    float64                `json:"baseline_ms"`
	CandidateMS   float64                `json:"candidate_ms"`
	Speedup       float64                `json:"speedup"`
	VGPRs         int32                  `json:"vgprs"`
	SGPRs         int32                  `json:"sgprs"`
	LDSBytes      int32                  `json:"lds_bytes"`
	ScratchBytes  int32                  `json:"scratch_bytes"`
	Occupancy     int32                  `json:"occupancy"`
	Model         string                 `json:"model"`
	PromptVersion string                 `json:"prompt_version"`
	NumTurns      int32                  `json:"num_turns"`
	IsReplay      bool                   `json:"is_replay"`
	ReplaySource  string                 `json:"replay_source"`
}

func (r *row) record() *datasets.SFTRecord {
	x := datasets.SFTRecord(*r)
	return &x
}

func gen(n int, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range n {
		r := row(*sftgen.Row(i))
		if err := enc.Encode(&r); err != nil {
			return err
		}
	}
	return w.Flush()
}

// write decodes JSONL lines on all cores (order kept) and appends the rows
// to the sink on one goroutine.
func write(in, out string, rowGroupMB int, inMemory bool) error {
	if inMemory {
		return writeInMemory(in, out, rowGroupMB)
	}
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	w := pq.NewWriter(out, "sft", "train", pq.Schema(datasets.ConfigSFT), pq.Options{RowGroupBytes: int64(rowGroupMB) << 20, ZstdLevel: zstdLevel})

	type batch struct {
		lines [][]byte
		rows  []row
		err   error
		done  chan struct{}
	}
	batches := make(chan *batch, 2*runtime.GOMAXPROCS(0))
	work := make(chan *batch, 2*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				b.rows = make([]row, len(b.lines))
				for i, l := range b.lines {
					if err := json.Unmarshal(l, &b.rows[i]); err != nil {
						b.err = err
						break
					}
				}
				close(b.done)
			}
		}()
	}
	go func() {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<28)
		b := &batch{done: make(chan struct{})}
		for sc.Scan() {
			b.lines = append(b.lines, append([]byte(nil), sc.Bytes()...))
			if len(b.lines) == 1024 {
				batches <- b
				work <- b
				b = &batch{done: make(chan struct{})}
			}
		}
		if len(b.lines) > 0 {
			batches <- b
			work <- b
		}
		close(batches)
		close(work)
	}()
	n := 0
	for b := range batches {
		<-b.done
		if b.err != nil {
			return b.err
		}
		for i := range b.rows {
			if err := w.Append(b.rows[i].record()); err != nil {
				return err
			}
			n++
		}
	}
	wg.Wait()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return finish(w, start, "kforge sink", n, fmt.Sprintf(", heap sys %.0f MB", float64(ms.HeapSys)/1e6))
}

// finish closes the writer and prints the rate of n rows since start.
func finish(w *pq.Writer, start time.Time, label string, n int, extra string) error {
	files, err := w.Close()
	if err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	var size int64
	for _, f := range files {
		size += f.Size
	}
	fmt.Printf("%s: %d rows in %.2fs = %.0f rows/s, %d files, %.1f MB on disk%s\n",
		label, n, el, float64(n)/el, len(files), float64(size)/1e6, extra)
	return nil
}

// writeInMemory decodes every row first, then times only the sink: the
// counterpart of DuckDB's COPY table TO parquet.
func writeInMemory(in, out string, rowGroupMB int) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	var recs []*datasets.SFTRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	for sc.Scan() {
		var r row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return err
		}
		recs = append(recs, r.record())
	}
	if err := sc.Err(); err != nil {
		return err
	}
	runtime.GC()
	for k := range repeat {
		dir := filepath.Join(out, fmt.Sprint("run-", k))
		runtime.GC()
		start := time.Now()
		w := pq.NewWriter(dir, "sft", "train", pq.Schema(datasets.ConfigSFT), pq.Options{RowGroupBytes: int64(rowGroupMB) << 20, ZstdLevel: zstdLevel})
		for _, r := range recs {
			if err := w.Append(r); err != nil {
				return err
			}
		}
		if err := finish(w, start, "kforge sink (rows in memory)", len(recs), ""); err != nil {
			return err
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	return nil
}

// repeat is the -repeat flag.
var repeat = 1

// zstdLevel is the -zstd-level flag.
var zstdLevel = 3

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchsink gen -n N -o rows.jsonl | write -i rows.jsonl -o DIR")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	n := fs.Int("n", 100000, "rows to generate")
	in := fs.String("i", "rows.jsonl", "input JSONL")
	out := fs.String("o", "", "output (JSONL for gen, release directory for write)")
	rg := fs.Int("row-group-mb", 32, "row group size, uncompressed MB")
	fs.IntVar(&zstdLevel, "zstd-level", 3, "zstd level (1 fastest … 22)")
	mem := fs.Bool("in-memory", false, "decode all rows first and time only the sink")
	fs.IntVar(&repeat, "repeat", 1, "with -in-memory, write the rows this many times")
	prof := fs.String("cpuprofile", "", "write a CPU profile here")
	fs.Parse(os.Args[2:])
	if *prof != "" {
		pf, err := os.Create(*prof)
		if err == nil {
			pprof.StartCPUProfile(pf)
			defer pprof.StopCPUProfile()
		}
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(*n, *out)
	case "write":
		err = write(*in, *out, *rg, *mem)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchsink:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}
