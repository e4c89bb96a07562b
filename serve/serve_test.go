package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kforge/datasets"
	"kforge/shards"
)

func post(t testing.TB, url string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	resp, err := http.Post(url, "application/json", rd)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %d: not JSON: %q", url, resp.StatusCode, raw)
	}
	return resp.StatusCode, m, resp.Header
}

func TestRewardScore(t *testing.T) {
	r := RewardConfig{Rejected: 0, Correct: 0.1, Quarantined: 0.1, Unverified: 0, KeptBase: 0.2, SpeedupScale: 1}
	timing := &datasets.Timing{RefMedian: 2, CandMedian: 1}
	pass := []datasets.RunResult{{Who: "candidate", Pass: true}}
	for _, c := range []struct {
		name string
		vd   datasets.Verdict
		want float64
		rule string
	}{
		{"rejected gate", datasets.Verdict{Status: datasets.StatusRejected, RejectedBy: "gate/include"}, 0, RuleRejected},
		{"wrong", datasets.Verdict{Status: datasets.StatusRejected, Compile: datasets.CompileResult{OK: true}, Correctness: []datasets.RunResult{{Who: "candidate"}}}, 0, RuleRejected},
		{"not faster", datasets.Verdict{Status: datasets.StatusRejected, Compile: datasets.CompileResult{OK: true}, Correctness: pass, Timing: timing, Speedup: 1.01}, 0.1, RuleCorrect},
		{"kept 2x", datasets.Verdict{Status: datasets.StatusKept, Speedup: 2}, 0.2 + math.Log(2), RuleKept},
		{"kept above ceiling capped", datasets.Verdict{Status: datasets.StatusKept, Speedup: 50}, 0.2 + math.Log(10), RuleKept},
		{"quarantined", datasets.Verdict{Status: datasets.StatusQuarantined, Speedup: 50}, 0.1, RuleQuarantined},
		{"unverified", datasets.Verdict{Status: datasets.StatusUnverified}, 0, RuleUnverified},
	} {
		got, rule := r.Score(&c.vd, 10)
		if math.Abs(got-c.want) > 1e-12 || rule != c.rule {
			t.Errorf("%s: %v %s, want %v %s", c.name, got, rule, c.want, c.rule)
		}
	}
}

// TestHTTPEpisode drives one episode over HTTP: prompt, a correct-not-faster
// turn with feedback, a kept turn that ends it, and the recorded shard.
func TestHTTPEpisode(t *testing.T) {
	ts := startServer(t, &scripted{}, nil)
	code, m, _ := post(t, ts.url+"/reset", map[string]any{"task_id": "task03", "seed": 7})
	if code != 200 {
		t.Fatalf("reset %d %v", code, m)
	}
	obs := m["observation"].(map[string]any)
	ep := obs["episode_id"].(string)
	if obs["task_id"] != "task03" || len(obs["prompt"].([]any)) != 2 || m["done"] != false || m["reward"] != nil {
		t.Fatalf("reset answer %v", m)
	}
	code, m, _ = post(t, ts.url+"/step", map[string]any{"episode_id": ep, "action": map[string]any{"completion": answer("__global__ void k3(float* x) { x[0] = 2; } // SPEEDUP=1.01")}, "request_id": "r1"})
	if code != 200 || m["reward"].(float64) != 0.1 || m["done"] != false {
		t.Fatalf("step 1: %d %v", code, m)
	}
	obs = m["observation"].(map[string]any)
	if !strings.Contains(obs["feedback"].(string), "not-faster") || m["metadata"].(map[string]any)["reward_rule"] != RuleCorrect {
		t.Fatalf("step 1 observation %v", obs)
	}
	code, m, _ = post(t, ts.url+"/step", map[string]any{"episode_id": ep, "action": map[string]any{"region": "__global__ void k3(float* x) { x[0] = 3; } // SPEEDUP=2"}})
	if code != 200 || math.Abs(m["reward"].(float64)-(0.2+math.Log(2))) > 1e-9 || m["done"] != true {
		t.Fatalf("step 2: %d %v", code, m)
	}
	code, m, _ = post(t, ts.url+"/step", map[string]any{"episode_id": ep, "action": map[string]any{"region": "x"}})
	if code != 409 || m["code"] != CodeEpisodeDone {
		t.Fatalf("step after done: %d %v", code, m)
	}
	resp, err := http.Get(ts.url + "/state?episode_id=" + ep)
	if err != nil {
		t.Fatal(err)
	}
	var st State
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.StepCount != 2 || !st.Done || st.TaskID != "task03" {
		t.Fatalf("state %+v", st)
	}
	ts.stop(t)
	d, err := shards.Read(ts.rec.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Tasks) != 1 || len(d.Variants) != 2 || len(d.Verdicts) != 2 {
		t.Fatalf("shard: %d tasks %d variants %d verdicts", len(d.Tasks), len(d.Variants), len(d.Verdicts))
	}
	v0, v1 := d.Variants[0], d.Variants[1]
	if v1.Parent != v0.ID || v1.Round != 1 || len(v1.Messages) != 5 || v1.Messages[3].Role != "user" {
		t.Fatalf("refinement chain: %+v / %+v", v0, v1)
	}
	var extra map[string]any
	for _, vd := range d.Verdicts {
		json.Unmarshal(vd.Extra, &extra)
		if extra["episode_id"] != ep || extra["reward_rule"] == nil {
			t.Fatalf("verdict extra %s", vd.Extra)
		}
	}
}

func TestWebSocketEpisode(t *testing.T) {
	ts := startServer(t, &scripted{}, nil)
	c, send := wsSession(t, ts)
	m := send(map[string]any{"type": "reset", "data": map[string]any{"split": "train", "index": 1}})
	if m["type"] != "observation" {
		t.Fatalf("reset: %v", m)
	}
	if m := send(map[string]any{"type": "step", "data": map[string]any{"completion": "no code here"}}); m["type"] != "observation" || m["data"].(map[string]any)["reward"].(float64) != 0 {
		t.Fatalf("no-code step: %v", m)
	}
	if m := send(map[string]any{"type": "step", "data": map[string]any{"completion": answer("REJECT")}}); m["data"].(map[string]any)["metadata"].(map[string]any)["rejected_by"] != "gate/library-call" {
		t.Fatalf("gate step: %v", m)
	}
	if m := send(map[string]any{"type": "nonsense"}); m["type"] != "error" || m["data"].(map[string]any)["code"] != CodeUnknownType {
		t.Fatalf("unknown type: %v", m)
	}
	if err := c.WriteMessage(OpText, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, data, _ := c.ReadMessage(); !strings.Contains(string(data), CodeInvalidJSON) {
		t.Fatalf("invalid json: %s", data)
	}
	if m := send(map[string]any{"type": "state"}); m["type"] != "state" || m["data"].(map[string]any)["step_count"].(float64) != 2 {
		t.Fatalf("state: %v", m)
	}
	if err := c.WriteMessage(OpText, []byte(`{"type":"close"}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadMessage(); err == nil {
		t.Fatal("the server answered a close message")
	}
	ts.stop(t)
	if n := ts.rec.Episodes(); n != 1 {
		t.Fatalf("%d episodes recorded, want 1", n)
	}
}

// TestIdenticalCandidatesJudgedOnce: the same region from many episodes is
// prepared and measured once.
func TestIdenticalCandidatesJudgedOnce(t *testing.T) {
	j := &scripted{delay: 50 * time.Millisecond}
	ts := startServer(t, j, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, m, _ := post(t, ts.url+"/reset", map[string]any{"task_id": "task01"})
			ep := m["observation"].(map[string]any)["episode_id"]
			code, m, _ := post(t, ts.url+"/step", map[string]any{"episode_id": ep, "action": map[string]any{"region": "// SPEEDUP=3"}})
			if code != 200 || m["done"] != true {
				t.Errorf("step %d %v", code, m)
			}
		}()
	}
	wg.Wait()
	if p, ms := j.prepares.Load(), j.measures.Load(); p != 1 || ms != 1 {
		t.Fatalf("%d prepares, %d measures for 8 identical candidates, want 1 and 1", p, ms)
	}
}

func TestBackpressureAndLimits(t *testing.T) {
	j := &scripted{delay: 300 * time.Millisecond}
	ts := startServer(t, j, func(c *Config) { c.QueueSize = 1; c.MaxBodyBytes = 4096; c.MaxBatch = 4 })
	items := func(n int, tag string) map[string]any {
		var its []map[string]any
		for i := range n {
			its = append(its, map[string]any{"task_id": "task00", "region": fmt.Sprintf("// %s %d SPEEDUP=2", tag, i)})
		}
		return map[string]any{"items": its}
	}
	if code, m, h := post(t, ts.url+"/v1/rewards", items(3, "a")); code != 429 || m["code"] != CodeQueueFull || h.Get("Retry-After") == "" {
		t.Fatalf("over the queue: %d %v %v", code, m, h)
	}
	if code, m, _ := post(t, ts.url+"/v1/rewards", items(5, "b")); code != 413 {
		t.Fatalf("over max_batch: %d %v", code, m)
	}
	if code, m, _ := post(t, ts.url+"/reset", strings.Repeat(" ", 5000)); code != 413 || m["code"] != CodeTooLarge {
		t.Fatalf("oversized: %d %v", code, m)
	}
	if code, m, _ := post(t, ts.url+"/reset", "{bad"); code != 400 || m["code"] != CodeInvalidJSON {
		t.Fatalf("malformed: %d %v", code, m)
	}
	_, m, _ := post(t, ts.url+"/reset", map[string]any{})
	ep := m["observation"].(map[string]any)["episode_id"]
	for _, bad := range []map[string]any{
		{"episode_id": ep},
		{"episode_id": ep, "action": map[string]any{}},
		{"episode_id": ep, "action": map[string]any{"region": "a", "completion": "b"}},
		{"episode_id": ep, "action": map[string]any{"region": 7}},
		{"episode_id": ep, "action": map[string]any{"region": "a"}, "timeout_s": -1},
	} {
		if code, m, _ := post(t, ts.url+"/step", bad); code != 422 || m["code"] != CodeValidation {
			t.Errorf("%v: %d %v", bad, code, m)
		}
	}
	if code, m, _ := post(t, ts.url+"/step", map[string]any{"episode_id": ep, "action": map[string]any{"region": "// slow SPEEDUP=2"}, "timeout_s": 0.01}); code != 504 || m["code"] != CodeTimeout {
		t.Fatalf("timeout: %d %v", code, m)
	}
	if code, m, _ := post(t, ts.url+"/step", map[string]any{"episode_id": ep, "action": map[string]any{"region": "// other"}}); code != 409 || m["code"] != CodeInProgress {
		t.Fatalf("second step while judging: %d %v", code, m)
	}
	// The timed-out step went on and was recorded when the server drained.
	ts.stop(t)
	d, err := shards.Read(ts.rec.Dir())
	if err != nil || len(d.Verdicts) != 1 || d.Verdicts[0].Status != datasets.StatusKept {
		t.Fatalf("shard after timeout: %v %+v", err, d)
	}
}

func TestBearerToken(t *testing.T) {
	ts := startServer(t, &scripted{}, nil)
	// A second front with a token over the same environment and pool.
	h := (&Server{Env: ts.srv.Env, Pool: ts.srv.Pool, Config: ts.srv.Config, Token: "s3cret-token"}).Handler()
	for _, c := range []struct {
		path, auth string
		want       int
	}{{"/health", "", 200}, {"/metadata", "", 401}, {"/metadata", "Bearer wrong", 401}, {"/metadata", "Bearer s3cret-token", 200}} {
		req, _ := http.NewRequest("GET", c.path, nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		rw := &recorder{h: http.Header{}}
		h.ServeHTTP(rw, req)
		if rw.code != c.want || strings.Contains(rw.body.String(), "s3cret") {
			t.Errorf("%s %q: %d %s", c.path, c.auth, rw.code, rw.body.String())
		}
	}
}

type recorder struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(c int) { r.code = c }

// TestPythonRewardFunction runs the shipped kforge_reward.py (system
// python3, standard library only) against the server: TRL's reward_func
// and verl's compute_score give the server's rewards.
func TestPythonRewardFunction(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the shipped reward function cannot be exercised")
	}
	ts := startServer(t, &scripted{}, nil)
	script := `
import json, math, sys
sys.path.insert(0, sys.argv[1])
import kforge_reward as k
fence = "` + "```" + `"
comps = [[{"role": "assistant", "content": "ok\n" + fence + "cpp\n// SPEEDUP=2\n" + fence}], "no code", fence + "cpp\nREJECT\n" + fence]
r = k.reward_func(["p"] * 3, comps, task_id=["task00", "task01", "task02"])
spec = json.dumps({"id": "task05"})
s = k.compute_score("kforge", fence + "cpp\n// SPEEDUP=4\n" + fence, spec, {})
print(json.dumps({"trl": r, "verl": s}))
`
	cmd := exec.Command(py, "-c", script, filepath.Join("..", "python"))
	cmd.Env = append(os.Environ(), "KFORGE_SERVE_URL="+ts.url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	var got struct {
		TRL  []float64 `json:"trl"`
		Verl float64   `json:"verl"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := []float64{0.2 + math.Log(2), 0, 0}
	for i := range want {
		if len(got.TRL) != 3 || math.Abs(got.TRL[i]-want[i]) > 1e-9 {
			t.Fatalf("reward_func %v, want %v", got.TRL, want)
		}
	}
	if math.Abs(got.Verl-(0.2+math.Log(4))) > 1e-9 {
		t.Fatalf("compute_score %v", got.Verl)
	}
	ts.stop(t)
	if n := ts.rec.Episodes(); n != 4 {
		t.Fatalf("%d batch episodes recorded, want 4", n)
	}
}

// TestDoneSessionsFreeCapacity: finished HTTP episodes do not hold
// session slots against new resets; open ones do (CAPACITY_REACHED).
func TestDoneSessionsFreeCapacity(t *testing.T) {
	ts := startServer(t, &scripted{}, func(c *Config) { c.MaxSessions = 2 })
	for i := range 4 {
		code, m, _ := post(t, ts.url+"/reset", map[string]any{"index": i})
		if code != 200 {
			t.Fatalf("reset %d: %d %v", i, code, m)
		}
		ep := m["observation"].(map[string]any)["episode_id"]
		if code, m, _ := post(t, ts.url+"/step", map[string]any{"episode_id": ep, "action": map[string]any{"region": fmt.Sprintf("// %d SPEEDUP=2", i)}}); code != 200 || m["done"] != true {
			t.Fatalf("step %d: %d %v", i, code, m)
		}
	}
	post(t, ts.url+"/reset", map[string]any{})
	post(t, ts.url+"/reset", map[string]any{})
	if code, m, h := post(t, ts.url+"/reset", map[string]any{}); code != 429 || m["code"] != CodeCapacity || h.Get("Retry-After") == "" {
		t.Fatalf("third open session: %d %v", code, m)
	}
}
