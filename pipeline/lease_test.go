package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A value moved under another key's name (two entries' files swapped) is
// intact but not the key's: both read as misses, are counted, and Cached
// recomputes them.
func TestDirCacheEntryIsBoundToItsKey(t *testing.T) {
	ctx := context.Background()
	c, err := OpenDirCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a, b := NewKey("llm", "task-a"), NewKey("llm", "task-b")
	if err := c.Put(ctx, a, []byte(`"answer for a"`)); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, b, []byte(`"answer for b"`)); err != nil {
		t.Fatal(err)
	}
	pa, pb := c.path(a), c.path(b)
	ra, _ := os.ReadFile(pa)
	rb, _ := os.ReadFile(pb)
	os.WriteFile(pa, rb, 0o644)
	os.WriteFile(pb, ra, 0o644)
	for _, k := range []Key{a, b} {
		if v, ok, err := c.Get(ctx, k); ok || err != nil {
			t.Errorf("%s: served %q (err %v) from another key's entry", k, v, err)
		}
	}
	if n := c.Mismatches(); n != 2 {
		t.Errorf("mismatches counted: %d, want 2", n)
	}
	calls := 0
	for _, k := range []Key{a, b} {
		v, hit, err := Cached(ctx, c, k, func(context.Context) (string, error) {
			calls++
			return "recomputed " + k.Hash[:6], nil
		})
		if err != nil || hit || v != "recomputed "+k.Hash[:6] {
			t.Errorf("%s: v=%q hit=%v err=%v", k, v, hit, err)
		}
	}
	if calls != 2 {
		t.Errorf("recomputed %d values, want 2", calls)
	}
	// Old-format entries (no key in the frame) are misses too.
	old := append([]byte("KFC1"), ra[4+32:]...)
	os.WriteFile(pa, old, 0o644)
	if _, ok, _ := c.Get(ctx, a); ok {
		t.Error("a KFC1 entry was served")
	}
}

// N goroutines with their own handles (as processes would have) wanting the
// same key: fn runs once, with a lease far shorter than the computation (so
// renewal is what keeps the others waiting), and everyone gets its value.
func TestCachedComputesOnceAcrossHandles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k := NewKey("measure", "same")
	var calls atomic.Int64
	var wg sync.WaitGroup
	const n = 8
	got := make([]int, n)
	for i := range n {
		wg.Go(func() {
			c, _ := OpenDirCache(dir)
			c.LeaseTTL = 80 * time.Millisecond
			v, _, err := Cached(ctx, c, k, func(context.Context) (int, error) {
				calls.Add(1)
				time.Sleep(400 * time.Millisecond)
				return 100 + i, nil
			})
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("fn ran %d times, want once", calls.Load())
	}
	for i := range got {
		if got[i] != got[0] {
			t.Fatalf("callers disagree: %v", got)
		}
	}
	assertNoLocks(t, dir)
}

func assertNoLocks(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), lockSuffix) {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

// The helper process: computes KFORGE_TEST_KEY through Cached on the cache
// in KFORGE_TEST_CACHE, appending a line to KFORGE_TEST_CALLS for each call
// of fn. With KFORGE_TEST_HANG it takes the lock and hangs (to be killed).
func TestMain(m *testing.M) {
	if dir := os.Getenv("KFORGE_TEST_CACHE"); dir != "" {
		os.Exit(helper(dir))
	}
	os.Exit(m.Run())
}

func helper(dir string) int {
	ctx := context.Background()
	c, err := OpenDirCache(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if ms, _ := strconv.Atoi(os.Getenv("KFORGE_TEST_TTL_MS")); ms > 0 {
		c.LeaseTTL = time.Duration(ms) * time.Millisecond
	}
	k := NewKey("measure", os.Getenv("KFORGE_TEST_KEY"))
	if os.Getenv("KFORGE_TEST_HANG") != "" {
		if _, err := c.Lock(ctx, k); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("locked")
		time.Sleep(time.Hour)
	}
	v, _, err := Cached(ctx, c, k, func(context.Context) (string, error) {
		f, err := os.OpenFile(os.Getenv("KFORGE_TEST_CALLS"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(f, "%d\n", os.Getpid())
		f.Close()
		time.Sleep(500 * time.Millisecond)
		return fmt.Sprintf("computed by %d", os.Getpid()), nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(v)
	return 0
}

func helperCmd(t *testing.T, dir, calls string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"KFORGE_TEST_CACHE=" + dir, "KFORGE_TEST_CALLS=" + calls, "KFORGE_TEST_KEY=shared"}, env...)...)
	return cmd
}

// Two processes computing the same key: one computes, the other waits for
// it and reads its value.
func TestCachedComputesOnceAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(t.TempDir(), "calls")
	var outs [2]bytes.Buffer
	var cmds [2]*exec.Cmd
	for i := range cmds {
		cmds[i] = helperCmd(t, dir, calls, "KFORGE_TEST_TTL_MS=200")
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range cmds {
		if err := cmds[i].Wait(); err != nil {
			t.Fatalf("helper %d: %v\n%s", i, err, outs[i].String())
		}
	}
	b, _ := os.ReadFile(calls)
	if n := strings.Count(string(b), "\n"); n != 1 {
		t.Fatalf("fn ran %d times in two processes, want once", n)
	}
	if outs[0].String() != outs[1].String() {
		t.Fatalf("the processes got different values: %q, %q", outs[0].String(), outs[1].String())
	}
	assertNoLocks(t, dir)
}

// A holder killed with SIGKILL leaves its lock; once the lease has expired
// the next caller takes it over and computes.
func TestStaleLockIsTakenOver(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(t.TempDir(), "calls")
	hang := helperCmd(t, dir, calls, "KFORGE_TEST_TTL_MS=300", "KFORGE_TEST_HANG=1")
	out, _ := hang.StdoutPipe()
	if err := hang.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked\n"[:7] {
		t.Fatalf("helper did not lock: %q %v", buf, err)
	}
	hang.Process.Signal(syscall.SIGKILL)
	hang.Wait()
	c, _ := OpenDirCache(dir)
	c.LeaseTTL = 300 * time.Millisecond
	k := NewKey("measure", "shared")
	if _, err := os.Stat(c.path(k) + lockSuffix); err != nil {
		t.Fatalf("the killed holder left no lock: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	v, hit, err := Cached(ctx, c, k, func(context.Context) (string, error) { return "mine", nil })
	if err != nil || hit || v != "mine" {
		t.Fatalf("v=%q hit=%v err=%v", v, hit, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s to take over a lock with a 300ms lease", d)
	}
	// A dead holder of this host is known dead at once, whatever its lease.
	k3 := NewKey("measure", "dead")
	os.MkdirAll(filepath.Dir(c.path(k3)), 0o755)
	dead := exec.Command("true")
	dead.Run()
	b3, _ := json.Marshal(lease{Holder: fmt.Sprintf("%s-%d-00", hostTag(), dead.Process.Pid), Expires: time.Now().Add(time.Hour).UnixNano()})
	os.WriteFile(c.path(k3)+lockSuffix, b3, 0o644)
	start = time.Now()
	unlock3, err := c.Lock(ctx, k3)
	if err != nil || time.Since(start) > time.Second {
		t.Fatalf("a dead local holder's lock: %v after %s", err, time.Since(start))
	}
	unlock3()
	// A lock written by a holder whose lease ran out long ago (another
	// host: its pid means nothing here) is taken over at once.
	k2 := NewKey("measure", "other")
	os.MkdirAll(filepath.Dir(c.path(k2)), 0o755)
	b, _ := json.Marshal(lease{Holder: "elsewhere-1-00", Expires: time.Now().Add(-time.Hour).UnixNano()})
	os.WriteFile(c.path(k2)+lockSuffix, b, 0o644)
	unlock, err := c.Lock(ctx, k2)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	assertNoLocks(t, dir)
}

// A live lock is not taken over: the waiter waits for the holder's value.
func TestLiveLockIsWaitedFor(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c, _ := OpenDirCache(dir)
	c.LeaseTTL = 100 * time.Millisecond
	k := NewKey("measure", "x")
	unlock, err := c.Lock(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(500 * time.Millisecond) // five lease lifetimes, renewed
		c.Put(ctx, k, []byte(`"holder's"`))
		unlock()
	}()
	c2, _ := OpenDirCache(dir)
	c2.LeaseTTL = 100 * time.Millisecond
	v, hit, err := Cached(ctx, c2, k, func(context.Context) (string, error) { return "waiter's", nil })
	if err != nil || !hit || v != "holder's" {
		t.Fatalf("v=%q hit=%v err=%v: the waiter did not wait for the holder", v, hit, err)
	}
}

// Temporary files of a dead writer (its pid gone) and old ones are removed
// when the cache is opened; a live writer's are kept.
func TestOpenSweepsDeadWritersTempFiles(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "compile", "ab")
	os.MkdirAll(sub, 0o755)
	dead := exec.Command("true")
	dead.Run()
	deadPid := dead.Process.Pid
	me := hostTag()
	files := map[string]bool{ // name: removed
		".abcd" + tmpMarker + me + "-" + strconv.Itoa(deadPid) + "-123":       true,
		".abcd" + tmpMarker + me + "-" + strconv.Itoa(os.Getpid()) + "-456":   false,
		".abcd" + tmpMarker + "otherhost-" + strconv.Itoa(os.Getpid()) + "-7": false,
		".old" + tmpMarker + "otherhost-1-8":                                  true,
		"abcd":                                                                false,
	}
	for name := range files {
		os.WriteFile(filepath.Join(sub, name), []byte("x"), 0o644)
	}
	old := time.Now().Add(-2 * TempMaxAge)
	os.Chtimes(filepath.Join(sub, ".old"+tmpMarker+"otherhost-1-8"), old, old)
	if _, err := OpenDirCache(dir); err != nil {
		t.Fatal(err)
	}
	for name, removed := range files {
		_, err := os.Stat(filepath.Join(sub, name))
		if gone := errors.Is(err, os.ErrNotExist); gone != removed {
			t.Errorf("%s: removed=%v, want %v", name, gone, removed)
		}
	}
}

// failingCache fails every Put, as a full disk would.
type failingCache struct{ *MemCache }

func (failingCache) Put(context.Context, Key, []byte) error {
	return &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}
}

// A Put that fails (ENOSPC in the cache itself) is not a result: the value
// comes back with ErrNotStored, nothing is kept, and the next call computes.
func TestCachedPutFailureIsNotAResult(t *testing.T) {
	ctx := context.Background()
	c := failingCache{NewMemCache()}
	k := NewKey("compile", 1)
	v, hit, err := Cached(ctx, c, k, func(context.Context) (int, error) { return 42, nil })
	if !errors.Is(err, ErrNotStored) || !errors.Is(err, syscall.ENOSPC) || v != 42 || hit {
		t.Fatalf("v=%d hit=%v err=%v", v, hit, err)
	}
	if _, ok, _ := c.Get(ctx, k); ok {
		t.Fatal("stored")
	}
}

// TestSweepTempDir: a temporary directory (a clone, say) left by a killed
// maker is removed with everything in it; a live maker's, another host's
// recent one and anything not temporary stay.
func TestSweepTempDir(t *testing.T) {
	dir := t.TempDir()
	dead := exec.Command("true")
	dead.Run()
	me := hostTag()
	dirs := map[string]bool{ // name: removed
		".clone" + tmpMarker + me + "-" + strconv.Itoa(dead.Process.Pid) + "-1": true,
		".clone" + tmpMarker + me + "-" + strconv.Itoa(os.Getpid()) + "-2":      false,
		".clone" + tmpMarker + "otherhost-" + strconv.Itoa(os.Getpid()) + "-3":  false,
		"mirror.git": false,
	}
	for name := range dirs {
		os.MkdirAll(filepath.Join(dir, name, "objects"), 0o755)
		os.WriteFile(filepath.Join(dir, name, "objects", "pack"), []byte("x"), 0o644)
	}
	if n := SweepTempDir(dir, TempMaxAge); n != 1 {
		t.Errorf("removed %d, want 1", n)
	}
	for name, removed := range dirs {
		_, err := os.Stat(filepath.Join(dir, name))
		if gone := errors.Is(err, os.ErrNotExist); gone != removed {
			t.Errorf("%s: removed=%v, want %v", name, gone, removed)
		}
	}
	// MkdirTemp's names are the ones the sweep knows.
	tmp, err := MkdirTemp(dir, "clone")
	if err != nil || !IsTempName(filepath.Base(tmp)) {
		t.Fatalf("MkdirTemp: %s %v", tmp, err)
	}
	if _, _, ok := tempOwner(filepath.Base(tmp)); !ok {
		t.Fatalf("%s: no owner in its name", tmp)
	}
}
