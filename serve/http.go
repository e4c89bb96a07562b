package serve

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"kforge/datasets"
	"kforge/sources/model"
)

// Server is the HTTP and WebSocket front of an Env.
type Server struct {
	Env      *Env
	Pool     *Pool
	Recorder *Recorder
	Config   Config
	// Token, when set, must come as "Authorization: Bearer <token>" on every
	// request but /health. It is never logged.
	Token string
	Log   *slog.Logger
	// IdleTimeout closes a keep-alive connection idle this long (0: two
	// minutes); BodyTimeout bounds reading one request body (0: one
	// minute). A WebSocket idle for serve.session_timeout is closed too.
	IdleTimeout time.Duration
	BodyTimeout time.Duration

	mu  sync.Mutex
	ws  map[*WSConn]bool
	wsg sync.WaitGroup
}

// Handler is the server's routes.
func (s *Server) Handler() http.Handler {
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", s.health)
	mux.HandleFunc("/metadata", s.auth(s.metadata))
	mux.HandleFunc("/schema", s.auth(s.schema))
	mux.HandleFunc("/reset", s.auth(s.reset))
	mux.HandleFunc("/step", s.auth(s.step))
	mux.HandleFunc("/state", s.auth(s.state))
	mux.HandleFunc("/ws", s.auth(s.websocket))
	mux.HandleFunc("/v1/rewards", s.auth(s.rewards))
	mux.HandleFunc("/v1/stats", s.auth(s.stats))
	return mux
}

func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	if s.Token == "" {
		return h
	}
	want := []byte("Bearer " + s.Token)
	return func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kforge"`)
			writeError(w, errf(401, CodeUnauthorized, "a bearer token is required (Authorization: Bearer ...)"))
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// errorBody is an error answer: FastAPI's "detail" plus a code.
type errorBody struct {
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

func writeError(w http.ResponseWriter, e *Error) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, e.Status, errorBody{Detail: e.Msg, Code: e.Code})
}

// readBody decodes a JSON body within the size limit; an empty body leaves
// v as it is.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, v any) *Error {
	// A body that trickles in holds its connection: bound its reading.
	d := s.BodyTimeout
	if d <= 0 {
		d = time.Minute
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.Config.MaxBodyBytes))
	if err == nil {
		// A step waits on this connection for its verdict.
		_ = rc.SetReadDeadline(time.Time{})
	} else {
		// The rest of a body that did not come is not waited for.
		w.Header().Set("Connection", "close")
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errf(413, CodeTooLarge, "request body over %d bytes (serve.max_body_bytes)", s.Config.MaxBodyBytes)
	}
	if err != nil {
		return errf(400, CodeInvalidJSON, "reading the body: %v", err)
	}
	return decode(b, v)
}

func decode(b []byte, v any) *Error {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return errf(422, CodeValidation, "field %s: want %s, got %s", te.Field, te.Type, te.Value)
		}
		return errf(400, CodeInvalidJSON, "invalid JSON: %v", err)
	}
	return nil
}

func method(w http.ResponseWriter, r *http.Request, m string) bool {
	if r.Method != m {
		w.Header().Set("Allow", m)
		writeError(w, errf(405, CodeMethod, "use %s", m))
		return false
	}
	return true
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	status := "healthy"
	switch {
	case s.Env.draining.Load():
		status = "unhealthy"
	case s.Pool.Free() == 0:
		status = "degraded"
	}
	writeJSON(w, 200, map[string]any{"status": status})
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	if !method(w, r, http.MethodPost) {
		return
	}
	var req ResetRequest
	if e := s.readBody(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	_, resp, e := s.Env.Reset(nil, &req)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, 200, resp)
}

// session finds the HTTP session of a request: episode_id in the body, the
// X-Episode-Id header or the query.
func (s *Server) session(r *http.Request, id string) (*Session, *Error) {
	if id == "" {
		id = r.Header.Get("X-Episode-Id")
	}
	if id == "" {
		id = r.URL.Query().Get("episode_id")
	}
	if id == "" {
		return nil, errf(400, CodeNoEpisode, "name the episode: episode_id (from /reset) in the body, the X-Episode-Id header or ?episode_id=; or use the WebSocket session at /ws")
	}
	sess, ok := s.Env.Session(id)
	if !ok {
		return nil, errf(404, CodeNoEpisode, "no open episode %q (done episodes stay until reset; idle ones expire)", id)
	}
	if sess.conn {
		return nil, errf(409, CodeNoEpisode, "episode %q belongs to a WebSocket session: use that connection", id)
	}
	return sess, nil
}

func (s *Server) step(w http.ResponseWriter, r *http.Request) {
	if !method(w, r, http.MethodPost) {
		return
	}
	var req StepRequest
	if e := s.readBody(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	sess, e := s.session(r, req.EpisodeID)
	if e != nil {
		writeError(w, e)
		return
	}
	resp, e := s.Env.Step(r.Context(), sess, &req)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, 200, resp)
}

func (s *Server) state(w http.ResponseWriter, r *http.Request) {
	if !method(w, r, http.MethodGet) {
		return
	}
	sess, e := s.session(r, "")
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, 200, s.Env.State(sess))
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"env": s.Env.Counters(), "pool": s.Pool.Stats()})
}

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	rc := s.Config.Reward
	writeJSON(w, 200, map[string]any{
		"name":                "kforge",
		"description":         "GPU kernel optimisation (HIP / Composable Kernel): answer with a faster version of the task's editable region; kforge's verifier (gate, splice, compile, sandboxed runs, correctness, interleaved timing) judges it.",
		"version":             s.Env.opt.Version,
		"backend":             s.Env.opt.Backend,
		"readme":              "Reset to get a task prompt; step with {\"completion\": \"...one fenced code block...\"} or {\"region\": \"...\"}. The observation carries the verdict, the reward and the verifier's feedback; the episode ends when max_turns candidates were judged or one is kept (stop_when_kept).",
		"tasks":               len(s.Env.tasks),
		"splits":              map[string]int{datasets.SplitTrain: len(s.Env.splits[datasets.SplitTrain]), datasets.SplitTest: len(s.Env.splits[datasets.SplitTest])},
		"max_turns":           s.Config.MaxTurns,
		"max_concurrent_envs": s.Config.MaxSessions,
		"reward": map[string]any{
			"rules":       RewardRules,
			"formula":     fmt.Sprintf("kept: %g + %g*ln(min(speedup, %g)); correct-not-faster: %g; quarantined: %g; unverified: %g; rejected: %g", rc.KeptBase, rc.SpeedupScale, s.Env.opt.MaxSpeedup, rc.Correct, rc.Quarantined, rc.Unverified, rc.Rejected),
			"config":      rc,
			"max_speedup": s.Env.opt.MaxSpeedup,
		},
	})
}

func (s *Server) schema(w http.ResponseWriter, r *http.Request) {
	str := map[string]any{"type": "string"}
	num := map[string]any{"type": "number"}
	integer := map[string]any{"type": "integer"}
	boolean := map[string]any{"type": "boolean"}
	msgs := map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{"role": str, "content": str, "thinking": str}, "required": []string{"role", "content"}}}
	writeJSON(w, 200, map[string]any{
		"action": map[string]any{"title": "KforgeAction", "type": "object",
			"properties": map[string]any{
				"completion": map[string]any{"type": "string", "description": "the policy's answer: one fenced C++ code block holding the whole new region (thinking in <think>...</think> allowed)"},
				"region":     map[string]any{"type": "string", "description": "the new region itself, instead of completion"},
				"thinking":   map[string]any{"type": "string", "description": "the policy's reasoning, recorded with the turn"},
			},
			"oneOf": []any{map[string]any{"required": []string{"completion"}}, map[string]any{"required": []string{"region"}}}},
		"observation": map[string]any{"title": "KforgeObservation", "type": "object",
			"properties": map[string]any{"episode_id": str, "task_id": str, "task_name": str, "kind": str, "turn": integer, "max_turns": integer,
				"prompt": msgs, "feedback": str, "messages": msgs, "reward": map[string]any{"type": []string{"number", "null"}}, "done": boolean,
				"verdict": map[string]any{"type": "object", "properties": map[string]any{"variant_id": str, "status": map[string]any{"enum": []string{datasets.StatusKept, datasets.StatusRejected, datasets.StatusQuarantined, datasets.StatusUnverified}},
					"rejected_by": str, "gate_ok": boolean, "compiled": boolean, "correct": boolean, "speedup": num, "reference_ms": num, "candidate_ms": num, "backend": str, "device": str}},
				"metadata": map[string]any{"type": "object"}}},
		"state": map[string]any{"title": "KforgeState", "type": "object",
			"properties": map[string]any{"episode_id": str, "step_count": integer, "task_id": str, "turn": integer, "max_turns": integer, "done": boolean, "pending": boolean, "best_reward": num}},
	})
}

// wsMessage is a WebSocket message, both ways.
type wsMessage struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
}

func wsErr(e *Error) map[string]any {
	d := map[string]any{"message": e.Msg, "code": e.Code}
	if e.RetryAfter > 0 {
		d["retry_after"] = e.RetryAfter
	}
	return map[string]any{"type": "error", "data": d}
}

func (s *Server) websocket(w http.ResponseWriter, r *http.Request) {
	if s.Env.draining.Load() {
		writeError(w, &Error{Status: 503, Code: CodeDraining, Msg: "the server is draining", RetryAfter: 5})
		return
	}
	c, err := Accept(w, r, s.Config.MaxBodyBytes)
	if err != nil {
		return
	}
	s.mu.Lock()
	if s.ws == nil {
		s.ws = map[*WSConn]bool{}
	}
	s.ws[c] = true
	s.wsg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.ws, c)
		s.mu.Unlock()
		s.wsg.Done()
	}()
	// The connection's session: its episodes are this connection's alone.
	sess := s.Env.ConnSession()
	defer func() { s.Env.Close(sess, "closed") }()
	send := func(v any) bool {
		b, _ := json.Marshal(v)
		return c.WriteMessage(OpText, b) == nil
	}
	for {
		// A connection that says nothing for a session's idle time ends.
		if d := s.Config.SessionTimeout; d > 0 {
			_ = c.NetConn().SetReadDeadline(time.Now().Add(d))
		}
		op, b, err := c.ReadMessage()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.Log.Debug("websocket read", "err", err)
			}
			c.Close()
			return
		}
		if op != OpText && op != OpBinary {
			continue
		}
		var m wsMessage
		if err := json.Unmarshal(b, &m); err != nil {
			if !send(wsErr(errf(400, CodeInvalidJSON, "invalid JSON: %v", err))) {
				return
			}
			continue
		}
		var out any
		switch m.Type {
		case "reset":
			var req ResetRequest
			if e := decode(m.Data, &req); e != nil {
				out = wsErr(e)
				break
			}
			_, resp, e := s.Env.Reset(sess, &req)
			if e != nil {
				out = wsErr(e)
				break
			}
			out = map[string]any{"type": "observation", "data": resp}
		case "step":
			req, e := wsStep(m.Data)
			if e != nil {
				out = wsErr(e)
				break
			}
			resp, e := s.Env.Step(r.Context(), sess, req)
			if e != nil {
				out = wsErr(e)
				break
			}
			out = map[string]any{"type": "observation", "data": resp}
		case "state":
			out = map[string]any{"type": "state", "data": s.Env.State(sess)}
		case "close":
			c.Close()
			return
		default:
			out = wsErr(errf(400, CodeUnknownType, "unknown message type %q (reset, step, state, close)", m.Type))
		}
		if !send(out) {
			return
		}
	}
}

// wsStep reads a WebSocket step's data: OpenEnv sends the action itself; a
// step request ({"action": ..., "timeout_s": ...}) is taken too.
func wsStep(data json.RawMessage) (*StepRequest, *Error) {
	var probe map[string]json.RawMessage
	if e := decode(data, &probe); e != nil {
		return nil, e
	}
	if _, ok := probe["action"]; ok {
		var req StepRequest
		if e := decode(data, &req); e != nil {
			return nil, e
		}
		return &req, nil
	}
	var a Action
	if e := decode(data, &a); e != nil {
		return nil, e
	}
	return &StepRequest{Action: &a}, nil
}

// RewardItem is one item of POST /v1/rewards.
type RewardItem struct {
	ID         string  `json:"id,omitempty"`
	TaskID     string  `json:"task_id"`
	Completion *string `json:"completion,omitempty"`
	Region     *string `json:"region,omitempty"`
	Thinking   string  `json:"thinking,omitempty"`
}

// RewardsRequest is POST /v1/rewards's body.
type RewardsRequest struct {
	Items    []RewardItem `json:"items"`
	TimeoutS *float64     `json:"timeout_s,omitempty"`
	Model    string       `json:"model,omitempty"`
}

// RewardResult is one item's answer.
type RewardResult struct {
	ID         string     `json:"id,omitempty"`
	TaskID     string     `json:"task_id"`
	Reward     *float64   `json:"reward"`
	Rule       string     `json:"reward_rule,omitempty"`
	Status     string     `json:"status,omitempty"`
	RejectedBy string     `json:"rejected_by,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	Speedup    float64    `json:"speedup,omitempty"`
	VariantID  string     `json:"variant_id,omitempty"`
	Shared     bool       `json:"shared,omitempty"`
	Error      *errorBody `json:"error,omitempty"`
}

func (s *Server) rewards(w http.ResponseWriter, r *http.Request) {
	if !method(w, r, http.MethodPost) {
		return
	}
	var req RewardsRequest
	if e := s.readBody(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	if len(req.Items) == 0 {
		writeError(w, errf(422, CodeValidation, "items is empty"))
		return
	}
	if len(req.Items) > s.Config.MaxBatch {
		writeError(w, errf(413, CodeTooLarge, "%d items, more than serve.max_batch (%d)", len(req.Items), s.Config.MaxBatch))
		return
	}
	if req.TimeoutS != nil && !(*req.TimeoutS > 0) {
		writeError(w, errf(422, CodeValidation, "timeout_s must be > 0"))
		return
	}
	if s.Env.draining.Load() {
		writeError(w, &Error{Status: 503, Code: CodeDraining, Msg: "the server is draining", RetryAfter: 5})
		return
	}
	if free := s.Pool.Free(); free < len(req.Items) {
		writeError(w, &Error{Status: 429, Code: CodeQueueFull, Msg: fmt.Sprintf("%d items, %d free places in the judging queue", len(req.Items), free), RetryAfter: s.Pool.RetryAfter()})
		return
	}
	ctx := r.Context()
	if req.TimeoutS != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*req.TimeoutS*float64(time.Second)))
		defer cancel()
	}
	mdl := req.Model
	if mdl == "" {
		mdl = "policy"
	}
	results := make([]RewardResult, len(req.Items))
	// Each judgement sends its result once; one that finishes after the
	// wait ended writes nothing this answer reads.
	dones := make([]chan RewardResult, len(req.Items))
	for i, it := range req.Items {
		dones[i] = make(chan RewardResult, 1)
		if e := s.submitItem(it, mdl, dones[i]); e != nil {
			dones[i] <- RewardResult{ID: it.ID, TaskID: it.TaskID, Error: &errorBody{Detail: e.Msg, Code: e.Code}}
		}
	}
	for i := range dones {
		select {
		case results[i] = <-dones[i]:
		case <-ctx.Done():
			// The judgement goes on and is recorded; this answer says so.
			results[i] = RewardResult{ID: req.Items[i].ID, TaskID: req.Items[i].TaskID, Error: &errorBody{Code: CodeTimeout, Detail: "no verdict in time; it is still being judged (send it again later: identical candidates are judged once)"}}
		}
	}
	writeJSON(w, 200, map[string]any{"results": results})
}

// submitItem queues one batch item; a goroutine waits for its verdict,
// records it as a one-turn episode and sends its result on done (buffered).
func (s *Server) submitItem(it RewardItem, mdl string, done chan<- RewardResult) *Error {
	t, ok := s.Env.Task(it.TaskID)
	if !ok {
		return errf(404, CodeNotFound, "task %q is not served here", it.TaskID)
	}
	if (it.Completion == nil) == (it.Region == nil) {
		return errf(422, CodeValidation, "an item needs exactly one of completion and region")
	}
	msgs, err := s.Env.opt.Prompts.Conversation(model.Request{Task: t, Arch: s.Env.opt.Arch})
	if err != nil {
		return errf(500, CodeTaskUnusable, "prompt: %v", err)
	}
	answer := ""
	v := datasets.Variant{TaskID: t.ID, Sample: int(s.Env.sample.Add(1)), Provider: "serve", Model: mdl}
	if it.Completion != nil {
		answer = *it.Completion
	} else {
		answer = "```cpp\n" + strings.TrimRight(*it.Region, "\n") + "\n```"
	}
	v.Region, v.Reasoning, v.Rejected = s.Env.opt.Extract(answer, it.Thinking, t.Region.Text)
	if pv, err := s.Env.opt.Prompts.PromptVersion(t.Kind); err == nil {
		v.PromptVersion = pv
	}
	v.Messages = append(msgs, datasets.Message{Role: "assistant", Content: answer, Thinking: it.Thinking})
	v.ID = datasets.VariantID(&v)
	tk, err := s.Pool.Submit(t, &v)
	if err != nil {
		return s.Env.poolError(err)
	}
	go func() {
		vd, err := s.Pool.Wait(context.Background(), tk, v.ID)
		if err != nil {
			done <- RewardResult{ID: it.ID, TaskID: t.ID, Error: &errorBody{Code: CodeExecution, Detail: "no verdict: " + err.Error()}}
			return
		}
		reward, rule := s.Config.Reward.Score(&vd, s.Env.opt.MaxSpeedup)
		id := "batch-" + v.ID
		extra, _ := json.Marshal(map[string]any{"episode_id": id, "reward": reward, "reward_rule": rule, "turn": 0, "shared": tk.Shared})
		vd.Extra = extra
		s.Env.steps.Add(1)
		if s.Recorder != nil {
			if err := s.Recorder.Record(t, &Episode{ID: id, TaskID: t.ID, Variants: []datasets.Variant{v}, Verdicts: []datasets.Verdict{vd}, End: "batch"}); err != nil {
				s.Env.recErrs.Add(1)
				s.Log.Error("batch item not recorded", "err", err)
			} else {
				s.Env.recorded.Add(1)
			}
		}
		done <- RewardResult{ID: it.ID, TaskID: t.ID, Reward: &reward, Rule: rule, Status: vd.Status, RejectedBy: vd.RejectedBy,
			Reason: model.HideHeldOut(t, vd.Reason), Speedup: vd.Speedup, VariantID: v.ID, Shared: tk.Shared}
	}()
	return nil
}

// httpServer is the HTTP server of Run: bounded headers, and no connection
// held by a client that sends nothing (ReadTimeout is not used: it would
// also end a step's long wait for its verdict).
func (s *Server) httpServer() *http.Server {
	idle := s.IdleTimeout
	if idle <= 0 {
		idle = 2 * time.Minute
	}
	h := s.Handler() // sets s.Log
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: idle, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(s.Log.Handler(), slog.LevelDebug)}
}

// Run serves on ln until ctx ends, then drains: no new connection or
// episode, judgements in flight finish (up to the drain timeout), every
// open episode is recorded and the shard written. It flushes the shard
// every flush interval and closes idle sessions meanwhile.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	hs := s.httpServer()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	flush := time.NewTicker(s.Config.FlushInterval)
	defer flush.Stop()
	reap := time.NewTicker(min(s.Config.SessionTimeout/4+time.Millisecond, 30*time.Second))
	defer reap.Stop()
	var serveErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-errc:
			serveErr = err
			break loop
		case <-flush.C:
			if s.Recorder != nil {
				if err := s.Recorder.Flush(); err != nil {
					s.Log.Error("flush", "err", err)
				}
			}
		case now := <-reap.C:
			if n := s.Env.Reap(now); n > 0 {
				s.Log.Info("idle sessions closed", "count", n)
			}
		}
	}
	s.Log.Info("draining", "timeout", s.Config.DrainTimeout)
	dctx, cancel := context.WithTimeout(context.Background(), s.Config.DrainTimeout)
	defer cancel()
	s.Env.draining.Store(true)
	err := hs.Shutdown(dctx) // waits for HTTP requests in flight
	s.Env.Drain(dctx)
	s.mu.Lock()
	for c := range s.ws {
		_ = c.CloseWith(CloseGoingAway, "server draining")
	}
	s.mu.Unlock()
	s.wsg.Wait()
	err = errors.Join(serveErr, err, s.Pool.Close(dctx))
	if s.Recorder != nil {
		err = errors.Join(err, s.Recorder.Close())
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
