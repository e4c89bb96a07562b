package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// memory decides how l's memory limit applies to a run (see
// Limits.MemoryMB) and says which: l with AddressMB or DataMB set from
// MemoryMB, or a cgroup the run must start in (the caller removes it).
func (s *Sandbox) memory(l Limits, gpu bool) (Limits, string, *cgroup) {
	switch {
	case l.AddressMB > 0 || l.DataMB > 0:
		var kinds []string
		if l.AddressMB > 0 {
			kinds = append(kinds, fmt.Sprintf("address space %d MiB (RLIMIT_AS)", l.AddressMB))
		}
		if l.DataMB > 0 {
			kinds = append(kinds, fmt.Sprintf("data %d MiB (RLIMIT_DATA)", l.DataMB))
		}
		return l, strings.Join(kinds, ", "), nil
	case l.MemoryMB <= 0:
		return l, "none", nil
	case !gpu:
		l.AddressMB = l.MemoryMB
		return l, fmt.Sprintf("address space %d MiB (RLIMIT_AS)", l.MemoryMB), nil
	}
	note := s.cgNote
	if s.cgroup != "" {
		cg, err := newCgroup(s.cgroup, l.MemoryMB)
		if err == nil {
			return l, fmt.Sprintf("memory %d MiB (cgroup v2 memory.max under %s)", l.MemoryMB, s.cgroup), cg
		}
		note = err.Error()
	}
	l.DataMB = l.MemoryMB
	return l, fmt.Sprintf("data %d MiB (RLIMIT_DATA; no cgroup memory limit: %s)", l.MemoryMB, note), nil
}

// MemoryLimit says which memory limit a run with limits l gets on this
// machine, on a GPU or not (for kforge doctor).
func (s *Sandbox) MemoryLimit(l Limits, gpu bool) string {
	s.once.Do(s.probe)
	if gpu && l.AddressMB <= 0 && l.DataMB <= 0 && l.MemoryMB > 0 && s.cgroup != "" {
		return fmt.Sprintf("memory %d MiB (cgroup v2 memory.max under %s)", l.MemoryMB, s.cgroup)
	}
	// Without a cgroup directory, memory only describes.
	_, desc, _ := (&Sandbox{cgNote: s.cgNote}).memory(l, gpu)
	return desc
}

// probeCgroup looks for a cgroup v2 directory where kforge may make a child
// cgroup per GPU run with its own memory.max: the one named by
// KFORGE_CGROUP (delegated to kforge, e.g. by systemd's Delegate=yes, with
// kforge itself outside it or in a sibling), or else kforge's own cgroup
// when that is the root of its cgroup namespace (a container's), the only
// one that may hold processes and hand the memory controller to children.
func (s *Sandbox) probeCgroup() {
	dir := os.Getenv("KFORGE_CGROUP")
	if dir == "" {
		if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
			s.cgNote = "no cgroup v2 hierarchy at /sys/fs/cgroup"
			return
		}
		b, err := os.ReadFile("/proc/self/cgroup")
		if err != nil || !strings.Contains(string(b), "0::/\n") {
			s.cgNote = "kforge's cgroup may not hand the memory controller to a child (set KFORGE_CGROUP to a delegated cgroup v2 directory)"
			return
		}
		dir = "/sys/fs/cgroup"
	}
	if err := enableMemory(dir); err != nil {
		s.cgNote = err.Error()
		return
	}
	cg, err := newCgroup(dir, 64)
	if err != nil {
		s.cgNote = err.Error()
		return
	}
	cg.remove()
	s.cgroup = dir
}

// enableMemory makes sure dir's children get the memory controller.
func enableMemory(dir string) error {
	ctl := filepath.Join(dir, "cgroup.subtree_control")
	b, err := os.ReadFile(ctl)
	if err != nil {
		return fmt.Errorf("cgroup %s: %v", dir, err)
	}
	if strings.Contains(" "+strings.TrimSpace(string(b))+" ", " memory ") {
		return nil
	}
	if err := os.WriteFile(ctl, []byte("+memory"), 0o644); err != nil {
		return fmt.Errorf("cgroup %s: cannot enable the memory controller: %v", dir, err)
	}
	return nil
}

// cgroup is one run's cgroup.
type cgroup struct {
	dir string
	f   *os.File
}

// newCgroup makes a child of parent limited to mb MiB (and no swap).
func newCgroup(parent string, mb int) (*cgroup, error) {
	dir, err := os.MkdirTemp(parent, "kforge-run-")
	if err != nil {
		return nil, fmt.Errorf("cgroup: %v", err)
	}
	cg := &cgroup{dir: dir}
	if err := os.WriteFile(filepath.Join(dir, "memory.max"), []byte(strconv.Itoa(mb<<20)), 0o644); err != nil {
		cg.remove()
		return nil, fmt.Errorf("cgroup memory.max: %v", err)
	}
	_ = os.WriteFile(filepath.Join(dir, "memory.swap.max"), []byte("0"), 0o644) // absent without swap accounting
	if cg.f, err = os.Open(dir); err != nil {
		cg.remove()
		return nil, fmt.Errorf("cgroup: %v", err)
	}
	return cg, nil
}

func (c *cgroup) fd() int { return int(c.f.Fd()) }

// oomKills is how many of the cgroup's processes its memory.max killed.
func (c *cgroup) oomKills() int {
	b, err := os.ReadFile(filepath.Join(c.dir, "memory.events"))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "oom_kill "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// remove deletes the cgroup once its processes are gone (they were killed
// with the run; the kernel may take a moment to let go).
func (c *cgroup) remove() {
	if c.f != nil {
		c.f.Close()
	}
	for i := 0; i < 50; i++ {
		if err := os.Remove(c.dir); err == nil || os.IsNotExist(err) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
