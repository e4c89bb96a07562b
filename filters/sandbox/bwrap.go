package sandbox

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// probeBwrap finds bwrap and checks that it can confine a command on this
// machine (it needs user namespaces, or root), and whether it can size a
// tmpfs.
func (s *Sandbox) probeBwrap() {
	if s.noFS {
		s.fsNote = "confinement is turned off (verify.unconfined: true): " + unconfinedMeans
		return
	}
	p, err := exec.LookPath("bwrap")
	if err != nil {
		s.fsNote = "bwrap (bubblewrap) is not installed: " + unconfinedMeans
		return
	}
	dir, err := os.MkdirTemp("", "kforge-sandbox-probe-")
	if err != nil {
		s.fsNote = fmt.Sprintf("bwrap not probed (%v): %s", err, unconfinedMeans)
		return
	}
	defer os.RemoveAll(dir)
	try := func(sized bool) error {
		c := confinement{dir: dir, writable: []string{dir}, sized: sized}
		cmd := exec.Command(p, append(c.args(), "/bin/sh", "-c", "exit 0")...)
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if err := try(true); err == nil {
		s.sized = true
	} else if err2 := try(false); err2 != nil {
		s.fsNote = fmt.Sprintf("bwrap cannot confine runs on this machine (%v): %s", err, unconfinedMeans)
		return
	}
	s.bwrap = p
}

// unconfinedMeans is what a run without bwrap's confinement lacks.
const unconfinedMeans = "runs and compiles are not confined: they see the host's whole filesystem (the home directory with its tokens and keys, /etc, /var, other runs' files) and the host's /dev, can write wherever kforge can, and run as kforge's own user; they still get the resource limits and, where the machine allows, new user, network and PID namespaces"

// Confine rewrites cmd to run confined as Run's programs are (see
// confinement), in dir, seeing readable (a file stands for its directory: a
// source's includes lie beside it) and the toolchains, writing dir and
// writable, with dir as its TMPDIR, without network, under an address-space
// limit of memoryMB MiB (RLIMIT_AS; none when 0). Where bwrap cannot confine
// commands, cmd still gets the limit and, where the machine allows, new
// user, network and PID namespaces, and Confine returns nil; otherwise the
// caller must call the Status's Ran once cmd has finished. For the compiler:
// a source can make the assembler read a file (.incbin), and compiler
// messages reach logs.
func (s *Sandbox) Confine(cmd *exec.Cmd, dir string, readable, writable []string, memoryMB int) *Status {
	s.once.Do(s.probe)
	if cmd.Err != nil {
		return nil
	}
	if memoryMB > 0 {
		name, argv, _ := s.limitArgs(Limits{AddressMB: memoryMB}, cmd.Path, cmd.Args[1:])
		cmd.Path, cmd.Args = name, append([]string{name}, argv...)
	}
	if s.bwrap == "" {
		if s.nsOK {
			attr := nsAttr()
			if cmd.SysProcAttr != nil {
				attr.Setpgid = cmd.SysProcAttr.Setpgid
			}
			cmd.SysProcAttr = attr
		}
		return nil
	}
	st, err := newStatus(cmd)
	if err != nil {
		return nil
	}
	var dirs []string
	for _, p := range readable {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			p = filepath.Dir(p)
		}
		dirs = append(dirs, p)
	}
	c := confinement{dir: dir, readable: dirs, writable: append([]string{dir}, writable...), sized: s.sized}
	cmd.Args = append(append(append([]string{s.bwrap}, append(st.args(), c.args()...)...), cmd.Path), cmd.Args[1:]...)
	cmd.Path = s.bwrap
	if cmd.Env == nil {
		cmd.Env = CompilerEnv(dir) // never the host's whole environment
	}
	cmd.Env = append(cmd.Env, "TMPDIR="+dir) // the host's temporary directory is not there
	return st
}

// Status tells whether a confined command ran: bwrap writes the command's
// exit status to a pipe (--json-status-fd) only when it started it, so a
// failure to set up the confinement is never taken for the command's own
// failure, whatever the command prints.
type Status struct{ r, w *os.File }

// newStatus makes the pipe and passes its write end to cmd as its first
// extra file (descriptor 3).
func newStatus(cmd *exec.Cmd) (*Status, error) {
	if len(cmd.ExtraFiles) > 0 {
		return nil, fmt.Errorf("sandbox: the command already has extra files")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{w}
	return &Status{r: r, w: w}, nil
}

// args are bwrap's options that name the pipe.
func (st *Status) args() []string { return []string{"--json-status-fd", "3"} }

// Ran reports whether bwrap started the command and saw it end, and
// releases the pipe; call it once, after the command has finished.
func (st *Status) Ran() bool {
	st.w.Close()
	defer st.r.Close()
	b, _ := io.ReadAll(io.LimitReader(st.r, 1<<16))
	return bytes.Contains(b, []byte(`"exit-code"`))
}

// toolchainDirs are the GPU runtime's and toolchains' directories from the
// environment, which a confined command must still read (a ROCm or CUDA
// installed under /opt or the home).
func toolchainDirs() []string {
	var out []string
	for _, k := range []string{"LD_LIBRARY_PATH", "ROCM_PATH", "HIP_PATH", "CUDA_HOME", "CUDA_PATH", "HSA_PATH"} {
		out = append(out, filepath.SplitList(os.Getenv(k))...)
	}
	return out
}

// The allowlist. A confined command sees nothing of the host's filesystem
// but what is named here, read-only, and its own directories:
//
//   - systemPaths: the toolchains and runtime libraries (/usr, and /bin,
//     /sbin, /lib* as they are on the host: links into /usr on a merged-/usr
//     system, recreated as the same links, else bound read-only);
//   - etcPaths: the few files under /etc that the dynamic loader, the C and
//     C++ runtimes, Perl (hipcc), Python and the compilers' drivers read;
//     not /etc itself (shadow, SSH host keys, tools' credentials);
//   - toolchainRoots: toolchains installed outside /usr (ROCm under /opt),
//     when they exist, and the directories of the toolchain environment
//     variables (toolchainDirs);
//   - the program and the readable paths the caller names, read-only;
//   - the scratch directory and the writable paths, read-write;
//   - a fresh /proc, a fresh minimal /dev (null, zero, full, random, urandom,
//     tty, pts, shm) and a fresh small /tmp;
//   - for a GPU run only: the backend's device nodes (gpuDevices) and /sys
//     read-only (ROCr reads the KFD topology under /sys/class/kfd and
//     /sys/devices, CUDA the PCI tree); a CPU run or a compile sees no /sys.
//
// Not there: /home, /root, /etc but the files above, /var, /srv, /mnt, /opt
// but the toolchains, /run, the host's /tmp and /dev.
var (
	systemPaths    = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}
	etcPaths       = []string{"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime", "/etc/os-release", "/etc/lsb-release", "/etc/debian_version", "/etc/redhat-release", "/etc/perl", "/etc/env.d"}
	etcGlobs       = []string{"/etc/python3*"}
	toolchainRoots = []string{"/opt/rocm", "/opt/rocm-*", "/opt/nvidia", "/opt/cuda"}
)

// sandboxID is the uid and gid a confined command has inside its user
// namespace (nobody). On the host it is still kforge's own user: files it
// may write are its scratch and writable directories, all else is read-only
// or absent.
const sandboxID = 65534

// tmpSize bounds the fresh /tmp and /dev/shm (they live in memory).
const tmpSize = 256 << 20

// confinement is one confined command's view.
type confinement struct {
	dir      string   // where it starts (its scratch directory)
	readable []string // files and directories it reads
	writable []string // directories it writes (dir among them)
	network  bool     // keeps the host's network
	gpu      bool     // a GPU run: device nodes and /sys
	gpuIndex string   // the GPU's index (NVIDIA: which /dev/nvidiaN)
	sized    bool     // bwrap takes --size (0.7 and later)
}

// args are bwrap's options for c: new namespaces (the network too unless
// c.network) with an unprivileged uid and gid, no capabilities, a session of
// its own, death with kforge, and the allowlist above.
func (c confinement) args() []string {
	args := []string{"--unshare-all", "--unshare-user", "--uid", strconv.Itoa(sandboxID), "--gid", strconv.Itoa(sandboxID),
		"--die-with-parent", "--new-session", "--cap-drop", "ALL"}
	if c.network {
		args = append(args, "--share-net")
	}
	covered := []string{} // what the system paths and toolchains already show
	for _, p := range systemPaths {
		st, err := os.Lstat(p)
		switch {
		case err != nil:
		case st.Mode()&os.ModeSymlink != 0:
			if t, err := os.Readlink(p); err == nil {
				args = append(args, "--symlink", t, p)
			}
		case st.IsDir():
			args = append(args, "--ro-bind", p, p)
			covered = append(covered, p)
		}
	}
	etc := slices.Clone(etcPaths)
	for _, g := range etcGlobs {
		m, _ := filepath.Glob(g)
		etc = append(etc, m...)
	}
	for _, p := range etc {
		args = append(args, "--ro-bind-try", p, p)
	}
	var roots []string
	for _, g := range toolchainRoots {
		m, _ := filepath.Glob(g)
		roots = append(roots, m...)
	}
	for _, p := range append(roots, toolchainDirs()...) {
		if p, ok := bindable(p, covered, false); ok {
			args = append(args, "--ro-bind", p, p)
			covered = append(covered, p)
		}
	}
	args = append(args, "--proc", "/proc", "--dev", "/dev")
	for _, d := range []string{"/dev/shm", "/tmp"} {
		if c.sized {
			args = append(args, "--size", strconv.Itoa(tmpSize))
		}
		args = append(args, "--tmpfs", d)
	}
	if c.gpu {
		args = append(args, "--ro-bind", "/sys", "/sys")
		for _, d := range gpuDevices(c.gpuIndex) {
			args = append(args, "--dev-bind", d, d)
		}
	}
	seen := slices.Clone(covered)
	for _, p := range c.readable {
		if p, ok := bindable(p, seen, true); ok {
			args = append(args, "--ro-bind", p, p)
			seen = append(seen, p)
		}
	}
	for _, w := range c.writable {
		if w, err := filepath.Abs(w); err == nil {
			args = append(args, "--bind", w, w)
		}
	}
	// The root is bwrap's own tmpfs: read-only, so that it cannot fill memory.
	return append(args, "--remount-ro", "/", "--chdir", c.dir, "--")
}

// bindable cleans p and reports whether it should be bound: an absolute
// path that exists, not yet covered by a bound directory, and neither the
// root nor the home directory or one of its ancestors (a toolchain variable
// or a compiler found at /bin/cc must not show everything).
func bindable(p string, covered []string, files bool) (string, bool) {
	if !filepath.IsAbs(p) {
		return "", false
	}
	p = filepath.Clean(p)
	st, err := os.Stat(p)
	if err != nil || (!files && !st.IsDir()) {
		return "", false
	}
	if p == "/" || slices.Contains(covered, p) || under(p, covered) {
		return "", false
	}
	if home := os.Getenv("HOME"); filepath.IsAbs(home) && (filepath.Clean(home) == p || under(filepath.Clean(home), []string{p})) {
		return "", false
	}
	return p, true
}

// gpuDevices are the device nodes a GPU run needs, those of the backend
// found on this machine. AMD: /dev/kfd and every render node (ROCr opens the
// render node of each KFD topology node it enumerates; ROCR_VISIBLE_DEVICES
// pins the run to its GPU). NVIDIA: the control and UVM nodes and the GPU's
// own /dev/nvidiaN (see nvidiaMinor).
func gpuDevices(index string) []string {
	var out []string
	if _, err := os.Stat("/dev/kfd"); err == nil {
		out = append(out, "/dev/kfd")
		m, _ := filepath.Glob("/dev/dri/renderD*")
		out = append(out, m...)
	}
	if _, err := os.Stat("/dev/nvidiactl"); err == nil {
		for _, d := range []string{"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"} {
			if _, err := os.Stat(d); err == nil {
				out = append(out, d)
			}
		}
		if d := "/dev/nvidia" + nvidiaMinor(index); index != "" {
			if _, err := os.Stat(d); err == nil {
				out = append(out, d)
			}
		}
	}
	return out
}

// nvidiaGPUNode reports whether d is an NVIDIA GPU's own node (/dev/nvidiaN).
func nvidiaGPUNode(d string) bool {
	n, ok := strings.CutPrefix(d, "/dev/nvidia")
	_, err := strconv.Atoi(n)
	return ok && err == nil
}

// nvidiaMinor is the device minor (the N of /dev/nvidiaN) of the GPU at
// index in PCI bus order, nvidia-smi's order, from the driver's
// /proc/driver/nvidia/gpus/<bus id>/information; the index itself when the
// driver does not say.
func nvidiaMinor(index string) string {
	i, err := strconv.Atoi(index)
	if err != nil {
		return index
	}
	dirs, _ := filepath.Glob("/proc/driver/nvidia/gpus/*")
	slices.Sort(dirs)
	if i < 0 || i >= len(dirs) {
		return index
	}
	b, err := os.ReadFile(filepath.Join(dirs[i], "information"))
	if err != nil {
		return index
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Device Minor:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return index
}

// under reports whether p lies strictly inside one of dirs.
func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if d == "/" || strings.HasPrefix(p, d+string(filepath.Separator)) {
			return true
		}
	}
	return false
}
