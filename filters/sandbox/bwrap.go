package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// probeBwrap finds bwrap and checks that it can confine a run on this
// machine (it needs user namespaces, or root).
func (s *Sandbox) probeBwrap() {
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
	cmd := exec.Command(p, append(bwrapArgs(dir, "/bin/sh", Spec{}), "/bin/sh", "-c", "exit 0")...)
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		s.fsNote = fmt.Sprintf("bwrap cannot confine runs on this machine (%v: %s): runs can read the home directory and write wherever kforge can",
			err, strings.TrimSpace(string(out)))
		return
	}
	s.bwrap = p
}

// bwrapArgs are bwrap's options for a run in scratch: the root read-only, a
// fresh /proc and /dev/shm, the devices (GPUs) as they are, the home
// directory hidden under an empty tmpfs, then read-only the directories the
// run needs that lie in hidden ones (the program's, the libraries'), and
// writable the scratch and spec.Writable. New namespaces, no capabilities,
// its own session, and it dies with kforge.
func bwrapArgs(scratch, prog string, spec Spec) []string {
	args := []string{"--ro-bind", "/", "/", "--dev-bind", "/dev", "/dev", "--tmpfs", "/dev/shm", "--proc", "/proc",
		"--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"}
	if spec.Network {
		args = append(args, "--share-net")
	}
	hidden := hiddenDirs()
	for _, h := range hidden {
		args = append(args, "--tmpfs", h)
	}
	// What the run must read: the program's directory, directories and
	// files named by absolute arguments (a profiled binary), the GPU
	// runtime's library paths. Only those inside a hidden directory need a
	// mount; anything else is visible already, and binding an ancestor of a
	// hidden directory would show it again.
	var need []string
	add := func(p string) {
		if !filepath.IsAbs(p) {
			return
		}
		st, err := os.Stat(p)
		if err != nil {
			return
		}
		if !st.IsDir() {
			p = filepath.Dir(p)
		}
		need = append(need, filepath.Clean(p))
	}
	add(prog)
	for _, a := range spec.Args {
		add(a)
	}
	for _, k := range []string{"LD_LIBRARY_PATH", "ROCM_PATH", "HIP_PATH", "CUDA_HOME", "CUDA_PATH", "HSA_PATH"} {
		for _, p := range filepath.SplitList(os.Getenv(k)) {
			add(p)
		}
	}
	for _, p := range need {
		if under(p, hidden) {
			args = append(args, "--ro-bind", p, p)
		}
	}
	for _, w := range append([]string{scratch}, spec.Writable...) {
		if w, err := filepath.Abs(w); err == nil {
			args = append(args, "--bind", w, w)
		}
	}
	return append(args, "--chdir", scratch, "--")
}

// hiddenDirs are the directories a run must not see: the user's home (Hub
// tokens, SSH keys, caches) and a Hugging Face home set elsewhere.
func hiddenDirs() []string {
	var out []string
	for _, k := range []string{"HOME", "HF_HOME"} {
		d := os.Getenv(k)
		if d == "" || !filepath.IsAbs(d) {
			continue
		}
		d = filepath.Clean(d)
		if st, err := os.Stat(d); err != nil || !st.IsDir() || d == "/" {
			continue
		}
		out = append(out, d)
	}
	return out
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
