package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// script writes an executable shell script into dir.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "prog.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, body string, l Limits, mod ...func(*Spec)) Result {
	t.Helper()
	sp := Spec{Program: script(t, body), WorkDir: t.TempDir(), Limits: l}
	for _, m := range mod {
		m(&sp)
	}
	res, err := New().Run(context.Background(), sp)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

func TestExitOutputAndScratch(t *testing.T) {
	work := t.TempDir()
	res := run(t, `echo "out $1 $HIP_VISIBLE_DEVICES $CUDA_VISIBLE_DEVICES"; echo err >&2; pwd; touch f; exit 3`, DefaultLimits(10*time.Second), func(s *Spec) {
		s.Args = []string{"arg1"}
		s.GPU = "2"
		s.WorkDir = work
	})
	if res.Exit != 3 || res.TimedOut || res.Signal != "" {
		t.Fatalf("result %+v", res)
	}
	if !strings.HasPrefix(res.Stdout, "out arg1 2 2\n") || res.Stderr != "err\n" {
		t.Fatalf("output %q %q", res.Stdout, res.Stderr)
	}
	pwd := strings.Split(res.Stdout, "\n")[1]
	if filepath.Dir(pwd) != work {
		t.Fatalf("ran in %q, want a scratch dir under %q", pwd, work)
	}
	if _, err := os.Stat(pwd); !os.IsNotExist(err) {
		t.Fatalf("scratch dir %s left behind: %v", pwd, err)
	}
}

// TestTimeoutKillsTheWholeGroup: a program that starts children and hangs is
// killed at the wall-clock limit together with every child.
func TestTimeoutKillsTheWholeGroup(t *testing.T) {
	marker := fmt.Sprintf("%d.%d", 1000+os.Getpid()%1000, time.Now().UnixNano()%1000000)
	body := fmt.Sprintf(`sleep %s & sleep %s & (sleep %s &) ; while :; do :; done`, marker, marker, marker)
	res := run(t, body, Limits{Wall: 1500 * time.Millisecond})
	if !res.TimedOut || res.Exit != -1 {
		t.Fatalf("want a timeout, got %+v", res)
	}
	if res.Seconds > 10 {
		t.Fatalf("took %.1fs to kill", res.Seconds)
	}
	// Give the kernel a moment to reap, then look for survivors.
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := survivors(t, marker)
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d children survived the timeout", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func survivors(t *testing.T, marker string) int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), marker) {
			n++
		}
	}
	return n
}

// TestForkStormIsContained: a program that keeps starting processes (each
// in its own session, escaping the process group) is stopped at the limit and
// leaves nothing behind when the machine gives runs a PID namespace.
func TestForkStormIsContained(t *testing.T) {
	marker := fmt.Sprintf("%d.%d", 2000+os.Getpid()%1000, time.Now().UnixNano()%1000000)
	body := fmt.Sprintf(`i=0; while [ $i -lt 40 ]; do setsid sleep %s & i=$((i+1)); done; while :; do :; done`, marker)
	res := run(t, body, Limits{Wall: 1500 * time.Millisecond, Processes: 4096})
	if !res.TimedOut {
		t.Fatalf("want a timeout, got %+v", res)
	}
	if !res.Isolated {
		t.Skipf("no PID namespace here (%s): setsid children may outlive the run", res.Note)
	}
	deadline := time.Now().Add(5 * time.Second)
	for survivors(t, marker) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d escaped children survived", survivors(t, marker))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestResourceLimits(t *testing.T) {
	cases := []struct {
		name string
		body string
		l    Limits
		want func(Result) bool
	}{
		{"cpu time", `while :; do :; done`, Limits{Wall: 20 * time.Second, CPUSeconds: 1},
			func(r Result) bool { return !r.TimedOut && r.Signal != "" }},
		{"file size", `head -c 3000000 /dev/zero > big; echo "rc=$?"`, Limits{Wall: 10 * time.Second, FileSizeMB: 1},
			func(r Result) bool { return r.Exit != 0 || !strings.Contains(r.Stdout, "rc=0") }},
		{"open files", `i=0; while [ $i -lt 40 ]; do eval "exec $((i+10))>f$i" || { echo "failed at $i"; exit 7; }; i=$((i+1)); done`, Limits{Wall: 10 * time.Second, OpenFiles: 16},
			func(r Result) bool { return r.Exit != 0 }},
		{"address space", `x=$(head -c 200000000 /dev/zero | tr '\0' 'a'); echo ${#x}`, Limits{Wall: 20 * time.Second, AddressMB: 64},
			func(r Result) bool { return r.Exit != 0 || !strings.Contains(r.Stdout, "200000000") }},
		{"output cap", `head -c 100000 /dev/zero`, Limits{Wall: 10 * time.Second, OutputBytes: 1000},
			func(r Result) bool { return r.Truncated && len(r.Stdout) == 1000 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, c.body, c.l)
			if !c.want(res) {
				t.Fatalf("limit not enforced: %+v", res)
			}
		})
	}
}

func TestNoNetwork(t *testing.T) {
	s := New()
	ok, note := s.Isolation()
	if !ok {
		t.Skipf("machine allows no network namespace: %s", note)
	}
	res := run(t, `cat /proc/net/dev`, DefaultLimits(10*time.Second))
	if !res.Isolated {
		t.Fatal("run not isolated")
	}
	var ifaces []string
	for _, l := range strings.Split(res.Stdout, "\n")[2:] {
		if f := strings.Fields(l); len(f) > 0 {
			ifaces = append(ifaces, strings.TrimSuffix(f[0], ":"))
		}
	}
	if len(ifaces) != 1 || ifaces[0] != "lo" {
		t.Fatalf("interfaces in the sandbox: %v", ifaces)
	}
	res = run(t, `cat /proc/net/dev`, DefaultLimits(10*time.Second), func(s *Spec) { s.Network = true })
	if res.Isolated {
		t.Fatal("Network: true still isolated")
	}
}

func TestEnvironmentIsMinimal(t *testing.T) {
	t.Setenv("HF_TOKEN", "hf_secret_value")
	res := run(t, `env`, DefaultLimits(10*time.Second), func(s *Spec) { s.Env = map[string]string{"SEED": "7"} })
	if strings.Contains(res.Stdout, "hf_secret_value") || !strings.Contains(res.Stdout, "SEED=7") {
		t.Fatalf("environment:\n%s", res.Stdout)
	}
}

func TestCallerCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(300 * time.Millisecond); cancel() }()
	_, err := New().Run(ctx, Spec{Program: script(t, "sleep 30"), WorkDir: t.TempDir(), Limits: Limits{Wall: 20 * time.Second}})
	if err == nil {
		t.Fatal("a cancelled run is an error, not a verdict")
	}
}

func TestMissingProgram(t *testing.T) {
	if _, err := New().Run(context.Background(), Spec{Program: "/nonexistent/prog"}); err == nil {
		t.Fatal("want error")
	}
}

// TestRunsAreConfined: a hostile program cannot read the home directory
// (where Hub tokens and keys live), write to it, reach the sockets under
// /run, or write outside its scratch directory and the directories it is
// given, even when its own binary lives in the home directory. (Inside, the
// directories above its binary are made on the run's own small /tmp, which
// it may write: that reaches nothing on the host.)
func TestRunsAreConfined(t *testing.T) {
	s := New()
	if ok, note := s.Confinement(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI installs bubblewrap, but: %s", note)
		}
		t.Skip(note)
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	secret := filepath.Join(home, ".cache", "huggingface", "token")
	if err := os.MkdirAll(filepath.Dir(secret), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte("hf_secret_value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "planted")
	writable := t.TempDir()
	bin := filepath.Join(home, "build", "prog.sh") // the program itself is in the hidden home
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`cat %s; ls -A %s; echo x > %s && echo planted; touch /etc/kforge-planted && echo etc; echo y > %s/fill && echo homewrite; echo "run:$(ls -A /run | wc -l)"; echo ok > mine && cat mine; echo w > %s/out && echo wrote`,
		secret, home, outside, home, writable)
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := s.Run(context.Background(), Spec{Program: bin, WorkDir: t.TempDir(), Limits: DefaultLimits(10 * time.Second), Writable: []string{writable}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Confined {
		t.Fatalf("run not confined: %+v", res)
	}
	out := res.Output()
	for _, leak := range []string{"hf_secret_value", ".cache", "planted", "etc\n"} {
		if strings.Contains(res.Stdout, leak) {
			t.Errorf("the run could %q:\n%s", leak, out)
		}
	}
	for _, p := range []string{outside, filepath.Join(home, "fill")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("the run wrote %s", p)
		}
	}
	if !strings.Contains(res.Stdout, "run:0\n") {
		t.Errorf("the run sees the host's /run (service sockets):\n%s", out)
	}
	if !strings.Contains(res.Stdout, "ok\n") || !strings.Contains(res.Stdout, "wrote") {
		t.Errorf("the run could not use its scratch and writable directories:\n%s", out)
	}
	if b, err := os.ReadFile(filepath.Join(writable, "out")); err != nil || string(b) != "w\n" {
		t.Errorf("writable dir: %q %v", b, err)
	}
}

// TestConfinementFailureIsNotTheProgramsFault: bwrap failing to set up a
// run is an error of the run, while a program that merely prints what bwrap
// would and exits 1 gets its result like any other.
func TestConfinementFailureIsNotTheProgramsFault(t *testing.T) {
	s := New()
	if ok, note := s.Confinement(); !ok {
		t.Skip(note)
	}
	bad := Spec{Program: script(t, "exit 0"), WorkDir: t.TempDir(), Limits: DefaultLimits(10 * time.Second),
		Writable: []string{filepath.Join(t.TempDir(), "missing")}}
	if _, err := s.Run(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "confining") {
		t.Fatalf("a failed confinement: err %v", err)
	}
	res, err := s.Run(context.Background(), Spec{Program: script(t, `echo "bwrap: not really" >&2; exit 1`), WorkDir: t.TempDir(), Limits: DefaultLimits(10 * time.Second)})
	if err != nil || res.Exit != 1 || !res.Confined {
		t.Fatalf("a program's own exit 1: %+v %v", res, err)
	}
}

// TestWithoutConfinement: the switch for a GPU runtime that fails inside
// bwrap leaves the namespaces and says why runs are not confined.
func TestWithoutConfinement(t *testing.T) {
	s := New().WithoutConfinement()
	if ok, note := s.Confinement(); ok || !strings.Contains(note, "unconfined") {
		t.Fatalf("confinement %v, note %q", ok, note)
	}
	res, err := s.Run(context.Background(), Spec{Program: script(t, "exit 0"), WorkDir: t.TempDir(), Limits: DefaultLimits(10 * time.Second)})
	if err != nil || res.Confined || !strings.Contains(res.Note, "unconfined") {
		t.Fatalf("%+v %v", res, err)
	}
}
