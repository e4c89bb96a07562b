// Package sandbox runs untrusted programs: each run gets its own scratch
// directory, a wall-clock limit that kills its whole process group, resource
// limits (CPU time, memory, open files, processes, file size), a minimal
// environment pinned to one GPU, and, where the machine allows, new user,
// PID and network namespaces (no network; every descendant dies with the
// run). With bubblewrap (bwrap) installed, a run is also confined to an
// allowlist of the host's filesystem (the toolchains and their libraries,
// its program and the paths it is given; see confinement), a fresh /dev
// with only its GPU's device nodes, and an unprivileged uid; the compiler is
// confined the same way (Confine), without network. A hung, crashing or
// hostile program costs its own limit and nothing else.
package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Limits bound one run. Zero means no limit for that resource (Wall excepted:
// it defaults to one minute).
type Limits struct {
	Wall       time.Duration
	CPUSeconds int
	// MemoryMB is the run's memory limit, applied as fits the run: on a CPU
	// run (Spec.GPU empty) as an address-space limit (RLIMIT_AS); on a GPU
	// run, whose runtime reserves far more address space than it uses (ROCm,
	// CUDA), as a cgroup v2 memory.max where kforge may make cgroups (see
	// probeCgroup), else as a data-segment limit (RLIMIT_DATA: private
	// writable memory, heap and anonymous mappings; not what the GPU driver
	// maps for the device). Result.Memory says which applied.
	MemoryMB int
	// AddressMB (RLIMIT_AS) and DataMB (RLIMIT_DATA), when set, apply as
	// they are and take the place of MemoryMB.
	AddressMB   int
	DataMB      int
	OpenFiles   int
	Processes   int
	FileSizeMB  int
	OutputBytes int // bytes of stdout and of stderr kept (default 1 MiB each)
}

// DefaultMemoryMB is a candidate run's memory limit by default (4 GiB).
const DefaultMemoryMB = 4096

// DefaultLimits are the limits for a candidate run of wall duration.
func DefaultLimits(wall time.Duration) Limits {
	cpu := int(wall.Seconds()*2) + 1
	return Limits{Wall: wall, CPUSeconds: cpu, MemoryMB: DefaultMemoryMB, OpenFiles: 256, Processes: 4096, FileSizeMB: 256, OutputBytes: 1 << 20}
}

// Spec is one program run.
type Spec struct {
	Program string
	Args    []string
	// Env is added to the minimal environment (PATH, HOME, TMPDIR, LANG and
	// the runtime library variables of the parent).
	Env map[string]string
	// WorkDir is where the scratch directory is made (default os.TempDir()).
	WorkDir string
	// GPU, when not empty, is the device index exported as
	// HIP_VISIBLE_DEVICES, CUDA_VISIBLE_DEVICES and ROCR_VISIBLE_DEVICES.
	GPU    string
	Limits Limits
	// Network allows the run to use the host's network.
	Network bool
	// Writable are directories, besides the scratch directory, that a
	// confined run may write (a profiler's output directory).
	Writable []string
	// Readable are files or directories, besides the program and the
	// toolchains, that a confined run may read (the binary a profiler
	// runs); nothing else outside the allowlist is there.
	Readable []string
	// Keep leaves the scratch directory in place (for debugging).
	Keep bool
}

// Result is what a run did.
type Result struct {
	Exit     int    // exit status; -1 when killed by a signal
	Signal   string // the signal that ended it, if any
	TimedOut bool   // killed at the wall-clock limit
	Stdout   string
	Stderr   string
	// Truncated is true when output beyond Limits.OutputBytes was dropped.
	Truncated bool
	Seconds   float64
	// Isolated is true when the run had its own network and PID namespaces.
	Isolated bool
	// Confined is true when the run saw only the allowlist (see
	// confinement) and ran as an unprivileged uid.
	Confined bool
	// Memory says which memory limit applied to the run, if any.
	Memory string
	// Note says why isolation was not available, if it was not.
	Note string
	// Machine, when set, says why the run's failure was the machine's and
	// not the program's: killed with SIGKILL from outside (the machine's
	// OOM killer, an operator) rather than by its own wall-clock, CPU or
	// cgroup memory limit, or the disk holding its scratch directory full.
	// Such a run judges nothing: it is to be run again, never cached.
	// (A program that exceeds its own limits is at fault: its address-space
	// limit fails its allocations, its cgroup OOM-kills it.)
	Machine string
}

// minScratchFree is the free space under which the disk holding a failed
// run's scratch directory counts as full.
const minScratchFree = 16 << 20

// scratchFree is the space left to unprivileged users on dir's filesystem
// (a variable for tests).
var scratchFree = func(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// machineFault says why a failed run's failure was the machine's, or "".
func machineFault(res Result, l Limits, ps *os.ProcessState, cg *cgroup, dir string) string {
	if res.TimedOut || (res.Exit == 0 && res.Signal == "") {
		return ""
	}
	if free, err := scratchFree(dir); err == nil && free < minScratchFree {
		return fmt.Sprintf("the disk holding the run's scratch directory is full (%d bytes free)", free)
	}
	if res.Signal != syscall.SIGKILL.String() {
		return ""
	}
	if cg != nil && cg.oomKills() > 0 {
		return "" // its own memory.max
	}
	if ps != nil && l.CPUSeconds > 0 {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			if cpu >= time.Duration(l.CPUSeconds)*time.Second-500*time.Millisecond {
				return "" // its own CPU limit (RLIMIT_CPU's hard limit is SIGKILL)
			}
		}
	}
	return "killed by SIGKILL from outside the run (the machine's OOM killer or an operator), not by one of its own limits"
}

// Output is stdout then stderr.
func (r Result) Output() string { return r.Stdout + r.Stderr }

// Sandbox runs programs. It probes once whether bwrap can confine runs and
// whether namespaces are available.
type Sandbox struct {
	once    sync.Once
	nsOK    bool
	nsNote  string
	bwrap   string // bwrap's path when it works here
	fsNote  string // why runs are not confined
	noFS    bool   // confinement turned off by the caller
	sized   bool   // bwrap can size a tmpfs
	cgroup  string // a cgroup v2 directory where runs get their own memory.max
	cgNote  string // why there is none
	prlimit string
}

// New returns a sandbox.
func New() *Sandbox {
	s := &Sandbox{}
	if p, err := exec.LookPath("prlimit"); err == nil {
		s.prlimit = p
	}
	return s
}

// WithoutConfinement turns confinement off (before the first run), for a
// GPU runtime that fails inside it; runs still get the namespaces.
func (s *Sandbox) WithoutConfinement() *Sandbox {
	s.noFS = true
	return s
}

// Isolation reports whether runs get new namespaces, and if not, why.
func (s *Sandbox) Isolation() (bool, string) {
	s.once.Do(s.probe)
	return s.nsOK, s.nsNote
}

// Confinement reports whether runs and compiles are confined to the
// allowlist as an unprivileged uid, and if not, what they lack.
func (s *Sandbox) Confinement() (bool, string) {
	s.once.Do(s.probe)
	return s.bwrap != "", s.fsNote
}

func (s *Sandbox) probe() {
	s.probeCgroup()
	s.probeBwrap()
	if s.bwrap != "" {
		// bwrap makes the namespaces itself.
		s.nsOK = true
		return
	}
	cmd := exec.Command("/bin/sh", "-c", "exit 0")
	cmd.SysProcAttr = nsAttr()
	if err := cmd.Run(); err != nil {
		s.nsNote = fmt.Sprintf("no new user/network/PID namespace on this machine (%v): runs share the network; the process group is still killed at the limit", err)
		return
	}
	s.nsOK = true
}

func nsAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:     true,
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWPID,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: os.Getuid(), HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: os.Getgid(), HostID: os.Getgid(), Size: 1}},
		// Kill the run if kforge itself dies.
		Pdeathsig: syscall.SIGKILL,
	}
}

// limitArgs returns the command that sets the rlimits and then execs the
// program, so the limits apply to it and to everything it starts: prlimit(1)
// where installed, else the shell's ulimit (which cannot limit processes
// portably; the note says so).
func (s *Sandbox) limitArgs(l Limits, prog string, args []string) (name string, argv []string, note string) {
	if s.prlimit != "" {
		argv = []string{"--core=0"}
		set := func(flag string, v int64) {
			if v > 0 {
				argv = append(argv, fmt.Sprintf("--%s=%d", flag, v))
			}
		}
		if l.CPUSeconds > 0 {
			// SIGXCPU at the limit, SIGKILL a second later (for a program
			// that handles SIGXCPU): with soft = hard the kernel sends
			// SIGKILL at once, indistinguishable from the OOM killer's.
			argv = append(argv, fmt.Sprintf("--cpu=%d:%d", l.CPUSeconds, l.CPUSeconds+1))
		}
		set("as", int64(l.AddressMB)<<20)
		set("data", int64(l.DataMB)<<20)
		set("nofile", int64(l.OpenFiles))
		set("nproc", int64(l.Processes))
		set("fsize", int64(l.FileSizeMB)<<20)
		return s.prlimit, append(append(argv, "--", prog), args...), ""
	}
	var b strings.Builder
	set := func(flag string, v int) {
		if v > 0 {
			fmt.Fprintf(&b, "ulimit -%s %d || exit 125; ", flag, v)
		}
	}
	if l.CPUSeconds > 0 {
		fmt.Fprintf(&b, "ulimit -H -t %d && ulimit -S -t %d || exit 125; ", l.CPUSeconds+1, l.CPUSeconds)
	}
	set("v", l.AddressMB*1024)
	set("d", l.DataMB*1024)
	set("n", l.OpenFiles)
	set("f", l.FileSizeMB*2048) // 512-byte blocks
	b.WriteString(`ulimit -c 0; exec "$0" "$@"`)
	if l.Processes > 0 {
		note = "prlimit not found: the process-count limit is not applied"
	}
	return "/bin/sh", append([]string{"-c", b.String(), prog}, args...), note
}

// Run runs spec and returns what happened. An error means the run could not
// be started or observed (an infrastructure fault), never that the program
// failed.
func (s *Sandbox) Run(ctx context.Context, spec Spec) (Result, error) {
	var res Result
	l := spec.Limits
	if l.Wall <= 0 {
		l.Wall = time.Minute
	}
	if l.OutputBytes <= 0 {
		l.OutputBytes = 1 << 20
	}
	prog, err := filepath.Abs(spec.Program)
	if err != nil {
		return res, fmt.Errorf("sandbox: %w", err)
	}
	if _, err := os.Stat(prog); err != nil {
		return res, fmt.Errorf("sandbox: program: %w", err)
	}
	parent := spec.WorkDir
	if parent == "" {
		parent = os.TempDir()
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return res, fmt.Errorf("sandbox: work dir: %w", err)
	}
	dir, err := os.MkdirTemp(parent, "run-")
	if err != nil {
		return res, fmt.Errorf("sandbox: scratch dir: %w", err)
	}
	if !spec.Keep {
		defer os.RemoveAll(dir)
	}

	ctx, cancel := context.WithTimeout(ctx, l.Wall)
	defer cancel()
	s.once.Do(s.probe)
	gpu := spec.GPU != ""
	var cg *cgroup
	l, res.Memory, cg = s.memory(l, gpu)
	if cg != nil {
		defer cg.remove()
	}
	name, argv, limitNote := s.limitArgs(l, prog, spec.Args)
	cmd := exec.CommandContext(ctx, name, argv...)
	var status *Status
	env := s.env(dir, spec)
	if s.bwrap != "" {
		if status, err = newStatus(cmd); err != nil {
			return res, fmt.Errorf("sandbox: %w", err)
		}
		c := confinement{dir: dir, readable: append([]string{prog}, spec.Readable...), writable: append([]string{dir}, spec.Writable...),
			network: spec.Network, gpu: gpu, gpuIndex: spec.GPU, sized: s.sized}
		cmd.Path = s.bwrap
		cmd.Args = append(append(append([]string{s.bwrap}, status.args()...), c.args()...), cmd.Args...)
		res.Confined = true
		if gpu && slices.ContainsFunc(gpuDevices(spec.GPU), nvidiaGPUNode) {
			// Only this GPU's node is there: the CUDA driver numbers the
			// GPUs it can open, so it is device 0.
			env = append(env, "CUDA_VISIBLE_DEVICES=0", "HIP_VISIBLE_DEVICES=0")
		}
	}
	cmd.Dir = dir
	cmd.Env = env
	isolated := false
	switch ok, note := s.Isolation(); {
	case s.bwrap != "":
		// bwrap unshares the namespaces (the network too, unless
		// spec.Network) and its child dies with it.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		isolated = !spec.Network
	case ok && !spec.Network:
		cmd.SysProcAttr = nsAttr()
		isolated = true
	default:
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if !spec.Network {
			res.Note = note
		}
	}
	if cg != nil {
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, cg.fd()
	}
	if s.bwrap == "" {
		res.Note = strings.TrimPrefix(res.Note+"; "+s.fsNote, "; ")
	}
	cmd.Cancel = func() error {
		// The whole group: the program and whatever it started.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	// Descendants that escaped the group may hold the pipes open.
	cmd.WaitDelay = 2 * time.Second
	stdout := &capped{max: l.OutputBytes}
	stderr := &capped{max: l.OutputBytes}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	start := time.Now()
	err = cmd.Run()
	res.Seconds = time.Since(start).Seconds()
	ran := status == nil || status.Ran()
	if cmd.Process != nil {
		// Reap any survivors of the group even after a normal exit.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	res.Isolated = isolated
	if limitNote != "" {
		res.Note = strings.TrimPrefix(res.Note+"; "+limitNote, "; ")
	}
	res.Stdout, res.Stderr = stdout.buf.String(), stderr.buf.String()
	res.Truncated = stdout.dropped || stderr.dropped
	res.TimedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
	var ee *exec.ExitError
	switch {
	case err == nil:
		res.Exit = 0
	case errors.As(err, &ee):
		res.Exit = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Exit = -1
			res.Signal = ws.Signal().String()
		} else if res.Confined && res.Exit > 128 && res.Exit <= 128+64 {
			// bwrap reports a child killed by a signal as 128+signal, as
			// shells do (so does a program that exits with such a code).
			res.Signal = syscall.Signal(res.Exit - 128).String()
			res.Exit = -1
		}
	case errors.Is(err, exec.ErrWaitDelay):
		res.Exit = cmd.ProcessState.ExitCode()
	case res.TimedOut:
		res.Exit = -1
		res.Signal = syscall.SIGKILL.String()
	default:
		return res, fmt.Errorf("sandbox: run %s: %w", filepath.Base(prog), err)
	}
	res.Machine = machineFault(res, l, cmd.ProcessState, cg, dir)
	if ctxErr := ctx.Err(); ctxErr != nil && !res.TimedOut {
		// The caller gave up: not the program's doing.
		return res, fmt.Errorf("sandbox: run %s: %w", filepath.Base(prog), ctxErr)
	}
	if !ran && !res.TimedOut {
		return res, fmt.Errorf("sandbox: confining the run failed: %s", strings.TrimSpace(res.Stderr))
	}
	if (res.Exit == 125 && strings.Contains(res.Stderr, "ulimit")) || strings.HasPrefix(res.Stderr, "prlimit: ") {
		return res, fmt.Errorf("sandbox: setting limits failed: %s", strings.TrimSpace(res.Stderr))
	}
	return res, nil
}

func (s *Sandbox) env(dir string, spec Spec) []string {
	env := baseEnv(dir, os.Environ())
	if spec.GPU != "" {
		delete(env, "GPU_DEVICE_ORDINAL") // the host's numbering, not this run's
		for _, k := range []string{"HIP_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"} {
			env[k] = spec.GPU
		}
	}
	for k, v := range spec.Env {
		env[k] = v
	}
	return flatten(env)
}

// capped keeps the first max bytes written to it.
type capped struct {
	max     int
	buf     bytes.Buffer
	dropped bool
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - c.buf.Len()
	if room < len(p) {
		c.dropped = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	c.buf.Write(p)
	return len(p), nil
}

// Describe is a one-line summary of a result for logs.
func (r Result) Describe() string {
	switch {
	case r.TimedOut:
		return fmt.Sprintf("killed at the wall-clock limit after %.1fs", r.Seconds)
	case r.Signal != "":
		return "killed by signal " + r.Signal
	default:
		return "exit " + strconv.Itoa(r.Exit)
	}
}

// Report is what confinement runs and compiles get on this machine.
type Report struct {
	// Isolated: runs get new user, network and PID namespaces.
	Isolated bool
	// Allowlist: runs and compiles see only the allowlisted filesystem and
	// a fresh /dev (bwrap).
	Allowlist bool
	// UID is the uid a run has inside its namespace (kforge's own without
	// bwrap).
	UID int
	// CompileNetwork: compiles can reach the host's network.
	CompileNetwork bool
	// RunMemory, GPUMemory and CompileMemory are the memory limits that
	// apply by default to CPU runs, GPU runs and compiles.
	RunMemory, GPUMemory, CompileMemory string
	// Missing says what is missing, if anything.
	Missing string
}

// Report says what confinement runs and compiles get here, for compiles
// limited to compileMB MiB.
func (s *Sandbox) Report(compileMB int) Report {
	s.once.Do(s.probe)
	r := Report{Isolated: s.nsOK, Allowlist: s.bwrap != "", UID: os.Getuid(), CompileNetwork: !s.nsOK}
	if r.Allowlist {
		r.UID = sandboxID
	}
	l := DefaultLimits(time.Minute)
	r.RunMemory = s.MemoryLimit(l, false)
	r.GPUMemory = s.MemoryLimit(l, true)
	r.CompileMemory = s.MemoryLimit(Limits{AddressMB: compileMB}, false)
	var notes []string
	for _, n := range []string{s.nsNote, s.fsNote} {
		if n != "" {
			notes = append(notes, n)
		}
	}
	r.Missing = strings.Join(notes, "; ")
	return r
}
