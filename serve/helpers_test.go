package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kforge/datasets"
	"kforge/filters/verify"
	"kforge/shards"
	"kforge/sources/model"
)

// scripted is an instant judge at the GPU boundary: a region containing
// "REJECT" fails the gate (CPU step); "WRONG" fails correctness; otherwise
// "SPEEDUP=x" is measured at x (kept from 1.05, quarantined above 10).
type scripted struct {
	prepares atomic.Int64
	measures atomic.Int64
	delay    time.Duration // each measurement's time
	prep     time.Duration // each Prepare's time (a compile)
	gpus     int
}

var speedRe = regexp.MustCompile(`SPEEDUP=([0-9.]+)`)

func (s *scripted) GPUs() int { return max(s.gpus, 1) }

func (s *scripted) Prepare(ctx context.Context, t *datasets.Task, c *datasets.Variant) (*verify.Prepared, error) {
	s.prepares.Add(1)
	if s.prep > 0 {
		select {
		case <-time.After(s.prep):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p := &verify.Prepared{Task: t, Variant: c, Verdict: datasets.Verdict{VariantID: c.ID, TaskID: t.ID, Backend: "scripted", Device: datasets.Device{Name: "scripted"}}}
	switch {
	case c.Rejected != "":
		p.Verdict.Status, p.Verdict.RejectedBy, p.Verdict.Reason = datasets.StatusRejected, "extract", c.Rejected
	case regexp.MustCompile("REJECT").MatchString(c.Region):
		p.Verdict.Status, p.Verdict.RejectedBy = datasets.StatusRejected, "gate/library-call"
		p.Verdict.Splice.OK = true
		p.Verdict.Gate = datasets.Check{Rule: "library-call", Detail: "scripted"}
	}
	return p, nil
}

func (s *scripted) Measure(ctx context.Context, p *verify.Prepared) (datasets.Verdict, error) {
	s.measures.Add(1)
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return datasets.Verdict{}, ctx.Err()
		}
	}
	vd := p.Verdict
	vd.Gate.OK, vd.Splice.OK, vd.Compile.OK = true, true, true
	if regexp.MustCompile("WRONG").MatchString(p.Variant.Region) {
		vd.Status, vd.RejectedBy = datasets.StatusRejected, "wrong-result"
		// As the runner words it: the size, the seed and the command's arguments.
		sz := p.Task.Sizes[0]
		vd.Reason = fmt.Sprintf("size %s seed s0: %s: outputs differ", sz.Name, strings.Join(sz.Args, " "))
		vd.Correctness = []datasets.RunResult{{Size: "a", Who: "candidate", Pass: false, Exit: 1}}
		return vd, nil
	}
	x := 1.0
	if m := speedRe.FindStringSubmatch(p.Variant.Region); m != nil {
		x, _ = strconv.ParseFloat(m[1], 64)
	}
	vd.Correctness = []datasets.RunResult{{Size: "a", Who: "candidate", Pass: true}, {Size: "a", Who: "reference", Pass: true}}
	vd.Timing = &datasets.Timing{Source: "scripted", Size: "a", RefMedian: x, CandMedian: 1}
	vd.Speedup = x
	switch {
	case x > 10:
		vd.Status, vd.RejectedBy = datasets.StatusQuarantined, "implausible"
	case x >= 1.05:
		vd.Status = datasets.StatusKept
	default:
		vd.Status, vd.RejectedBy = datasets.StatusRejected, "not-faster"
	}
	return vd, nil
}

// prompter renders like the model source: a system and user turn, then the
// parent's conversation with a feedback turn.
type prompter struct{}

func (prompter) PromptVersion(kind string) (string, error) { return kind + "/vtest", nil }

func (prompter) Conversation(req model.Request) ([]datasets.Message, error) {
	if req.Round == 0 {
		return []datasets.Message{{Role: "system", Content: "You write HIP kernels."}, {Role: "user", Content: "Make " + req.Task.Name + " faster.\n```cpp\n" + req.Task.Region.Text + "```"}}, nil
	}
	return append(append([]datasets.Message(nil), req.Parent.Messages...), datasets.Message{Role: "user", Content: fmt.Sprintf("Verdict: %s %s speedup %.3g", req.Verdict.Status, req.Verdict.RejectedBy, req.Verdict.Speedup)}), nil
}

func testTasks(n int) []datasets.Task {
	var ts []datasets.Task
	for i := range n {
		t := datasets.Task{Kind: datasets.KindHIPProgram, Name: fmt.Sprintf("k%d/kernel", i), Op: "vector_add",
			Region: datasets.Region{File: "main.hip", Text: fmt.Sprintf("__global__ void k%d(float* x) { x[0] = 1; }\n", i), Kind: "hip-kernels"},
			Sizes:  []datasets.Size{{Name: "a"}, {Name: "b"}, {Name: "c"}}}
		t.ID = fmt.Sprintf("task%02d", i)
		ts = append(ts, t)
	}
	return ts
}

func answer(region string) string { return "Here it is.\n\n```cpp\n" + region + "\n```\n" }

type testServer struct {
	srv    *Server
	url    string
	cancel context.CancelFunc
	done   chan error
	judge  *scripted
	rec    *Recorder
	dir    string
	once   sync.Once
}

// startServer runs a server with the scripted judge on a loopback port.
func startServer(t testing.TB, judge *scripted, mut func(*Config)) *testServer {
	t.Helper()
	return startServerTasks(t, judge, mut, testTasks(8))
}

// startServerTasks is startServer over tasks.
func startServerTasks(t testing.TB, judge *scripted, mut func(*Config), tasks []datasets.Task) *testServer {
	t.Helper()
	// The recipe's defaults (configs cannot be imported here: it imports serve).
	cfg := Config{Listen: "127.0.0.1:0", MaxTurns: 4, StopWhenKept: true, MaxSessions: 64, QueueSize: 256,
		StepTimeout: time.Minute, SessionTimeout: 30 * time.Minute, DrainTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20, MaxBatch: 256,
		Reward: RewardConfig{Correct: 0.1, Quarantined: 0.1, KeptBase: 0.2, SpeedupScale: 1}}
	cfg.FlushInterval = time.Hour
	if mut != nil {
		mut(&cfg)
	}
	dir := t.TempDir()
	rec, err := OpenRecorder(dir+"/shards/serve-test", &shards.Lineage{Build: "test"})
	if err != nil {
		t.Fatal(err)
	}
	pool := NewPool(judge, 4, cfg.QueueSize, cfg.StepTimeout)
	env, err := NewEnv(cfg, Options{Tasks: tasks, Prompts: prompter{}, Pool: pool, Recorder: rec, MaxSpeedup: 10, Version: "test", Backend: "scripted",
		Extract: func(c, th, ref string) (string, string, string) { return model.ExtractRegion(c, th, ref, false, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Env: env, Pool: pool, Recorder: rec, Config: cfg}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{srv: srv, url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1), judge: judge, rec: rec, dir: dir}
	go func() { ts.done <- srv.Run(ctx, ln) }()
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop drains the server (as SIGTERM does) and returns Run's error.
func (ts *testServer) stop(t testing.TB) {
	ts.once.Do(func() {
		ts.cancel()
		select {
		case err := <-ts.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(time.Minute):
			t.Error("server did not drain in a minute")
		}
	})
}

var _ http.Handler = (*http.ServeMux)(nil)

// wsSession opens a WebSocket session on ts; send writes one message and
// returns the decoded answer. The connection closes with the test.
func wsSession(t *testing.T, ts *testServer) (*WSConn, func(v any) map[string]any) {
	t.Helper()
	c, err := DialWebSocket(context.Background(), strings.Replace(ts.url, "http", "ws", 1)+"/ws", nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	send := func(v any) map[string]any {
		b, _ := json.Marshal(v)
		if err := c.WriteMessage(OpText, b); err != nil {
			t.Fatal(err)
		}
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(data, &m)
		return m
	}
	return c, send
}
