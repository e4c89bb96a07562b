//go:build hosttest

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"kforge/configs"
	"kforge/datasets"
	"kforge/serve"
	pq "kforge/sinks/parquet"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestServeHostTestEndToEnd: kforge serve on the host-test backend over the
// poly fixture. A client drives episodes over HTTP and WebSocket and the
// batch endpoint (through the shipped Python reward function); every reward
// equals the reward of `kforge verify`'s verdict on the same candidate; after
// SIGTERM's drain the recorded episodes export to a release DuckDB reads.
func TestServeHostTestEndToEnd(t *testing.T) {
	for _, tool := range []string{"c++", "node"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: the fixture needs it", tool)
		}
	}
	root := t.TempDir()
	tasks, _ := filepath.Abs(filepath.Join(fixtures, "tasks.jsonl"))
	cands, _ := filepath.Abs(filepath.Join(fixtures, "candidates"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	recipe := filepath.Join(root, "serve.yaml")
	writeFile(t, recipe, fmt.Sprintf(`name: serve-e2e
out: %[1]s/out
cache_dir: %[1]s/cache
sources:
  repos:
    - url: %[1]s/unused
      kind: hip-program
model:
  model: policy
verify:
  backend: host-test
  repetitions: 3
  max_speedup: 100
  compile_workers: 1
dataset:
  heldout_fraction: 0
  replay:
    fraction: 0
serve:
  listen: %[2]s
  tasks: %[3]s
  max_turns: 3
  flush_interval: 1h
`, root, addr, tasks))
	cfg, err := configs.Load(recipe)
	if err != nil {
		t.Fatal(err)
	}
	// kforge verify's verdicts first (same cache: compiles and measurements
	// are content-addressed, so the service reaches the same verdicts).
	names := []string{"single", "horner", "blas", "oob"}
	want := map[string]float64{}
	rules := map[string]string{}
	for _, n := range names {
		code, stdout, stderr := runCLI(t, nil, "verify", "-c", recipe, "--tasks", tasks, "--candidate", filepath.Join(cands, n+".hip"))
		if code != exitOK {
			t.Fatalf("verify %s: %d %s", n, code, stderr)
		}
		var vd datasets.Verdict
		if err := json.Unmarshal([]byte(stdout), &vd); err != nil {
			t.Fatal(err)
		}
		want[n], rules[n] = cfg.Serve.Reward.Score(&vd, cfg.Verify.MaxSpeedup)
		t.Logf("verify %s: %s %s speedup %.3g -> reward %.4f (%s)", n, vd.Status, vd.RejectedBy, vd.Speedup, want[n], rules[n])
	}
	if rules["single"] != serve.RuleKept || rules["blas"] != serve.RuleRejected {
		t.Fatalf("fixture verdicts changed: %v", rules)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuf
	e := &env{stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() { done <- run(ctx, e, []string{"serve", "-c", recipe}) }()
	url := "http://" + addr
	for i := 0; ; i++ {
		if r, err := http.Get(url + "/health"); err == nil {
			r.Body.Close()
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
		if i > 1200 {
			t.Fatalf("serve did not start: %s", stderr.String())
		}
	}
	region := func(n string) string {
		b, err := os.ReadFile(filepath.Join(cands, n+".hip"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	postJSON := func(path string, body any) map[string]any {
		raw, _ := json.Marshal(body)
		r, err := http.Post(url+path, "application/json", bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var m map[string]any
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 || json.Unmarshal(b, &m) != nil {
			t.Fatalf("%s: %d %s", path, r.StatusCode, b)
		}
		return m
	}
	check := func(what, cand string, reward any) {
		t.Helper()
		got, ok := reward.(float64)
		if !ok || math.Abs(got-want[cand]) > 1e-9 {
			t.Errorf("%s: reward %v, kforge verify's verdict gives %v", what, reward, want[cand])
		}
	}
	// HTTP: a rejected candidate, then a kept one.
	m := postJSON("/reset", map[string]any{"index": 0})
	ep := m["observation"].(map[string]any)["episode_id"]
	m = postJSON("/step", map[string]any{"episode_id": ep, "action": map[string]any{"completion": "```cpp\n" + region("blas") + "```"}})
	check("http blas", "blas", m["reward"])
	m = postJSON("/step", map[string]any{"episode_id": ep, "action": map[string]any{"region": region("single")}, "timeout_s": 600})
	check("http single", "single", m["reward"])
	if m["done"] != true {
		t.Errorf("a kept candidate did not end the episode: %v", m)
	}
	// WebSocket: out of bounds, then horner.
	c, err := serve.DialWebSocket(context.Background(), "ws://"+addr+"/ws", nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ws := func(msg any) map[string]any {
		b, _ := json.Marshal(msg)
		if err := c.WriteMessage(serve.OpText, b); err != nil {
			t.Fatal(err)
		}
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(data, &m)
		if m["type"] == "error" {
			t.Fatalf("websocket: %s", data)
		}
		return m["data"].(map[string]any)
	}
	ws(map[string]any{"type": "reset", "data": map[string]any{"seed": 3}})
	d := ws(map[string]any{"type": "step", "data": map[string]any{"region": region("oob")}})
	check("ws oob", "oob", d["reward"])
	if fb, _ := d["observation"].(map[string]any)["feedback"].(string); fb == "" {
		t.Error("no verifier feedback for the next turn")
	}
	d = ws(map[string]any{"type": "step", "data": map[string]any{"region": region("horner")}})
	check("ws horner", "horner", d["reward"])
	c.Close()
	// The shipped Python reward function, through POST /v1/rewards.
	var task datasets.Task
	raw, _ := os.ReadFile(tasks)
	json.Unmarshal(bytes.SplitN(raw, []byte("\n"), 2)[0], &task)
	if py, err := exec.LookPath("python3"); err != nil {
		t.Log("python3 is not installed: the Python reward function is not exercised here")
	} else {
		fence := "```"
		script := fmt.Sprintf(`
import json, sys
sys.path.insert(0, %q)
import kforge_reward as k
comps = json.load(sys.stdin)
print(json.dumps(k.reward_func(["p"] * len(comps), comps, task_id=[%q] * len(comps))))
`, mustAbs(t, "../../python"), task.ID)
		comps, _ := json.Marshal([]string{fence + "cpp\n" + region("horner") + fence, fence + "cpp\n" + region("blas") + fence})
		cmd := exec.Command(py, "-c", script)
		cmd.Env = append(os.Environ(), "KFORGE_SERVE_URL="+url)
		cmd.Stdin = bytes.NewReader(comps)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, out)
		}
		var rs []any
		if err := json.Unmarshal(out, &rs); err != nil || len(rs) != 2 {
			t.Fatalf("python answered %s", out)
		}
		check("python horner", "horner", rs[0])
		check("python blas", "blas", rs[1])
	}
	// SIGTERM: the server drains and writes its shard.
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("serve did not drain")
	}
	if m := regexp.MustCompile(`(?i)token`).FindString(stderr.String()); m != "" {
		t.Logf("stderr mentions %q (no token was configured)", m)
	}
	rel := filepath.Join(root, "release")
	code, stdout, errOut := runCLI(t, nil, "export", "--from", filepath.Join(root, "out", "serve"), "--out", rel, "-c", recipe)
	if code != exitOK {
		t.Fatalf("export: %d %s", code, errOut)
	}
	splits := map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var key string
		var n int64
		if _, err := fmt.Sscanf(l, "%s %d rows", &key, &n); err != nil || !strings.Contains(key, "/") {
			continue
		}
		var cols []string
		for _, f := range pq.Schema(strings.Split(key, "/")[0]).Fields() {
			cols = append(cols, f.Name)
		}
		splits[key] = map[string]any{"rows": n, "columns": cols}
	}
	if _, ok := splits["sft/train"]; !ok {
		t.Fatalf("no sft rows from the kept candidates: %s", stdout)
	}
	if _, ok := splits["pairs/train"]; !ok {
		t.Fatalf("no pairs rows: %s", stdout)
	}
	ef := filepath.Join(root, "expect.json")
	b, _ := json.Marshal(map[string]any{"splits": splits})
	writeFile(t, ef, string(b))
	cmd := exec.Command("node", mustAbs(t, "../../scripts/duckdb-check.mjs"), rel, ef)
	cmd.Dir = mustAbs(t, "../..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("duckdb: %v\n%s", err, out)
	} else {
		t.Logf("duckdb: %s", out)
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
