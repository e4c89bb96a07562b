package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// confining returns a sandbox that confines runs, or skips the test where
// bwrap cannot (failing it in CI, which installs bubblewrap).
func confining(t *testing.T) *Sandbox {
	t.Helper()
	s := New()
	if ok, note := s.Confinement(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI installs bubblewrap, but: %s", note)
		}
		t.Skip(note)
	}
	return s
}

// TestRunSeesOnlyItsAllowlist: a secret in a directory that is neither the
// home, the temporary nor the runtime directory (so that hiding those is not
// enough) cannot be read, listed or written over; nor can the rest of the
// host's filesystem outside the toolchain be seen.
func TestRunSeesOnlyItsAllowlist(t *testing.T) {
	s := confining(t)
	dir, err := os.MkdirTemp("/var/tmp", "kforge-secret-")
	if err != nil {
		t.Skipf("no /var/tmp: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	secret := filepath.Join(dir, "token")
	if err := os.WriteFile(secret, []byte("hf_secret_value\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`cat %[1]s/token; ls -A %[1]s; echo x > %[1]s/planted && echo planted
for p in /home /root /var /srv /mnt /etc/shadow /etc/hostname /usr/bin/sh; do test -e $p && echo "visible:$p"; done
echo "etc:$(ls -A /etc | tr '\n' ' ')"`, dir)
	res, err := s.Run(context.Background(), Spec{Program: script(t, body), WorkDir: t.TempDir(), Limits: DefaultLimits(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Confined {
		t.Fatalf("not confined: %+v", res)
	}
	for _, leak := range []string{"hf_secret_value", "token", "planted", "visible:/home", "visible:/root", "visible:/var", "visible:/srv", "visible:/mnt", "visible:/etc/shadow", "visible:/etc/hostname"} {
		if strings.Contains(res.Stdout, leak) {
			t.Errorf("the run saw %q:\n%s", leak, res.Output())
		}
	}
	if !strings.Contains(res.Stdout, "visible:/usr/bin/sh") {
		t.Errorf("the run cannot see the toolchain:\n%s", res.Output())
	}
	if _, err := os.Stat(filepath.Join(dir, "planted")); !os.IsNotExist(err) {
		t.Errorf("the run wrote into %s", dir)
	}
}

// TestRunCannotWriteDevAndIsUnprivileged: a run gets a fresh /dev, so a file
// it makes there is gone with it (the host's /dev would keep it for the next
// run), and it runs as a non-zero uid.
func TestRunCannotWriteDevAndIsUnprivileged(t *testing.T) {
	s := confining(t)
	marker := fmt.Sprintf("kforge-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	body := fmt.Sprintf(`touch /dev/%[1]s && echo dev; echo x > /dev/shm/%[1]s && echo shm; echo "uid:$(id -u)"; echo "gid:$(id -g)"; echo ok > mine && cat mine`, marker)
	res, err := s.Run(context.Background(), Spec{Program: script(t, body), WorkDir: t.TempDir(), Limits: DefaultLimits(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join("/dev", marker), filepath.Join("/dev/shm", marker)} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			os.Remove(p)
			t.Errorf("the run left %s on the host", p)
		}
	}
	if strings.Contains(res.Stdout, "uid:0\n") || !strings.Contains(res.Stdout, "uid:") || strings.Contains(res.Stdout, "gid:0\n") {
		t.Errorf("the run is root inside its namespace:\n%s", res.Output())
	}
	if !strings.Contains(res.Stdout, "ok\n") {
		t.Errorf("the run cannot write its scratch directory:\n%s", res.Output())
	}
}

// hog builds a program that allocates and touches 6 GiB.
func hog(t *testing.T) string {
	t.Helper()
	cxx, err := exec.LookPath("g++")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no g++")
		}
		t.Skip("no g++")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "hog.cpp")
	prog := `#include <cstdio>
#include <cstdlib>
int main() {
  size_t n = size_t(6) << 30;
  char* p = static_cast<char*>(std::malloc(n));
  if (!p) { std::puts("malloc failed"); return 2; }
  for (size_t i = 0; i < n; i += 4096) p[i] = 1;
  std::puts("touched");
  return 0;
}
`
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "hog")
	if out, err := exec.Command(cxx, "-O1", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("g++: %v: %s", err, out)
	}
	return bin
}

// TestMemoryHogIsStopped: with the default limits a program cannot use 6
// GiB, neither on a CPU run (an address-space limit) nor on a GPU run (a
// cgroup's memory.max, or a data-segment limit).
func TestMemoryHogIsStopped(t *testing.T) {
	bin := hog(t)
	s := New()
	for _, gpu := range []string{"", "0"} {
		res, err := s.Run(context.Background(), Spec{Program: bin, GPU: gpu, WorkDir: t.TempDir(), Limits: DefaultLimits(60 * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(res.Stdout, "touched") || res.Exit == 0 {
			t.Errorf("gpu %q: the hog used 6 GiB: %+v", gpu, res)
		}
		if res.Memory == "" {
			t.Errorf("gpu %q: the result does not say which memory limit applied: %+v", gpu, res)
		}
		t.Logf("gpu %q: %s; %s", gpu, res.Describe(), res.Memory)
	}
}

// TestWithoutBwrap: where bwrap is missing, runs keep their namespaces and
// limits, and Confinement says what they lack.
func TestWithoutBwrap(t *testing.T) {
	s := New()
	t.Setenv("PATH", t.TempDir()) // no bwrap on it
	ok, note := s.Confinement()
	if ok {
		t.Fatal("confined without bwrap")
	}
	for _, want := range []string{"not installed", "whole filesystem", "home directory", "/dev", "kforge's own user"} {
		if !strings.Contains(note, want) {
			t.Errorf("note does not say %q: %s", want, note)
		}
	}
	r := s.Report(8192)
	if r.Allowlist || r.UID != os.Getuid() || r.Missing == "" || !strings.Contains(r.RunMemory, "RLIMIT_AS") {
		t.Errorf("report %+v", r)
	}
	res, err := s.Run(context.Background(), Spec{Program: script(t, `tail -n +3 /proc/net/dev | wc -l`), WorkDir: t.TempDir(), Limits: DefaultLimits(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Confined || !strings.Contains(res.Note, "not installed") {
		t.Errorf("result %+v", res)
	}
	if iso, _ := s.Isolation(); iso && (strings.TrimSpace(res.Stdout) != "1" || !res.Isolated || r.CompileNetwork) {
		t.Errorf("namespaces lost without bwrap: %+v %+v", res, r)
	}
}
