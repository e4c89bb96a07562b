package main

import (
	"fmt"
	"io"
	"kforge/sinks/hub"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// termOut is the command's stderr. Every write to it (log records, messages)
// first clears the progress bar's line, and the bar is drawn again after a
// write that ends a line, so a log line never shares a line with the bar.
// The bar itself is drawn only here, under the same lock.
type termOut struct {
	mu    sync.Mutex
	w     io.Writer
	tty   *os.File // the terminal stderr is, or nil
	bar   *progress
	shown bool // the bar is on the current line
	// redact masks credentials in the bar's description.
	redact func(string) string
}

func newTermOut(w io.Writer) *termOut {
	t := &termOut{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		t.tty = f
	}
	return t
}

func (t *termOut) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clearLocked()
	n, err := t.w.Write(p)
	if t.bar != nil && len(p) > 0 && p[len(p)-1] == '\n' {
		t.drawLocked()
	}
	return n, err
}

// width is the terminal's width in columns (80 when it cannot be read).
func (t *termOut) width() int {
	if t.tty != nil {
		if w, _, err := term.GetSize(int(t.tty.Fd())); err == nil && w > 0 {
			return w
		}
	}
	return 80
}

func (t *termOut) clearLocked() {
	if t.shown {
		io.WriteString(t.w, "\r\033[K")
		t.shown = false
	}
}

func (t *termOut) drawLocked() {
	line := t.bar.line(t.width())
	if t.redact != nil {
		line = t.redact(line)
	}
	io.WriteString(t.w, "\r"+line+"\033[K")
	t.shown = true
}

// progress is one command's progress: a bar on a terminal, else a line
// every interval. Counts are safe to update from any goroutine.
type progress struct {
	out      *termOut
	desc     atomic.Value // string
	done     atomic.Int64
	total    atomic.Int64 // <= 0: unknown
	start    time.Time
	bytes    bool // counts are bytes (shown as KB, MB, …)
	stop     chan struct{}
	finished sync.WaitGroup

	// renderer state, under out.mu
	bar      *progressbar.ProgressBar
	barWidth int
}

// progressEvery is how often a progress line is printed when stderr is not
// a terminal (cron, Slurm and CI logs).
var progressEvery = 30 * time.Second

// frameEvery is how often the bar is redrawn on a terminal.
var frameEvery = 200 * time.Millisecond

// startProgress shows progress of desc on e's stderr until Stop; total <= 0
// means not known (yet).
func (e *env) startProgress(desc string, total int64) *progress {
	return e.startCounting(desc, total, false)
}

// startByteProgress is startProgress for counts of bytes.
func (e *env) startByteProgress(desc string, total int64) *progress {
	return e.startCounting(desc, total, true)
}

func (e *env) startCounting(desc string, total int64, bytes bool) *progress {
	t, ok := e.term()
	p := &progress{out: t, start: time.Now(), stop: make(chan struct{}), bytes: bytes}
	p.desc.Store(desc)
	p.total.Store(total)
	if !ok {
		return p // stderr is not ours to draw on (a test's buffer without term)
	}
	every := progressEvery
	if t.tty != nil {
		every = frameEvery
		t.mu.Lock()
		t.bar = p
		t.drawLocked()
		t.mu.Unlock()
	}
	p.finished.Add(1)
	go func() {
		defer p.finished.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				if t.tty != nil {
					t.mu.Lock()
					t.drawLocked()
					t.mu.Unlock()
				} else {
					fmt.Fprintln(t, p.plain())
				}
			}
		}
	}()
	return p
}

func (p *progress) Add(n int64)          { p.done.Add(n) }
func (p *progress) Set(n int64)          { p.done.Store(n) }
func (p *progress) SetTotal(n int64)     { p.total.Store(n) }
func (p *progress) Describe(desc string) { p.desc.Store(desc) }

// Stop removes the bar (a terminal) and stops the periodic lines.
func (p *progress) Stop() {
	if p.out == nil {
		return
	}
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	p.finished.Wait()
	p.out.mu.Lock()
	if p.out.bar == p {
		p.out.clearLocked()
		p.out.bar = nil
	}
	p.out.mu.Unlock()
}

// plain is the progress as one log line.
func (p *progress) plain() string {
	count := func(n int64) string { return fmt.Sprint(n) }
	if p.bytes {
		count = hub.HumanBytes
	}
	s := fmt.Sprintf("%s: %s", p.desc.Load().(string), count(p.done.Load()))
	if t := p.total.Load(); t > 0 {
		s += fmt.Sprintf("/%s (%d%%)", count(t), p.done.Load()*100/t)
	}
	return s + ", " + time.Since(p.start).Round(time.Second).String()
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[a-zA-Z]`)

// maxDesc is the most columns the description takes, so that the bar, its
// counts and times fit on an 80-column line.
const maxDesc = 24

// line renders the bar for a terminal cols wide: never more than cols-1
// columns, so the terminal does not wrap it onto a second line.
func (p *progress) line(cols int) string {
	desc := clip(p.desc.Load().(string), maxDesc)
	total := p.total.Load()
	// The counts and times take at most ~40 columns: " 100% |" "| (123456/654321) [1h2m3s:4h5m6s]".
	w := min(cols-1-utf8.RuneCountInString(desc)-44, 40)
	if w != p.barWidth || p.bar == nil || (total > 0) != (p.bar.GetMax64() > 0) {
		p.barWidth = w
		max := int64(-1)
		if total > 0 {
			max = total
		}
		p.bar = progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(io.Discard),
			progressbar.OptionSetWidth(max1(w, 5)),
			progressbar.OptionShowCount(),
			progressbar.OptionShowBytes(p.bytes),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(total > 0),
			progressbar.OptionThrottle(0),
		)
	}
	if total > 0 && p.bar.GetMax64() != total {
		p.bar.ChangeMax64(total)
	}
	p.bar.Describe(desc)
	p.bar.Set64(p.done.Load())
	s := ansi.ReplaceAllString(p.bar.String(), "")
	s = strings.TrimLeft(strings.ReplaceAll(s, "\n", " "), "\r")
	return clip(strings.TrimRight(s, " "), cols-1)
}

func max1(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// clip cuts s to at most n runes, ending in … when cut.
func clip(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
