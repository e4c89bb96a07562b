package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kforge/datasets"
	"kforge/filters/verify"
)

// Red-team tests: each is a hole found by attacking the service as a
// network client or a reward-hungry policy, kept as a regression test.

// TestRedBatchTimeoutDoesNotRace: a batch whose wait times out answers
// "still being judged" for the item while the judgement goes on; the
// judgement finishing later must not write into the answer being encoded
// (go test -race finds the shared write).
func TestRedBatchTimeoutDoesNotRace(t *testing.T) {
	j := &scripted{delay: 30 * time.Millisecond}
	ts := startServer(t, j, nil)
	for i := range 4 {
		items := []map[string]any{}
		for k := range 8 {
			items = append(items, map[string]any{"task_id": "task00", "region": strings.Repeat("x", i) + "// SPEEDUP=2 " + string(rune('a'+k)), "id": "i"})
		}
		// The wait ends around when the judgements do.
		code, m, _ := post(t, ts.url+"/v1/rewards", map[string]any{"items": items, "timeout_s": 0.03 + 0.01*float64(i)})
		if code != 200 {
			t.Fatalf("batch: %d %v", code, m)
		}
		for _, r := range m["results"].([]any) {
			r := r.(map[string]any)
			if _, timedOut := r["error"]; !timedOut && r["reward"] == nil {
				t.Errorf("an item with neither a reward nor an error: %v", r)
			}
		}
	}
	time.Sleep(100 * time.Millisecond)
}

// TestRedWebSocketResetCannotTakeOverAnotherEpisode: a WebSocket session
// that resets with the episode_id of another client's open HTTP episode
// must not replace it (its steps would go to the WebSocket's episode, and
// the HTTP episode's judged turns would never be recorded).
func TestRedWebSocketResetCannotTakeOverAnotherEpisode(t *testing.T) {
	ts := startServer(t, &scripted{}, nil)
	_, m, _ := post(t, ts.url+"/reset", map[string]any{"task_id": "task02"})
	victim := m["observation"].(map[string]any)["episode_id"].(string)
	if code, m, _ := post(t, ts.url+"/step", map[string]any{"episode_id": victim, "action": map[string]any{"region": "// WRONG"}}); code != 200 {
		t.Fatalf("victim's step: %d %v", code, m)
	}

	c, send := wsSession(t, ts)
	// The attacker's own episode first, then a reset naming the victim's.
	if m := send(map[string]any{"type": "reset", "data": map[string]any{"task_id": "task05"}}); m["type"] != "observation" {
		t.Fatalf("attacker's reset: %v", m)
	}
	if m := send(map[string]any{"type": "reset", "data": map[string]any{"task_id": "task05", "episode_id": victim}}); m["type"] != "error" {
		t.Errorf("a WebSocket reset took over the open episode %s: %v", victim, m)
	}
	// The victim's episode is still its own: its task, its turn.
	resp, err := getJSON(ts.url + "/state?episode_id=" + victim)
	if err != nil {
		t.Fatal(err)
	}
	if resp["task_id"] != "task02" || resp["step_count"].(float64) != 1 {
		t.Errorf("victim's state after the attack: %v", resp)
	}
	c.Close()
	ts.stop(t)
	if n := ts.rec.Episodes(); n != 1 {
		t.Errorf("%d episodes recorded, want the victim's (1)", n)
	}
}

func getJSON(url string) (map[string]any, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %d: %w", url, resp.StatusCode, err)
	}
	return m, nil
}

// TestRedHeldOutSizesStayHidden: what the prompt and feedback hide (the
// times of a held-out size, its name and arguments in a verdict's reason)
// is not shown by an observation, /state or a batch answer either.
func TestRedHeldOutSizesStayHidden(t *testing.T) {
	tasks := testTasks(2)
	// Every size of task00 is held out: the timed size is one of them.
	for i := range tasks[0].Sizes {
		tasks[0].Sizes[i].Hidden = true
		tasks[0].Sizes[i].Args = []string{"--secret-m", "4099"}
	}
	ts := startServerTasks(t, &scripted{}, nil, tasks)
	_, m, _ := post(t, ts.url+"/reset", map[string]any{"task_id": "task00"})
	ep := m["observation"].(map[string]any)["episode_id"].(string)
	code, m, _ := post(t, ts.url+"/step", map[string]any{"episode_id": ep, "action": map[string]any{"region": "// SPEEDUP=1.01"}})
	if code != 200 {
		t.Fatalf("step: %d %v", code, m)
	}
	vd := m["observation"].(map[string]any)["verdict"].(map[string]any)
	if _, ok := vd["reference_ms"]; ok {
		t.Errorf("the observation shows the held-out size's reference time: %v", vd)
	}
	st, err := getJSON(ts.url + "/state?episode_id=" + ep)
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := json.Marshal(st); strings.Contains(string(raw), "reference_ms") {
		t.Errorf("/state shows the held-out size's reference time: %s", raw)
	}
	// A wrong result's reason names the size and its arguments.
	code, m, _ = post(t, ts.url+"/v1/rewards", map[string]any{"items": []map[string]any{{"task_id": "task00", "region": "// WRONG"}}})
	if code != 200 {
		t.Fatalf("batch: %d %v", code, m)
	}
	if raw, _ := json.Marshal(m); strings.Contains(string(raw), "size a seed") || strings.Contains(string(raw), "4099") {
		t.Errorf("the batch answer names a held-out size or its arguments: %s", raw)
	}
}

// TestRedIdleAndSlowConnectionsEnd: a client that holds a connection
// without using it (an idle keep-alive after /health, which needs no token;
// a body that never arrives; a WebSocket that never speaks) does not hold
// it forever: each is a file descriptor and a goroutine, and enough of them
// starve the judge.
func TestRedIdleAndSlowConnectionsEnd(t *testing.T) {
	ts := startServer(t, &scripted{}, func(c *Config) { c.SessionTimeout = 300 * time.Millisecond })
	// A front with short timeouts over the server's environment and pool.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := &Server{Env: ts.srv.Env, Pool: ts.srv.Pool, Config: ts.srv.Config, IdleTimeout: 300 * time.Millisecond, BodyTimeout: 300 * time.Millisecond}
	hs := front.httpServer()
	go hs.Serve(ln)
	defer hs.Close()
	addr := ln.Addr().String()

	closedWithin := func(name string, c net.Conn, d time.Duration) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(d))
		buf := make([]byte, 4096)
		for {
			_, err := c.Read(buf)
			if err == nil {
				continue
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("%s: the server still holds the connection after %v", name, d)
			}
			return
		}
	}
	// An idle keep-alive connection after an unauthenticated /health.
	c1, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	fmt.Fprintf(c1, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
	closedWithin("idle keep-alive", c1, 3*time.Second)

	// A body announced and never sent.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	fmt.Fprintf(c2, "POST /reset HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"task_id\"")
	closedWithin("slow body", c2, 3*time.Second)

	// A WebSocket that never sends a message.
	ws, err := DialWebSocket(context.Background(), "ws://"+addr+"/ws", nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.NetConn().SetReadDeadline(time.Now().Add(3 * time.Second))
	_, _, err = ws.ReadMessage()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("idle WebSocket: the server still holds it after 3s")
	}
}

// panicky is a verifier whose CPU step or measurement panics, as a bug
// on an unforeseen input would.
type panicky struct{ scripted }

func (p *panicky) Prepare(ctx context.Context, t *datasets.Task, c *datasets.Variant) (*verify.Prepared, error) {
	if strings.Contains(c.Region, "PANIC-PREPARE") {
		panic("prepare bug")
	}
	return p.scripted.Prepare(ctx, t, c)
}

func (p *panicky) Measure(ctx context.Context, pr *verify.Prepared) (datasets.Verdict, error) {
	if strings.Contains(pr.Variant.Region, "PANIC-MEASURE") {
		panic("measure bug")
	}
	return p.scripted.Measure(ctx, pr)
}

// TestRedVerifierPanicIsAFailureNotACrash: a panic while judging one
// candidate is that candidate's machine failure (no verdict, not cached),
// not the end of the server and every episode in it.
func TestRedVerifierPanicIsAFailureNotACrash(t *testing.T) {
	pool := NewPool(&panicky{}, 2, 8, time.Minute)
	defer pool.Close(context.Background())
	tasks := testTasks(1)
	for _, region := range []string{"// PANIC-PREPARE", "// PANIC-MEASURE"} {
		v := &datasets.Variant{ID: region, TaskID: tasks[0].ID, Region: region}
		if _, _, err := pool.Judge(context.Background(), &tasks[0], v); err == nil || !strings.Contains(err.Error(), "panic") {
			t.Errorf("%s: %v, want a failure naming the panic", region, err)
		}
	}
	v := &datasets.Variant{ID: "ok", TaskID: tasks[0].ID, Region: "// SPEEDUP=2"}
	if vd, _, err := pool.Judge(context.Background(), &tasks[0], v); err != nil || vd.Status != datasets.StatusKept {
		t.Errorf("after the panics: %v %v", vd.Status, err)
	}
}

// TestRedPythonClientKeepsTheTokenOnItsServer: kforge_reward.py sends the
// bearer token to KFORGE_SERVE_URL only. urllib follows redirects with
// every header but the body's, so a redirect (a proxy, a moved or hostile
// endpoint) sent KFORGE_SERVE_TOKEN to whatever host it named.
func TestRedPythonClientKeepsTheTokenOnItsServer(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the shipped reward function cannot be exercised")
	}
	var mu sync.Mutex
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		leaked = append(leaked, r.Method+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"results": [{"reward": 1.0}]}`)
	}))
	defer other.Close()
	for _, code := range []int{302, 307, 308} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, code)
		}))
		script := "import sys\nsys.path.insert(0, sys.argv[1])\nimport kforge_reward as k\ntry:\n    print(k.rewards(['task00'], ['x'], timeout=5))\nexcept Exception as e:\n    print('error:', e)\n"
		cmd := exec.Command(py, "-c", script, filepath.Join("..", "python"))
		cmd.Env = append(os.Environ(), "KFORGE_SERVE_URL="+redirector.URL, "KFORGE_SERVE_TOKEN=s3cret-serve-token")
		out, err := cmd.CombinedOutput()
		redirector.Close()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, out)
		}
		if !strings.HasPrefix(string(out), "error:") {
			t.Errorf("redirect %d: the client took another server's answer: %s", code, out)
		}
		mu.Lock()
		for _, l := range leaked {
			if strings.Contains(l, "s3cret") {
				t.Errorf("redirect %d: the token reached another server (%s); python said %s", code, l, strings.TrimSpace(string(out)))
			}
		}
		leaked = nil
		mu.Unlock()
	}
}
