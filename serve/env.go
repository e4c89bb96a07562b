package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kforge/datasets"
	"kforge/sources/model"
)

// Prompter renders the conversation of a turn: the task prompt in round 0,
// the previous candidate's conversation continued with the verifier's
// feedback afterwards. *model.Generator is one (it renders without calling
// any model).
type Prompter interface {
	Conversation(req model.Request) ([]datasets.Message, error)
	PromptVersion(kind string) (string, error)
}

// Extractor reads a candidate region out of a completion (model.ExtractRegion
// with the recipe's model settings).
type Extractor func(completion, thinking, reference string) (region, reasoning, rejected string)

// Options are what an Env needs beyond its Config.
type Options struct {
	Tasks      []datasets.Task
	Splits     map[string]string // task id -> train or test
	Prompts    Prompter
	Extract    Extractor
	Pool       *Pool
	Recorder   *Recorder
	MaxSpeedup float64 // verify.max_speedup: the reward's ceiling
	Arch       string
	Log        *slog.Logger
	Version    string
	Backend    string
}

// Env is the environment: tasks, sessions (one open episode each), the
// judging pool and the recorder.
type Env struct {
	cfg    Config
	opt    Options
	tasks  []*datasets.Task
	byID   map[string]*datasets.Task
	splits map[string][]*datasets.Task
	log    *slog.Logger

	mu       sync.Mutex
	sessions map[string]*Session
	sample   atomic.Int64 // episode ordinal: the Sample of its variants
	next     atomic.Int64 // round-robin task choice
	draining atomic.Bool
	steps    atomic.Int64
	recorded atomic.Int64
	recErrs  atomic.Int64
}

// Session is one open episode.
type Session struct {
	ID string
	mu sync.Mutex
	// conn marks a WebSocket connection's session: only that connection
	// resets or steps it.
	conn  bool
	task  *datasets.Task
	model string
	// conv is the conversation the next candidate answers.
	conv      []datasets.Message
	turn      int
	done      bool
	closed    bool
	pending   chan struct{} // non-nil while a step is being judged
	last      *datasets.Variant
	lastVD    *datasets.Verdict
	lastResp  *Response
	ep        Episode
	sample    int
	best      float64
	bestRule  string
	touched   time.Time
	stepCount int
	maxTurns  int
	stepErr   *Error
}

// Error is a request that failed, with OpenEnv's error code and an HTTP
// status.
type Error struct {
	Status     int
	Code       string
	Msg        string
	RetryAfter int // seconds, for 429 and 503
}

func (e *Error) Error() string { return e.Code + ": " + e.Msg }

// Error codes (OpenEnv's WebSocket codes where they exist).
const (
	CodeInvalidJSON   = "INVALID_JSON"
	CodeValidation    = "VALIDATION_ERROR"
	CodeExecution     = "EXECUTION_ERROR"
	CodeCapacity      = "CAPACITY_REACHED"
	CodeQueueFull     = "QUEUE_FULL"
	CodeTimeout       = "TIMEOUT"
	CodeNotFound      = "NOT_FOUND"
	CodeEpisodeDone   = "EPISODE_DONE"
	CodeInProgress    = "STEP_IN_PROGRESS"
	CodeTooLarge      = "PAYLOAD_TOO_LARGE"
	CodeUnauthorized  = "UNAUTHORIZED"
	CodeDraining      = "DRAINING"
	CodeUnknownType   = "UNKNOWN_TYPE"
	CodeMethod        = "METHOD_NOT_ALLOWED"
	CodeNoEpisode     = "NO_EPISODE"
	CodeTaskUnusable  = "TASK_ERROR"
	CodeInternalError = "INTERNAL_ERROR"
)

func errf(status int, code, format string, a ...any) *Error {
	return &Error{Status: status, Code: code, Msg: fmt.Sprintf(format, a...)}
}

// NewEnv returns an environment over opt.Tasks.
func NewEnv(cfg Config, opt Options) (*Env, error) {
	if len(opt.Tasks) == 0 {
		return nil, errors.New("serve: no task to serve")
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	e := &Env{cfg: cfg, opt: opt, byID: map[string]*datasets.Task{}, splits: map[string][]*datasets.Task{}, sessions: map[string]*Session{}, log: opt.Log}
	for i := range opt.Tasks {
		t := &opt.Tasks[i]
		if _, dup := e.byID[t.ID]; dup {
			continue
		}
		e.tasks = append(e.tasks, t)
		e.byID[t.ID] = t
		split := opt.Splits[t.ID]
		if split == "" {
			split = datasets.SplitTrain
		}
		e.splits[split] = append(e.splits[split], t)
	}
	return e, nil
}

// Task returns the served task with id.
func (e *Env) Task(id string) (*datasets.Task, bool) {
	t, ok := e.byID[id]
	return t, ok
}

// ResetRequest is POST /reset's body (and a WebSocket reset's data).
type ResetRequest struct {
	Seed      *int64 `json:"seed,omitempty"`
	EpisodeID string `json:"episode_id,omitempty"`
	TaskID    string `json:"task_id,omitempty"`
	Split     string `json:"split,omitempty"`
	Index     *int   `json:"index,omitempty"`
	Model     string `json:"model,omitempty"`
	MaxTurns  int    `json:"max_turns,omitempty"`
}

// Action is a step's action: the policy's completion (markdown with one code
// block, thinking allowed) or the region itself.
type Action struct {
	Completion *string `json:"completion,omitempty"`
	Region     *string `json:"region,omitempty"`
	Thinking   string  `json:"thinking,omitempty"`
}

// StepRequest is POST /step's body (and a WebSocket step's data, where the
// action may also be the data itself).
type StepRequest struct {
	Action    *Action  `json:"action"`
	TimeoutS  *float64 `json:"timeout_s,omitempty"`
	RequestID string   `json:"request_id,omitempty"`
	EpisodeID string   `json:"episode_id,omitempty"`
}

// VerdictView is the part of a verdict an observation shows.
type VerdictView struct {
	VariantID  string  `json:"variant_id"`
	Status     string  `json:"status"`
	RejectedBy string  `json:"rejected_by,omitempty"`
	Gate       bool    `json:"gate_ok"`
	Compiled   bool    `json:"compiled"`
	Correct    bool    `json:"correct"`
	Speedup    float64 `json:"speedup,omitempty"`
	RefMS      float64 `json:"reference_ms,omitempty"`
	CandMS     float64 `json:"candidate_ms,omitempty"`
	Backend    string  `json:"backend"`
	Device     string  `json:"device"`
}

// Observation is what the policy sees.
type Observation struct {
	EpisodeID string `json:"episode_id"`
	TaskID    string `json:"task_id"`
	TaskName  string `json:"task_name"`
	Kind      string `json:"kind"`
	Turn      int    `json:"turn"`
	MaxTurns  int    `json:"max_turns"`
	// Prompt is the opening conversation (round 0).
	Prompt []datasets.Message `json:"prompt,omitempty"`
	// Feedback is the verifier's feedback on the last candidate, the user
	// turn the next answer replies to.
	Feedback string `json:"feedback,omitempty"`
	// Messages is the whole conversation the next candidate answers.
	Messages []datasets.Message `json:"messages"`
	Verdict  *VerdictView       `json:"verdict,omitempty"`
	Reward   *float64           `json:"reward"`
	Done     bool               `json:"done"`
	Metadata map[string]any     `json:"metadata"`
}

// Response is OpenEnv's answer to reset and step.
type Response struct {
	Observation Observation    `json:"observation"`
	Reward      *float64       `json:"reward"`
	Done        bool           `json:"done"`
	Metadata    map[string]any `json:"metadata,omitempty"`
}

// State is GET /state's answer.
type State struct {
	EpisodeID string    `json:"episode_id"`
	StepCount int       `json:"step_count"`
	TaskID    string    `json:"task_id"`
	Turn      int       `json:"turn"`
	MaxTurns  int       `json:"max_turns"`
	Done      bool      `json:"done"`
	Pending   bool      `json:"pending"`
	Best      float64   `json:"best_reward"`
	Last      *Response `json:"last,omitempty"`
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// pick chooses the task of a reset: by id, by split and index, by seed, or
// round-robin.
func (e *Env) pick(r *ResetRequest) (*datasets.Task, *Error) {
	if r.TaskID != "" {
		t, ok := e.byID[r.TaskID]
		if !ok {
			return nil, errf(404, CodeNotFound, "task %q is not served here", r.TaskID)
		}
		return t, nil
	}
	pool := e.tasks
	if r.Split != "" {
		pool = e.splits[r.Split]
		if len(pool) == 0 {
			return nil, errf(404, CodeNotFound, "split %q has no task (splits: train, test)", r.Split)
		}
	}
	switch {
	case r.Index != nil:
		if *r.Index < 0 || *r.Index >= len(pool) {
			return nil, errf(400, CodeValidation, "index %d out of range [0, %d)", *r.Index, len(pool))
		}
		return pool[*r.Index], nil
	case r.Seed != nil:
		if *r.Seed < 0 {
			return nil, errf(400, CodeValidation, "seed must be >= 0")
		}
		return pool[int(*r.Seed%int64(len(pool)))], nil
	}
	return pool[int(e.next.Add(1)-1)%len(pool)], nil
}

// Reset starts an episode. sess is the session to reuse (WebSocket: one per
// connection) or nil for a new one (HTTP; an episode_id naming an open
// session restarts it). The session's previous episode is recorded.
func (e *Env) Reset(sess *Session, r *ResetRequest) (*Session, *Response, *Error) {
	if e.draining.Load() {
		return nil, nil, &Error{Status: 503, Code: CodeDraining, Msg: "the server is draining; no new episode", RetryAfter: 5}
	}
	if len(r.EpisodeID) > 255 {
		return nil, nil, errf(400, CodeValidation, "episode_id is longer than 255 characters")
	}
	if r.MaxTurns < 0 || r.MaxTurns > e.cfg.MaxTurns {
		return nil, nil, errf(400, CodeValidation, "max_turns must be in [1, %d]", e.cfg.MaxTurns)
	}
	t, perr := e.pick(r)
	if perr != nil {
		return nil, nil, perr
	}
	msgs, err := e.opt.Prompts.Conversation(model.Request{Task: t, Arch: e.opt.Arch})
	if err != nil {
		return nil, nil, errf(500, CodeTaskUnusable, "prompt for task %s: %v", t.ID, err)
	}
	id := r.EpisodeID
	if id == "" {
		id = newID()
	}
	e.mu.Lock()
	cur, exists := e.sessions[id]
	switch {
	case exists && sess == nil && cur.conn:
		// A WebSocket connection's episode is that connection's alone.
		e.mu.Unlock()
		return nil, nil, errf(409, CodeInProgress, "episode %q belongs to a WebSocket session", id)
	case exists && sess != nil && cur != sess:
		// A connection restarts its own episode, never another's: the
		// other's steps would land here and its turns go unrecorded.
		e.mu.Unlock()
		return nil, nil, errf(409, CodeInProgress, "episode_id %q names another open episode", id)
	case exists:
		sess = cur
	case (sess == nil || sess.ID == "") && len(e.sessions) >= e.cfg.MaxSessions && !e.evictDoneLocked():
		n := len(e.sessions)
		e.mu.Unlock()
		return nil, nil, &Error{Status: 429, Code: CodeCapacity, Msg: fmt.Sprintf("%d sessions are open (serve.max_sessions)", n), RetryAfter: 5}
	case sess == nil:
		sess = &Session{}
	}
	// Lock order: e.mu, then a session's mu (as Reap and Drain take them).
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.pending != nil {
		e.mu.Unlock()
		return nil, nil, errf(409, CodeInProgress, "a step of this session is being judged; wait for it")
	}
	if sess.ID != "" && sess.ID != id {
		delete(e.sessions, sess.ID)
	}
	e.sessions[id] = sess
	e.mu.Unlock()
	e.recordLocked(sess, "reset")
	maxTurns := e.cfg.MaxTurns
	if r.MaxTurns > 0 {
		maxTurns = r.MaxTurns
	}
	mdl := r.Model
	if mdl == "" {
		mdl = "policy"
	}
	sess.ID, sess.task, sess.model, sess.conv = id, t, mdl, msgs
	sess.sample, sess.touched = int(e.sample.Add(1)), time.Now()
	sess.turn, sess.done, sess.closed, sess.stepCount, sess.stepErr = 0, false, false, 0, nil
	sess.last, sess.lastVD, sess.best, sess.bestRule = nil, nil, 0, ""
	sess.ep = Episode{ID: id, TaskID: t.ID}
	resp := &Response{Observation: Observation{EpisodeID: id, TaskID: t.ID, TaskName: t.Name, Kind: t.Kind, MaxTurns: maxTurns,
		Prompt: msgs, Messages: msgs, Metadata: map[string]any{"episode_id": id, "split": e.opt.Splits[t.ID], "reward_rules": RewardRules}}}
	resp.Observation.Metadata["max_turns"] = maxTurns
	sess.maxTurns = maxTurns
	resp.Metadata = resp.Observation.Metadata
	sess.lastResp = resp
	return sess, resp, nil
}

// evictDoneLocked drops one finished session (done, recorded, no step in
// flight) to make room for a new one; HTTP clients rarely close theirs. The
// caller holds e.mu.
func (e *Env) evictDoneLocked() bool {
	for id, s := range e.sessions {
		if !s.mu.TryLock() {
			continue
		}
		free := s.done && s.pending == nil && s.ep.End != ""
		s.mu.Unlock()
		if free {
			delete(e.sessions, id)
			return true
		}
	}
	return false
}

// recordLocked records the session's episode (when it judged anything and
// was not recorded yet). The caller holds sess.mu.
func (e *Env) recordLocked(sess *Session, why string) {
	if sess.task == nil || len(sess.ep.Variants) == 0 || sess.ep.End != "" {
		return
	}
	sess.ep.End = why
	if e.opt.Recorder == nil {
		return
	}
	if err := e.opt.Recorder.Record(sess.task, &sess.ep); err != nil {
		e.recErrs.Add(1)
		e.log.Error("episode not recorded", "episode", sess.ID, "err", err)
		return
	}
	e.recorded.Add(1)
}

// ConnSession returns the session of a new WebSocket connection, empty
// until its first reset; episodes it resets are that connection's alone.
func (e *Env) ConnSession() *Session { return &Session{conn: true} }

// Session returns the open session with id.
func (e *Env) Session(id string) (*Session, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.sessions[id]
	return s, ok
}

// Close ends a session and records its episode.
func (e *Env) Close(sess *Session, why string) {
	if sess == nil {
		return
	}
	e.mu.Lock()
	if cur, ok := e.sessions[sess.ID]; ok && cur == sess {
		delete(e.sessions, sess.ID)
	}
	e.mu.Unlock()
	sess.mu.Lock()
	pending := sess.pending
	sess.closed = true
	sess.mu.Unlock()
	if pending != nil {
		// The step in flight is recorded when it finishes (see finishStep).
		return
	}
	sess.mu.Lock()
	e.recordLocked(sess, why)
	sess.mu.Unlock()
}

// Step judges one action in sess and waits for its observation, bounded by
// ctx and the request's timeout. The judgement goes on when the wait ends
// (a client that leaves, a timeout): its turn is recorded, and GET /state
// shows its observation.
func (e *Env) Step(ctx context.Context, sess *Session, req *StepRequest) (*Response, *Error) {
	if req.Action == nil {
		return nil, errf(422, CodeValidation, "action is required: {\"completion\": \"...\"} or {\"region\": \"...\"}")
	}
	a := req.Action
	if (a.Completion == nil) == (a.Region == nil) {
		return nil, errf(422, CodeValidation, "action needs exactly one of completion and region")
	}
	if req.TimeoutS != nil && !(*req.TimeoutS > 0) {
		return nil, errf(422, CodeValidation, "timeout_s must be > 0")
	}
	sess.mu.Lock()
	switch {
	case sess.task == nil:
		sess.mu.Unlock()
		return nil, errf(409, CodeNoEpisode, "no episode: reset first")
	case sess.closed:
		sess.mu.Unlock()
		return nil, errf(409, CodeNoEpisode, "session closed: reset first")
	case sess.pending != nil:
		sess.mu.Unlock()
		return nil, errf(409, CodeInProgress, "a step of this episode is being judged; wait for it (GET /state shows it when done)")
	case sess.done:
		sess.mu.Unlock()
		return nil, errf(409, CodeEpisodeDone, "the episode is done: reset for another")
	}
	sess.stepErr = nil
	t := sess.task
	v := datasets.Variant{TaskID: t.ID, Round: sess.turn, Sample: sess.sample, Provider: "serve", Model: sess.model}
	if pv, err := e.opt.Prompts.PromptVersion(t.Kind); err == nil {
		v.PromptVersion = pv
	}
	var answer string
	if a.Completion != nil {
		answer = *a.Completion
		v.Region, v.Reasoning, v.Rejected = e.opt.Extract(*a.Completion, a.Thinking, t.Region.Text)
	} else {
		answer = "```cpp\n" + strings.TrimRight(*a.Region, "\n") + "\n```"
		v.Region, v.Reasoning, v.Rejected = e.opt.Extract(answer, a.Thinking, t.Region.Text)
	}
	if sess.last != nil {
		v.Parent = sess.last.ID
	}
	v.Messages = append(append([]datasets.Message(nil), sess.conv...), datasets.Message{Role: "assistant", Content: answer, Thinking: a.Thinking})
	v.ID = datasets.VariantID(&v)
	tk, err := e.opt.Pool.Submit(t, &v)
	if err != nil {
		sess.mu.Unlock()
		return nil, e.poolError(err)
	}
	done := make(chan struct{})
	sess.pending = done
	sess.touched = time.Now()
	sess.mu.Unlock()

	go e.finishStep(sess, tk, v, done)

	wait := ctx
	if req.TimeoutS != nil {
		var cancel context.CancelFunc
		wait, cancel = context.WithTimeout(ctx, time.Duration(*req.TimeoutS*float64(time.Second)))
		defer cancel()
	}
	select {
	case <-done:
	case <-wait.Done():
		if ctx.Err() != nil {
			return nil, errf(499, CodeTimeout, "the client went away; the step goes on and is recorded")
		}
		return nil, errf(504, CodeTimeout, "no verdict within timeout_s; the step goes on: GET /state shows its observation when done")
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.stepErr != nil {
		err := sess.stepErr
		sess.stepErr = nil
		return nil, err
	}
	return sess.lastResp, nil
}

func (e *Env) poolError(err error) *Error {
	switch {
	case errors.Is(err, ErrQueueFull):
		return &Error{Status: 429, Code: CodeQueueFull, Msg: "the judging queue is full (serve.queue_size)", RetryAfter: e.opt.Pool.RetryAfter()}
	case errors.Is(err, ErrDraining):
		return &Error{Status: 503, Code: CodeDraining, Msg: "the server is draining", RetryAfter: 5}
	}
	return errf(500, CodeExecution, "%v", err)
}

// finishStep waits for a step's verdict (the pool's timeout bounds it) and
// applies it to the session: the turn, the reward, the next conversation,
// and the episode's record when it is done or its session was closed.
func (e *Env) finishStep(sess *Session, tk *Ticket, v datasets.Variant, done chan struct{}) {
	vd, err := e.opt.Pool.Wait(context.Background(), tk, v.ID)
	sess.mu.Lock()
	defer sess.mu.Unlock()
	defer close(done)
	sess.pending = nil
	sess.touched = time.Now()
	if err != nil {
		// A judgement the machine could not make is no data: the turn is
		// not used, and the client may send it again.
		e.log.Warn("step not judged", "episode", sess.ID, "task", sess.task.ID, "err", err)
		sess.stepErr = errf(500, CodeExecution, "no verdict: %v", err)
		if sess.closed {
			e.recordLocked(sess, "closed")
		}
		return
	}
	e.steps.Add(1)
	reward, rule := e.cfg.Reward.Score(&vd, e.opt.MaxSpeedup)
	extra, _ := json.Marshal(map[string]any{"episode_id": sess.ID, "reward": reward, "reward_rule": rule, "turn": sess.turn, "shared": tk.Shared})
	vd.Extra = extra
	sess.ep.Variants = append(sess.ep.Variants, v)
	sess.ep.Verdicts = append(sess.ep.Verdicts, vd)
	sess.turn++
	sess.stepCount++
	if sess.turn == 1 || reward > sess.best {
		sess.best, sess.bestRule = reward, rule
	}
	vcopy := v
	sess.last, sess.lastVD = &vcopy, &vd
	sess.done = sess.turn >= sess.maxTurns || (vd.Kept() && e.cfg.StopWhenKept)
	obs := Observation{EpisodeID: sess.ID, TaskID: sess.task.ID, TaskName: sess.task.Name, Kind: sess.task.Kind,
		Turn: sess.turn, MaxTurns: sess.maxTurns, Verdict: view(sess.task, &vd), Reward: &reward, Done: sess.done}
	if !sess.done {
		req := model.Request{Task: sess.task, Round: sess.turn, Parent: &vcopy, Verdict: &vd, Arch: e.opt.Arch}
		if vd.Timing != nil {
			req.Baseline = vd.Timing.RefMedian
		}
		conv, err := e.opt.Prompts.Conversation(req)
		if err != nil {
			sess.stepErr = errf(500, CodeInternalError, "feedback: %v", err)
			sess.done = true
		} else {
			sess.conv = conv
			obs.Messages = conv
			obs.Feedback = conv[len(conv)-1].Content
		}
	}
	obs.Done = sess.done
	md := map[string]any{"episode_id": sess.ID, "reward_rule": rule, "status": vd.Status, "rejected_by": vd.RejectedBy,
		"variant_id": v.ID, "shared": tk.Shared, "best_reward": sess.best, "best_rule": sess.bestRule, "turn": sess.turn}
	if vd.Gate.Rule != "" {
		md["gate_rule"] = vd.Gate.Rule
	}
	if v.Rejected != "" {
		md["extract"] = v.Rejected
	}
	obs.Metadata = md
	sess.lastResp = &Response{Observation: obs, Reward: &reward, Done: sess.done, Metadata: md}
	if sess.done {
		e.recordLocked(sess, "done")
	} else if sess.closed {
		e.recordLocked(sess, "closed")
	}
}

// view is the verdict an observation shows: as feedback shows it, without
// the times of a held-out size.
func view(t *datasets.Task, vd *datasets.Verdict) *VerdictView {
	v := &VerdictView{VariantID: vd.VariantID, Status: vd.Status, RejectedBy: vd.RejectedBy, Gate: vd.Gate.OK,
		Compiled: vd.Compile.OK, Correct: correct(vd) || vd.Kept() || vd.Status == datasets.StatusQuarantined,
		Speedup: vd.Speedup, Backend: vd.Backend, Device: vd.Device.Name}
	if vd.Timing != nil && !model.HeldOutTiming(t, vd.Timing) {
		v.RefMS, v.CandMS = vd.Timing.RefMedian, vd.Timing.CandMedian
	}
	return v
}

// State is the session's state.
func (e *Env) State(sess *Session) State {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	st := State{EpisodeID: sess.ID, StepCount: sess.stepCount, Turn: sess.turn, MaxTurns: sess.maxTurns, Done: sess.done,
		Pending: sess.pending != nil, Best: sess.best, Last: sess.lastResp}
	if sess.task != nil {
		st.TaskID = sess.task.ID
	}
	return st
}

// Reap closes sessions idle longer than the session timeout, recording
// their episodes. It returns how many it closed.
func (e *Env) Reap(now time.Time) int {
	var idle []*Session
	e.mu.Lock()
	for _, s := range e.sessions {
		s.mu.Lock()
		if s.pending == nil && now.Sub(s.touched) > e.cfg.SessionTimeout {
			idle = append(idle, s)
		}
		s.mu.Unlock()
	}
	e.mu.Unlock()
	for _, s := range idle {
		e.Close(s, "expired")
	}
	return len(idle)
}

// Drain stops new episodes, waits (until ctx ends) for steps being judged,
// and records every open episode.
func (e *Env) Drain(ctx context.Context) {
	e.draining.Store(true)
	for {
		pending := 0
		e.mu.Lock()
		for _, s := range e.sessions {
			s.mu.Lock()
			if s.pending != nil {
				pending++
			}
			s.mu.Unlock()
		}
		e.mu.Unlock()
		if pending == 0 || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	e.mu.Lock()
	all := make([]*Session, 0, len(e.sessions))
	for _, s := range e.sessions {
		all = append(all, s)
	}
	e.mu.Unlock()
	for _, s := range all {
		e.Close(s, "drained")
	}
}

// Counters are the environment's counters, for /v1/stats.
type Counters struct {
	Sessions     int   `json:"sessions"`
	Steps        int64 `json:"steps"`
	Recorded     int64 `json:"episodes_recorded"`
	RecordErrors int64 `json:"record_errors"`
	Tasks        int   `json:"tasks"`
	Draining     bool  `json:"draining"`
}

// Counters returns the environment's counters.
func (e *Env) Counters() Counters {
	e.mu.Lock()
	n := len(e.sessions)
	e.mu.Unlock()
	return Counters{Sessions: n, Steps: e.steps.Load(), Recorded: e.recorded.Load(), RecordErrors: e.recErrs.Load(), Tasks: len(e.tasks), Draining: e.draining.Load()}
}
