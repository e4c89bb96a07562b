package sandbox

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// probeBwrap finds bwrap and checks that it can confine a command on this
// machine (it needs user namespaces, or root).
func (s *Sandbox) probeBwrap() {
	if s.noFS {
		s.fsNote = "confinement is turned off (verify.unconfined: true): runs can read the home directory and write wherever kforge can"
		return
	}
	p, err := exec.LookPath("bwrap")
	if err != nil {
		s.fsNote = "bwrap (bubblewrap) is not installed: runs can read the home directory and write wherever kforge can"
		return
	}
	dir, err := os.MkdirTemp("", "kforge-sandbox-probe-")
	if err != nil {
		s.fsNote = fmt.Sprintf("bwrap not probed (%v): runs are not confined", err)
		return
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(p, append(confineArgs(dir, nil, []string{dir}, false), "/bin/sh", "-c", "exit 0")...)
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		s.fsNote = fmt.Sprintf("bwrap cannot confine runs on this machine (%v: %s): runs can read the home directory and write wherever kforge can",
			err, strings.TrimSpace(string(out)))
		return
	}
	s.bwrap = p
}

// Confine rewrites cmd to run confined as Run's programs are (see
// confineArgs), in dir, seeing readable and the GPU toolchains' directories
// and writing writable besides, with dir as its TMPDIR; the network stays.
// It returns nil, leaving cmd as it was, where bwrap cannot confine
// commands; otherwise the caller must call the Status's Ran once cmd has
// finished. For the compiler: a source can make the assembler read a file
// (.incbin), and compiler messages reach logs.
func (s *Sandbox) Confine(cmd *exec.Cmd, dir string, readable, writable []string) *Status {
	s.once.Do(s.probe)
	if s.bwrap == "" || cmd.Err != nil {
		return nil
	}
	st, err := newStatus(cmd)
	if err != nil {
		return nil
	}
	args := append(st.args(), confineArgs(dir, append(readable, toolchainDirs()...), append([]string{dir}, writable...), true)...)
	cmd.Args = append(append(append([]string{s.bwrap}, args...), cmd.Path), cmd.Args[1:]...)
	cmd.Path = s.bwrap
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "TMPDIR="+dir) // the temporary directory is hidden
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
// environment, which a confined command must still read when they lie in a
// hidden directory (a ROCm or CUDA installed under the home).
func toolchainDirs() []string {
	var out []string
	for _, k := range []string{"LD_LIBRARY_PATH", "ROCM_PATH", "HIP_PATH", "CUDA_HOME", "CUDA_PATH", "HSA_PATH"} {
		out = append(out, filepath.SplitList(os.Getenv(k))...)
	}
	return out
}

// runArgs are bwrap's options for a Run in scratch: it reads its program's
// directory, spec.Readable (a profiled binary) and the toolchains'
// directories, and writes scratch and spec.Writable. (Not every absolute
// argument: case arguments come from task data.)
func runArgs(scratch, prog string, spec Spec) []string {
	readable := append(append([]string{prog}, spec.Readable...), toolchainDirs()...)
	return confineArgs(scratch, readable, append([]string{scratch}, spec.Writable...), spec.Network)
}

// confineArgs are bwrap's options for a confined command that starts in
// dir: the root read-only, a fresh /proc and /dev/shm, the devices (GPUs)
// as they are, and the home, temporary and runtime directories hidden under
// empty tmpfs mounts (tokens and keys; other runs' files; the sockets of
// services that would start programs outside, such as the user's D-Bus or
// Docker); then, read-only, those of the readable paths (files stand for
// their directories) that lie in a hidden directory, and the writable
// directories; the hidden directories are then made read-only, so that
// they cannot fill memory. New namespaces (the network too unless network),
// no capabilities, a session of its own, and it dies with kforge.
func confineArgs(dir string, readable, writable []string, network bool) []string {
	args := []string{"--ro-bind", "/", "/", "--dev-bind", "/dev", "/dev", "--tmpfs", "/dev/shm", "--proc", "/proc",
		"--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"}
	if network {
		args = append(args, "--share-net")
	}
	hidden := hiddenDirs()
	for _, h := range hidden {
		args = append(args, "--tmpfs", h)
	}
	// Only paths inside a hidden directory need a mount: anything else is
	// visible already, and binding an ancestor of a hidden directory would
	// show it again.
	seen := map[string]bool{}
	for _, p := range readable {
		if !filepath.IsAbs(p) {
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if !st.IsDir() {
			p = filepath.Dir(p)
		}
		if p = filepath.Clean(p); under(p, hidden) && !seen[p] {
			seen[p] = true
			args = append(args, "--ro-bind", p, p)
		}
	}
	for _, w := range writable {
		if w, err := filepath.Abs(w); err == nil {
			args = append(args, "--bind", w, w)
		}
	}
	for _, h := range hidden {
		args = append(args, "--remount-ro", h)
	}
	return append(args, "--chdir", dir, "--")
}

// hiddenDirs are the directories a confined command must not see: the
// user's home (Hub tokens, SSH keys, caches), a Hugging Face home set
// elsewhere, the temporary directory (other runs' programs and files), and
// the runtime directories (service sockets; /var/run is a link to /run).
func hiddenDirs() []string {
	var out []string
	for _, d := range []string{os.Getenv("HOME"), os.Getenv("HF_HOME"), os.TempDir(), "/run", os.Getenv("XDG_RUNTIME_DIR")} {
		if d == "" || !filepath.IsAbs(d) {
			continue
		}
		d = filepath.Clean(d)
		if st, err := os.Stat(d); err != nil || !st.IsDir() || d == "/" || slices.Contains(out, d) {
			continue
		}
		out = append(out, d)
	}
	// One mount for nested ones: the outer covers the inner.
	all := slices.Clone(out)
	return slices.DeleteFunc(out, func(d string) bool { return under(d, all) })
}

// under reports whether p lies strictly inside one of dirs.
func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(p, d+string(filepath.Separator)) {
			return true
		}
	}
	return false
}
