package serve

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"kforge/datasets"
	"kforge/filters/verify"
)

// Verifier is what the pool needs of a verifier: the CPU steps (gate,
// splice, compile) and the measuring step, split as build splits them.
// *verify.Verifier is one.
type Verifier interface {
	Prepare(ctx context.Context, t *datasets.Task, c *datasets.Variant) (*verify.Prepared, error)
	Measure(ctx context.Context, p *verify.Prepared) (datasets.Verdict, error)
	// GPUs is the number of measuring workers (one per GPU).
	GPUs() int
}

// Pool errors.
var (
	// ErrQueueFull: more candidates wait than the queue holds (HTTP 429).
	ErrQueueFull = errors.New("the judging queue is full")
	// ErrDraining: the server is shutting down and takes no new work.
	ErrDraining = errors.New("the server is draining")
)

// Pool schedules judgements the way build does: the CPU steps on
// compileWorkers goroutines, measurement on one worker per GPU. A candidate
// identical to one already judged or in flight (same task, same region, same
// extraction outcome) is judged once: later requests join the judgement in
// flight or take its verdict. Verdicts are also cached by content inside
// the verifier (compiles, measurements), across runs when its cache is on
// disk. Infrastructure failures are returned as errors and never cached.
type Pool struct {
	v        Verifier
	timeout  time.Duration
	queue    chan *job
	measureQ chan prepared
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu       sync.Mutex
	inflight map[string]*job
	done     map[string]datasets.Verdict // finished verdicts by content key
	order    []string                    // done's keys, oldest first (bounded)
	draining bool

	busyNS   atomic.Int64 // time measuring workers spent measuring
	firstNS  atomic.Int64 // when the first measurement started (unix ns)
	lastNS   atomic.Int64 // when the latest measurement ended
	judged   atomic.Int64 // judgements made (not joined or cached)
	shared   atomic.Int64 // requests answered by another's judgement
	failed   atomic.Int64
	workers  int
	started  time.Time
	avgJudge atomic.Int64 // moving average of one judgement's time, ns
}

// job is one judgement, shared by every request for the same content.
type job struct {
	key     string
	task    *datasets.Task
	variant datasets.Variant
	waiters atomic.Int32
	done    chan struct{}
	verdict datasets.Verdict
	err     error
	queued  time.Time
}

// doneCap bounds the verdicts the pool remembers by content.
const doneCap = 1 << 14

// NewPool starts the workers: compileWorkers for the CPU steps (0: one per
// core) and one per GPU of v for measurement. queueSize bounds the
// candidates waiting; timeout bounds one judgement.
func NewPool(v Verifier, compileWorkers, queueSize int, timeout time.Duration) *Pool {
	if compileWorkers <= 0 {
		compileWorkers = runtime.NumCPU()
	}
	gpus := max(v.GPUs(), 1)
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pool{v: v, timeout: timeout, queue: make(chan *job, queueSize), measureQ: make(chan prepared),
		ctx: ctx, cancel: cancel, inflight: map[string]*job{}, done: map[string]datasets.Verdict{},
		workers: gpus, started: time.Now()}
	for range compileWorkers {
		p.wg.Add(1)
		go p.prepareWorker()
	}
	for range gpus {
		p.wg.Add(1)
		go p.measureWorker()
	}
	return p
}

// prepared is a job whose CPU steps are done, on its way to a GPU.
type prepared struct {
	j      *job
	p      *verify.Prepared
	ctx    context.Context
	cancel context.CancelFunc
}

// ContentKey is the key under which identical candidates share one
// judgement: the task and what was extracted from the answer.
func ContentKey(taskID string, v *datasets.Variant) string {
	return datasets.Hash("serve-judgement", taskID, v.Region, v.Rejected)
}

// Ticket is a submitted judgement.
type Ticket struct {
	j      *job
	vd     *datasets.Verdict
	Shared bool // answered by a judgement another request started or finished
}

// Judge submits v and waits for its verdict (see Submit and Wait).
func (p *Pool) Judge(ctx context.Context, t *datasets.Task, v *datasets.Variant) (datasets.Verdict, bool, error) {
	tk, err := p.Submit(t, v)
	if err != nil {
		return datasets.Verdict{}, false, err
	}
	vd, err := p.Wait(ctx, tk, v.ID)
	return vd, tk.Shared, err
}

// Submit queues the judgement of v of task t, or joins an identical one in
// flight, or takes the verdict of one already made, without waiting:
// ErrQueueFull when the queue is full, ErrDraining when the pool closes.
func (p *Pool) Submit(t *datasets.Task, v *datasets.Variant) (*Ticket, error) {
	key := ContentKey(t.ID, v)
	p.mu.Lock()
	defer p.mu.Unlock()
	if vd, ok := p.done[key]; ok {
		p.shared.Add(1)
		return &Ticket{vd: &vd, Shared: true}, nil
	}
	if j, ok := p.inflight[key]; ok {
		j.waiters.Add(1)
		p.shared.Add(1)
		return &Ticket{j: j, Shared: true}, nil
	}
	if p.draining {
		return nil, ErrDraining
	}
	j := &job{key: key, task: t, variant: *v, done: make(chan struct{}), queued: time.Now()}
	j.waiters.Add(1)
	select {
	case p.queue <- j:
	default:
		return nil, ErrQueueFull
	}
	p.inflight[key] = j
	return &Ticket{j: j}, nil
}

// Wait waits for a ticket's verdict, bounded by ctx (the judgement goes on
// without it), and returns it with VariantID set to variantID.
func (p *Pool) Wait(ctx context.Context, tk *Ticket, variantID string) (datasets.Verdict, error) {
	if tk.vd != nil {
		vd := *tk.vd
		vd.VariantID = variantID
		return vd, nil
	}
	j := tk.j
	select {
	case <-j.done:
	case <-ctx.Done():
		j.waiters.Add(-1)
		return datasets.Verdict{}, ctx.Err()
	}
	j.waiters.Add(-1)
	if j.err != nil {
		return datasets.Verdict{}, j.err
	}
	vd := j.verdict
	vd.VariantID = variantID
	return vd, nil
}

// finish records a job's outcome and wakes its waiters. Only verdicts are
// remembered: a failure is tried again by the next request.
func (p *Pool) finish(j *job, vd datasets.Verdict, err error) {
	p.mu.Lock()
	delete(p.inflight, j.key)
	if err == nil {
		if _, ok := p.done[j.key]; !ok {
			p.done[j.key] = vd
			p.order = append(p.order, j.key)
			if len(p.order) > doneCap {
				delete(p.done, p.order[0])
				p.order = p.order[1:]
			}
		}
	}
	p.mu.Unlock()
	if err != nil {
		p.failed.Add(1)
	} else {
		p.judged.Add(1)
		d := time.Since(j.queued).Nanoseconds()
		if old := p.avgJudge.Load(); old == 0 {
			p.avgJudge.Store(d)
		} else {
			p.avgJudge.Store(old + (d-old)/8)
		}
	}
	j.verdict, j.err = vd, err
	close(j.done)
}

func (p *Pool) prepareWorker() {
	defer p.wg.Done()
	for {
		var j *job
		select {
		case j = <-p.queue:
		case <-p.ctx.Done():
			return
		}
		if j.waiters.Load() <= 0 {
			// Every requester left before it started: nobody needs it.
			p.finish(j, datasets.Verdict{}, context.Canceled)
			continue
		}
		ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
		prep, err := p.prepare(ctx, j)
		switch {
		case err != nil:
			cancel()
			p.finish(j, datasets.Verdict{}, fmt.Errorf("prepare: %w", err))
			continue
		case prep.Verdict.Status != "":
			// Rejected by a CPU step: no GPU time needed.
			cancel()
			p.finish(j, prep.Verdict, nil)
			continue
		}
		select {
		case p.measureQ <- prepared{j: j, p: prep, ctx: ctx, cancel: cancel}:
		case <-ctx.Done():
			cancel()
			p.finish(j, datasets.Verdict{}, fmt.Errorf("waiting for a GPU: %w", ctx.Err()))
		}
	}
}

func (p *Pool) measureWorker() {
	defer p.wg.Done()
	for {
		var m prepared
		select {
		case m = <-p.measureQ:
		case <-p.ctx.Done():
			return
		}
		start := time.Now()
		p.firstNS.CompareAndSwap(0, start.UnixNano())
		vd, err := p.measure(m)
		end := time.Now()
		p.busyNS.Add(end.Sub(start).Nanoseconds())
		p.lastNS.Store(end.UnixNano())
		m.cancel()
		if err != nil {
			err = fmt.Errorf("measure: %w", err)
		}
		p.finish(m.j, vd, err)
	}
}

// prepare and measure call the verifier; a panic there (a bug on an input
// nobody foresaw) fails that judgement as a machine failure, never cached,
// instead of ending the server and every episode in it.
func (p *Pool) prepare(ctx context.Context, j *job) (prep *verify.Prepared, err error) {
	defer func() {
		if r := recover(); r != nil {
			prep, err = nil, fmt.Errorf("verifier panic: %v", r)
		}
	}()
	return p.v.Prepare(ctx, j.task, &j.variant)
}

func (p *Pool) measure(m prepared) (vd datasets.Verdict, err error) {
	defer func() {
		if r := recover(); r != nil {
			vd, err = datasets.Verdict{}, fmt.Errorf("verifier panic: %v", r)
		}
	}()
	return p.v.Measure(m.ctx, m.p)
}

// Busy is the total time the measuring workers have spent measuring.
func (p *Pool) Busy() time.Duration { return time.Duration(p.busyNS.Load()) }

// Workers is the number of measuring workers.
func (p *Pool) Workers() int { return p.workers }

// PoolStats are the pool's counters.
type PoolStats struct {
	Queued        int     `json:"queued"`
	QueueCapacity int     `json:"queue_capacity"`
	InFlight      int     `json:"in_flight"`
	Judged        int64   `json:"judged"`
	Shared        int64   `json:"shared"`
	Failed        int64   `json:"failed"`
	Workers       int     `json:"measure_workers"`
	BusySeconds   float64 `json:"busy_seconds"`
	Utilization   float64 `json:"utilization"` // busy time over workers × uptime
	// LoadedUtilization is busy time over workers × the time from the first
	// measurement's start to the latest one's end: how busy the pool kept
	// its workers once there was work for them.
	LoadedUtilization float64 `json:"loaded_utilization"`
}

// Stats returns the pool's counters.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	inflight := len(p.inflight)
	p.mu.Unlock()
	up := time.Since(p.started).Seconds()
	busy := p.Busy().Seconds()
	st := PoolStats{Queued: len(p.queue), QueueCapacity: cap(p.queue), InFlight: inflight, Judged: p.judged.Load(),
		Shared: p.shared.Load(), Failed: p.failed.Load(), Workers: p.workers, BusySeconds: busy,
		Utilization: busy / (float64(p.workers) * max(up, 1e-9))}
	if f, l := p.firstNS.Load(), p.lastNS.Load(); f > 0 && l > f {
		st.LoadedUtilization = busy / (float64(p.workers) * float64(l-f) / 1e9)
	}
	return st
}

// Free is how many more candidates the queue takes now.
func (p *Pool) Free() int { return cap(p.queue) - len(p.queue) }

// RetryAfter estimates, in whole seconds, when the queue has room again.
func (p *Pool) RetryAfter() int {
	avg := time.Duration(p.avgJudge.Load())
	if avg <= 0 {
		return 1
	}
	s := int((avg*time.Duration(max(1, len(p.queue)))/time.Duration(p.workers) + time.Second - 1) / time.Second)
	return min(max(s, 1), 300)
}

// Close stops taking work, lets judgements in flight finish until ctx ends,
// then stops the workers. Judgements still unfinished fail with ErrDraining.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	p.draining = true
	p.mu.Unlock()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for {
		p.mu.Lock()
		n := len(p.inflight)
		p.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-ctx.Done():
			err = fmt.Errorf("drain: %d judgements unfinished: %w", n, ctx.Err())
			break wait
		case <-tick.C:
		}
	}
	p.cancel()
	p.wg.Wait()
	// What the workers never picked up fails, so nobody waits forever.
	for {
		select {
		case j := <-p.queue:
			p.finish(j, datasets.Verdict{}, ErrDraining)
		default:
			return err
		}
	}
}
