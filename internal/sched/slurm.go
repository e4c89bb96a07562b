// Package sched writes and submits the batch scripts that run a sharded kforge
// build on a cluster scheduler: a Slurm job array with one task per shard and
// a merge job that runs after it (afterany: shards that finished with failed
// items do not block the release; the recipe's failure budget decides). It needs no server of its own: the
// scheduler's array index is the shard index (see pipeline.ShardFromEnv).
package sched

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"kforge/pipeline"
)

// SlurmJob describes a sharded build to run as a Slurm job array plus a merge
// job. Paths should be absolute: the jobs run on other hosts, later.
type SlurmJob struct {
	Name        string // job name prefix; "kforge" when empty
	Kforge      string // kforge binary, as the compute nodes see it
	Config      string // recipe file
	Out         string // build directory (shards/, release/, slurm/)
	CacheDir    string // shared cache directory; empty leaves the recipe's
	Workdir     string // working directory of the jobs (relative recipe paths resolve here)
	Shards      int    // shard count N: tasks 0..N-1
	Indices     []int  // shards to run, each below Shards; empty: all of them
	Partition   string // empty: the cluster's default partition
	GPUsPerTask int    // 0: request no GPU
	CPUsPerTask int    // 0: the cluster's default
	Time        string // wall-clock limit per task, Slurm syntax (e.g. 4:00:00); empty: partition default
	Throttle    int    // most array tasks running at once (the %N suffix); 0: no limit
	// MergePartition is where the merge job runs: it needs no GPU, so a
	// CPU partition. Empty: the cluster's default partition (never the
	// shards' GPU partition).
	MergePartition string
}

// StopSignal is the signal Slurm sends the batch shell of a shard
// StopGrace seconds before its time limit (--signal=B:USR1@120). The shell
// passes SIGTERM to kforge, which stops cleanly (exit 143), and requeues the
// task, which resumes from the cache. USR1, not TERM: scancel and preemption
// send TERM, and those must not requeue by themselves.
const (
	StopSignal  = "USR1"
	StopGrace   = 120
	MaxRequeues = 3 // time-limit requeues of one task (SLURM_RESTART_COUNT)
)

// Exit codes of kforge build, as the scripts read them.
const (
	ExitItemsFailed = 3   // the shard is DONE with failed items, recorded; the merge decides
	ExitStopped     = 143 // stopped by SIGTERM, cleanly: rerun resumes
)

// Paths of the files Submit writes under the build directory.
func (j SlurmJob) ScriptDir() string       { return filepath.Join(j.Out, "slurm") }
func (j SlurmJob) ArrayScriptPath() string { return filepath.Join(j.ScriptDir(), "build.sbatch") }
func (j SlurmJob) MergeScriptPath() string { return filepath.Join(j.ScriptDir(), "merge.sbatch") }
func (j SlurmJob) LogDir() string          { return filepath.Join(j.ScriptDir(), "logs") }

// ReleaseDir is where the merge job writes the release.
func (j SlurmJob) ReleaseDir() string { return filepath.Join(j.Out, "release") }

// ShardGlob is the pattern, relative to Out, of the shard directories of
// this build (and only this N: shards of an earlier build with another count
// may share the folder).
func (j SlurmJob) ShardGlob() string {
	name := pipeline.Shard{I: 0, N: j.Shards}.Name()
	_, suffix, _ := strings.Cut(name, "-of-")
	return filepath.Join("shards", "*-of-"+suffix)
}

var timeRe = regexp.MustCompile(`^[0-9]+(-[0-9]+)?(:[0-9]+){0,2}$`)
var nameRe = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// ValidName reports whether s may name a job or a partition.
func ValidName(s string) bool { return nameRe.MatchString(s) }

// Validate checks the job before any script is written.
func (j SlurmJob) Validate() error {
	var errs []error
	if j.Shards < 1 {
		errs = append(errs, fmt.Errorf("shards must be at least 1, got %d", j.Shards))
	}
	for _, p := range []struct{ what, v string }{{"kforge binary", j.Kforge}, {"recipe", j.Config}, {"build directory", j.Out}, {"working directory", j.Workdir}} {
		if p.v == "" {
			errs = append(errs, fmt.Errorf("%s: path is empty", p.what))
		} else if !filepath.IsAbs(p.v) {
			errs = append(errs, fmt.Errorf("%s %q: want an absolute path (the jobs run elsewhere, later)", p.what, p.v))
		}
	}
	if j.CacheDir != "" && !filepath.IsAbs(j.CacheDir) {
		errs = append(errs, fmt.Errorf("cache directory %q: want an absolute path", j.CacheDir))
	}
	// Directives are read by sbatch, not by a shell: a double quote or a line
	// break cannot be carried in them.
	for _, v := range []string{j.Out, j.Workdir} {
		if strings.ContainsAny(v, "\"\n\r") {
			errs = append(errs, fmt.Errorf("path %q: sbatch directives cannot hold double quotes or line breaks", v))
		}
	}
	for _, v := range []string{j.Kforge, j.Config, j.CacheDir} {
		if strings.ContainsAny(v, "\n\r\x00") {
			errs = append(errs, fmt.Errorf("path %q holds a line break", v))
		}
	}
	if j.Name != "" && !nameRe.MatchString(j.Name) {
		errs = append(errs, fmt.Errorf("job name %q: use letters, digits, '.', '_' and '-'", j.Name))
	}
	if j.Partition != "" && !nameRe.MatchString(j.Partition) {
		errs = append(errs, fmt.Errorf("partition %q: use letters, digits, '.', '_' and '-'", j.Partition))
	}
	if j.Time != "" && !timeRe.MatchString(j.Time) {
		errs = append(errs, fmt.Errorf("time %q: want Slurm syntax: MINUTES, H:MM:SS or D-HH:MM:SS", j.Time))
	}
	if j.MergePartition != "" && !nameRe.MatchString(j.MergePartition) {
		errs = append(errs, fmt.Errorf("merge partition %q: use letters, digits, '.', '_' and '-'", j.MergePartition))
	}
	seen := map[int]bool{}
	for _, i := range j.Indices {
		switch {
		case i < 0 || i >= j.Shards:
			errs = append(errs, fmt.Errorf("shard index %d: want 0 to %d", i, j.Shards-1))
		case seen[i]:
			errs = append(errs, fmt.Errorf("shard index %d is given twice", i))
		}
		seen[i] = true
	}
	if j.GPUsPerTask < 0 || j.CPUsPerTask < 0 || j.Throttle < 0 {
		errs = append(errs, errors.New("gpus-per-task, cpus-per-task and throttle must not be negative"))
	}
	return errors.Join(errs...)
}

// shellQuote quotes s for a POSIX shell: single quotes, with each single
// quote written as '\”.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:=,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// directive quotes a value for an #SBATCH line: sbatch splits directives at
// white space outside double quotes.
func directive(s string) string {
	if strings.ContainsAny(s, " \t'#") {
		return `"` + s + `"`
	}
	return s
}

// filenamePattern escapes '%' so Slurm does not expand it in --output paths.
func filenamePattern(path string) string { return strings.ReplaceAll(path, "%", "%%") }

var scriptFuncs = template.FuncMap{"q": shellQuote, "d": directive}

var arrayTmpl = template.Must(template.New("array").Funcs(scriptFuncs).Parse(`#!/bin/bash
# Written by kforge slurm submit: one array task per shard of the build. Each
# runs kforge build --shard I/{{.Shards}} as a job step; it writes
# {{.Out}}/shards/<I>-of-<N>/ and marks it DONE.
# Exit codes: 0 done; {{.ItemsFailed}} done with failed items (recorded in the shard; the
# merge job runs anyway and publishes only within the recipe's failure
# budget; rerunning the shard retries exactly those items); {{.Stopped}} stopped
# cleanly by SIGTERM (the work done is in the cache). {{.StopGrace}} s before the time
# limit Slurm sends this shell SIG{{.StopSignal}}: kforge is stopped and the task
# requeued (at most {{.MaxRequeues}} times), to resume from the cache. Preemption
# and node failures requeue it too (--requeue).
#SBATCH --job-name={{d .JobName}}
#SBATCH --array={{.ArraySpec}}{{if .Throttle}}%{{.Throttle}}{{end}}
#SBATCH --output={{d .BuildLog}}
#SBATCH --open-mode=append
#SBATCH --chdir={{d .Workdir}}
{{- if .Partition}}
#SBATCH --partition={{.Partition}}
{{- end}}
#SBATCH --ntasks=1
{{- if .CPUsPerTask}}
#SBATCH --cpus-per-task={{.CPUsPerTask}}
{{- end}}
{{- if .GPUsPerTask}}
#SBATCH --gpus-per-task={{.GPUsPerTask}}
{{- end}}
{{- if .Time}}
#SBATCH --time={{.Time}}
{{- end}}
#SBATCH --requeue
#SBATCH --signal=B:{{.StopSignal}}@{{.StopGrace}}
set -uo pipefail
shard="$SLURM_ARRAY_TASK_ID/{{.Shards}}"
srun --ntasks=1{{if .CPUsPerTask}} --cpus-per-task={{.CPUsPerTask}}{{end}} {{q .Kforge}} build -c {{q .Config}} --out {{q .Out}}{{if .CacheDir}} --cache-dir {{q .CacheDir}}{{end}} --shard "$shard" &
step=$!
requeue=0 trapped=0
# Stop kforge with SIGTERM through scancel (it signals the job's steps): srun
# itself answers SIGTERM by killing its step outright. scancel and preemption
# signal the steps themselves; this shell only waits for kforge to stop.
trap 'trapped=1 requeue=1; scancel --signal=TERM "$SLURM_JOB_ID"' {{.StopSignal}}
trap 'trapped=1' TERM
# A trap makes wait return early (status 128+signal): wait again for the
# step's own status. Waiting on a step already waited for gives 127.
rc=0
wait "$step" || rc=$?
while [ "$trapped" = 1 ] && [ "$rc" -gt 128 ]; do
	trapped=0 prev=$rc rc=0
	wait "$step" || rc=$?
	[ "$rc" != 127 ] || rc=$prev
done
if [ "$requeue" = 1 ] && [ "$rc" = {{.Stopped}} ]; then
	if [ "${SLURM_RESTART_COUNT:-0}" -lt {{.MaxRequeues}} ]; then
		echo "kforge: shard $shard stopped before the time limit; requeueing it to resume from the cache" >&2
		scontrol requeue "$SLURM_JOB_ID" || echo "kforge: requeue failed; resubmit with kforge slurm submit --indices $SLURM_ARRAY_TASK_ID" >&2
	else
		echo "kforge: shard $shard reached the time limit {{.MaxRequeues}} times; resubmit it with a longer --time (kforge slurm submit --indices $SLURM_ARRAY_TASK_ID)" >&2
	fi
fi
exit "$rc"
`))

var mergeTmpl = template.Must(template.New("merge").Funcs(scriptFuncs).Parse(`#!/bin/bash
# Written by kforge slurm submit: makes the release once every shard has
# finished. Submitted with --dependency=afterany:<array job id>, so it runs
# also when shards finished with failed items (exit {{.ItemsFailed}}) or crashed: kforge
# merge refuses while a shard is not DONE and names it, and publishes (when
# the recipe has a publish section) only within publish.max_failed_items and
# publish.max_failed_fraction. It needs no GPU.
#SBATCH --job-name={{d .JobName}}-merge
#SBATCH --output={{d .MergeLog}}
#SBATCH --chdir={{d .Workdir}}
#SBATCH --kill-on-invalid-dep=yes
{{- if .MergePartition}}
#SBATCH --partition={{.MergePartition}}
{{- end}}
#SBATCH --ntasks=1
{{- if .Time}}
#SBATCH --time={{.Time}}
{{- end}}
set -euo pipefail
exec {{q .Kforge}} merge -c {{q .Config}} --out {{q .Release}} {{q .Out}}/{{.ShardGlob}}
`))

type scriptData struct {
	SlurmJob
	JobName, BuildLog, MergeLog, Release, ShardGlob, ArraySpec string
	StopSignal                                                 string
	StopGrace, MaxRequeues, ItemsFailed, Stopped               int
}

func (j SlurmJob) data() scriptData {
	name := j.Name
	if name == "" {
		name = "kforge"
	}
	return scriptData{
		SlurmJob: j,
		JobName:  name,
		// Slurm expands %A (array job), %a (task) and %j (job id) in these;
		// a '%' of the directory itself is escaped.
		BuildLog:    filenamePattern(j.LogDir()) + "/build-%A_%a.out",
		MergeLog:    filenamePattern(j.LogDir()) + "/merge-%j.out",
		Release:     j.ReleaseDir(),
		ShardGlob:   j.ShardGlob(),
		ArraySpec:   j.ArraySpec(),
		StopSignal:  StopSignal,
		StopGrace:   StopGrace,
		MaxRequeues: MaxRequeues,
		ItemsFailed: ExitItemsFailed,
		Stopped:     ExitStopped,
	}
}

// Run lists the shard indices the array runs, sorted.
func (j SlurmJob) Run() []int {
	if len(j.Indices) == 0 {
		idx := make([]int, j.Shards)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	idx := slices.Clone(j.Indices)
	slices.Sort(idx)
	return idx
}

// Tasks is the number of array tasks.
func (j SlurmJob) Tasks() int { return len(j.Run()) }

// ArraySpec is the --array value: 0-(N-1), or the chosen indices, sorted.
func (j SlurmJob) ArraySpec() string {
	if len(j.Indices) == 0 {
		return fmt.Sprintf("0-%d", j.Shards-1)
	}
	idx := slices.Clone(j.Indices)
	slices.Sort(idx)
	parts := make([]string, len(idx))
	for i, x := range idx {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}

func render(t *template.Template, j SlurmJob) (string, error) {
	if err := j.Validate(); err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, j.data()); err != nil {
		return "", fmt.Errorf("render %s script: %w", t.Name(), err)
	}
	return b.String(), nil
}

// ArrayScript is the sbatch script of the job array: one task per shard.
func (j SlurmJob) ArrayScript() (string, error) { return render(arrayTmpl, j) }

// MergeScript is the sbatch script of the merge job; Submit gives it its
// dependency on the array on the sbatch command line, where the id is known.
func (j SlurmJob) MergeScript() (string, error) { return render(mergeTmpl, j) }

// Runner runs a command and returns its standard output; tests put a fake
// here, Exec runs the real one.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// Exec runs a command on this machine; a failure carries its stderr.
func Exec(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Submitted is what Submit queued.
type Submitted struct {
	ArrayJob, MergeJob       string // Slurm job ids
	ArrayScript, MergeScript string // paths of the scripts
}

// SubmitCommands are the sbatch command lines Submit runs, with the array's
// job id shown as arrayID (a dry run passes a placeholder).
func (j SlurmJob) SubmitCommands(arrayID string) [][]string {
	return [][]string{
		{"sbatch", "--parsable", j.ArrayScriptPath()},
		{"sbatch", "--parsable", "--dependency=afterany:" + arrayID, j.MergeScriptPath()},
	}
}

// Submit writes both scripts under Out/slurm, creates the log directory (Slurm
// does not) and queues the array, then the merge job depending on it.
func Submit(ctx context.Context, run Runner, j SlurmJob) (*Submitted, error) {
	array, err := j.ArrayScript()
	if err != nil {
		return nil, err
	}
	merge, err := j.MergeScript()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(j.LogDir(), 0o755); err != nil {
		return nil, fmt.Errorf("slurm log directory: %w", err)
	}
	if err := pipeline.WriteFileAtomic(j.ArrayScriptPath(), []byte(array), 0o644); err != nil {
		return nil, fmt.Errorf("write array script: %w", err)
	}
	if err := pipeline.WriteFileAtomic(j.MergeScriptPath(), []byte(merge), 0o644); err != nil {
		return nil, fmt.Errorf("write merge script: %w", err)
	}
	s := &Submitted{ArrayScript: j.ArrayScriptPath(), MergeScript: j.MergeScriptPath()}
	cmds := j.SubmitCommands("")
	out, err := run(ctx, cmds[0][0], cmds[0][1:]...)
	if err != nil {
		return nil, fmt.Errorf("submit array: %w", err)
	}
	if s.ArrayJob, err = parseJobID(out); err != nil {
		return nil, fmt.Errorf("submit array: %w", err)
	}
	cmds = j.SubmitCommands(s.ArrayJob)
	out, err = run(ctx, cmds[1][0], cmds[1][1:]...)
	if err == nil {
		s.MergeJob, err = parseJobID(out)
	}
	if err != nil {
		// The array stays queued: its shards are useful on their own, and
		// the merge can be submitted by hand.
		return s, fmt.Errorf("array job %s is queued, but submitting the merge job failed (run `%s` once it is done): %w",
			s.ArrayJob, strings.Join(cmds[1], " "), err)
	}
	return s, nil
}

// parseJobID reads `sbatch --parsable` output: "ID" or "ID;CLUSTER".
func parseJobID(out []byte) (string, error) {
	line := strings.TrimSpace(string(out))
	id, _, _ := strings.Cut(line, ";")
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return "", fmt.Errorf("sbatch printed %q, not a job id", line)
	}
	return id, nil
}
