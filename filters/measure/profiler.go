package measure

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"kforge/filters/sandbox"
)

// Profiler times kernels from outside the program, so a candidate cannot
// forge its own timing.
type Profiler interface {
	// Name is recorded as Timing.Source.
	Name() string
	// Command wraps the program run, with output going under dir.
	Command(prog string, args []string, dir string) (string, []string)
	// Parse returns one run's kernel time in milliseconds: for each kernel
	// of the region (all kernels when names is empty), the median duration
	// of its launches, summed.
	Parse(res sandbox.Result, dir string, names []string) (float64, error)
}

// Rocprofv3 is AMD's rocprofv3 --kernel-trace.
type Rocprofv3 struct{ Path string }

// Name implements Profiler.
func (Rocprofv3) Name() string { return "rocprofv3" }

// Command implements Profiler.
func (p Rocprofv3) Command(prog string, args []string, dir string) (string, []string) {
	return p.Path, append([]string{"--kernel-trace", "--output-format", "csv", "-d", dir, "-o", "trace", "--", prog}, args...)
}

// Parse implements Profiler: it reads every *kernel_trace.csv under dir.
func (Rocprofv3) Parse(_ sandbox.Result, dir string, names []string) (float64, error) {
	durs := map[string][]float64{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, "kernel_trace.csv") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil || len(rows) < 2 {
			return err
		}
		col := func(n string) int { return slices.Index(rows[0], n) }
		ni, si, ei := col("Kernel_Name"), col("Start_Timestamp"), col("End_Timestamp")
		if ni < 0 || si < 0 || ei < 0 {
			return fmt.Errorf("%s: missing Kernel_Name/Start_Timestamp/End_Timestamp columns", filepath.Base(p))
		}
		for _, r := range rows[1:] {
			s, err1 := strconv.ParseFloat(r[si], 64)
			e, err2 := strconv.ParseFloat(r[ei], 64)
			if err1 != nil || err2 != nil || e < s {
				continue
			}
			durs[r[ni]] = append(durs[r[ni]], (e-s)/1e6) // ns -> ms
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("rocprofv3 trace: %w", err)
	}
	return sumMedians(durs, names)
}

// Ncu is NVIDIA Nsight Compute, metric gpu__time_duration.sum.
type Ncu struct{ Path string }

// Name implements Profiler.
func (Ncu) Name() string { return "ncu" }

// Command implements Profiler.
func (p Ncu) Command(prog string, args []string, _ string) (string, []string) {
	return p.Path, append([]string{"--metrics", "gpu__time_duration.sum", "--csv", "--print-units", "base", "--target-processes", "all", prog}, args...)
}

// Parse implements Profiler: ncu prints its CSV on stdout after the program's output.
func (Ncu) Parse(res sandbox.Result, _ string, names []string) (float64, error) {
	var lines []string
	for _, l := range strings.Split(res.Stdout, "\n") {
		if strings.HasPrefix(l, "\"") {
			lines = append(lines, l)
		}
	}
	if len(lines) < 2 {
		return 0, errors.New("ncu printed no metrics (is profiling permitted for this user?)")
	}
	rows, err := csv.NewReader(strings.NewReader(strings.Join(lines, "\n"))).ReadAll()
	if err != nil {
		return 0, fmt.Errorf("ncu csv: %w", err)
	}
	col := func(n string) int { return slices.Index(rows[0], n) }
	ni, mi, ui, vi := col("Kernel Name"), col("Metric Name"), col("Metric Unit"), col("Metric Value")
	if ni < 0 || mi < 0 || vi < 0 {
		return 0, errors.New("ncu csv lacks Kernel Name / Metric Name / Metric Value")
	}
	durs := map[string][]float64{}
	for _, r := range rows[1:] {
		if r[mi] != "gpu__time_duration.sum" {
			continue
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(r[vi], ",", ""), 64)
		if err != nil {
			continue
		}
		scale := 1e-6 // nsecond
		if ui >= 0 {
			switch r[ui] {
			case "usecond":
				scale = 1e-3
			case "msecond":
				scale = 1
			case "second":
				scale = 1e3
			}
		}
		durs[r[ni]] = append(durs[r[ni]], v*scale)
	}
	return sumMedians(durs, names)
}

// matches reports whether a profiler's (demangled) kernel name is the kernel
// called name.
func matches(full, name string) bool {
	if full == name {
		return true
	}
	for _, sep := range []string{"(", "<", " "} {
		if strings.HasPrefix(full, name+sep) || strings.Contains(full, " "+name+sep) || strings.Contains(full, "::"+name+sep) {
			return true
		}
	}
	return false
}

func sumMedians(durs map[string][]float64, names []string) (float64, error) {
	total, found := 0.0, 0
	for full, ds := range durs {
		keep := len(names) == 0
		for _, n := range names {
			keep = keep || matches(full, n)
		}
		if keep {
			total += Quantile(ds, 0.5)
			found++
		}
	}
	if found == 0 {
		return 0, fmt.Errorf("no launches of the region's kernels %v in the trace (%d kernels seen)", names, len(durs))
	}
	return total, nil
}
