package systemd

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// unit reads a unit file into section -> key -> values.
func unit(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := map[string]map[string][]string{}
	sec := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			sec = line[1 : len(line)-1]
			u[sec] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || sec == "" {
				t.Fatalf("%s:%d: not KEY=VALUE in a section: %q", path, n, line)
			}
			u[sec][k] = append(u[sec][k], v)
		}
	}
	return u
}

func one(t *testing.T, u map[string]map[string][]string, sec, key string) string {
	t.Helper()
	v := u[sec][key]
	if len(v) != 1 {
		t.Fatalf("[%s] %s: %d values, want 1", sec, key, len(v))
	}
	return v[0]
}

func TestUnits(t *testing.T) {
	svc := unit(t, "kforge-nightly.service")
	tim := unit(t, "kforge-nightly.timer")
	if got := one(t, svc, "Service", "Type"); got != "oneshot" {
		t.Errorf("Type=%s: a build runs to its end; want oneshot", got)
	}
	start := one(t, svc, "Service", "ExecStart")
	for _, s := range []string{"/usr/local/bin/kforge build -c /etc/kforge/nightly.yaml", "--out \"/var/lib/kforge/nightly/$(date -u +%%Y-%%m-%%d)\"", "--cache-dir /var/lib/kforge/cache"} {
		if !strings.Contains(start, s) {
			t.Errorf("ExecStart %q lacks %q (each night needs its own --out, sharing the cache)", start, s)
		}
	}
	if rw := one(t, svc, "Service", "ReadWritePaths"); !strings.Contains(start, rw+"/nightly") || !strings.Contains(start, rw+"/cache") {
		t.Errorf("ReadWritePaths=%s does not cover the build and the cache", rw)
	}
	for _, line := range append(svc["Service"]["Environment"], start) {
		if strings.Contains(line, "HF_TOKEN=") {
			t.Error("a secret in the unit file: use EnvironmentFile")
		}
	}
	if got := one(t, tim, "Timer", "Unit"); got != "kforge-nightly.service" {
		t.Errorf("timer starts %q", got)
	}
	if got := one(t, tim, "Timer", "Persistent"); got != "true" {
		t.Errorf("Persistent=%s: a night missed while off would be skipped", got)
	}
	if got := one(t, tim, "Install", "WantedBy"); got != "timers.target" {
		t.Errorf("WantedBy=%s", got)
	}
	cal := one(t, tim, "Timer", "OnCalendar")

	// systemd's own checks, where systemd-analyze is installed.
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("no systemd-analyze: unit files checked by this test only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "systemd-analyze", "verify", "--man=no", "kforge-nightly.service", "kforge-nightly.timer").CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	if out, err := exec.CommandContext(ctx, "systemd-analyze", "calendar", cal).CombinedOutput(); err != nil {
		t.Errorf("OnCalendar=%s: %v\n%s", cal, err, out)
	}
}
