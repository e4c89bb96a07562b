package main

import (
	"bytes"
	"fmt"
	"io"
	"kforge/sinks/hub"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal cols wide: the slave is what a command
// sees as its stderr, the master is what the user's terminal would read.
func openPTY(t *testing.T, cols int) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skip("no pseudo-terminals here:", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: uint16(cols)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

// screen replays terminal output on a cols-wide screen: \r, \n, ESC[K and
// ESC[2K, text. It records whether any character landed at or past the last
// column (the terminal would wrap the line).
type screen struct {
	cols     int
	lines    [][]rune
	row, col int
	overflow []string
}

func (s *screen) play(out string) {
	s.lines = [][]rune{nil}
	for i := 0; i < len(out); {
		switch {
		case out[i] == '\r':
			s.col = 0
			i++
		case out[i] == '\n':
			s.row++
			if s.row == len(s.lines) {
				s.lines = append(s.lines, nil)
			}
			i++
		case strings.HasPrefix(out[i:], "\x1b["):
			j := i + 2
			for j < len(out) && (out[j] >= '0' && out[j] <= '9' || out[j] == ';') {
				j++
			}
			if j < len(out) && out[j] == 'K' {
				arg := out[i+2 : j]
				l := s.lines[s.row]
				switch arg {
				case "", "0":
					if s.col < len(l) {
						s.lines[s.row] = l[:s.col]
					}
				case "2":
					s.lines[s.row] = nil
				}
			}
			i = j + 1
		default:
			r, n := utf8.DecodeRuneInString(out[i:])
			i += n
			if s.col >= s.cols-1 {
				s.overflow = append(s.overflow, string(s.lines[s.row]))
			}
			l := s.lines[s.row]
			for len(l) <= s.col {
				l = append(l, ' ')
			}
			l[s.col] = r
			s.lines[s.row] = l
			s.col++
		}
	}
}

func (s *screen) text() []string {
	var out []string
	for _, l := range s.lines {
		out = append(out, strings.TrimRight(string(l), " "))
	}
	return out
}

// On an 80-column terminal the bar never reaches the last column, whatever
// its description; a redraw with a shorter description leaves nothing of the
// longer one; a log record written between frames is on a line of its own;
// and nothing of the bar is left once it stops.
func TestProgressBarOnA80ColumnTerminal(t *testing.T) {
	master, slave := openPTY(t, 80)
	var raw bytes.Buffer
	var mu sync.Mutex
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			raw.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	saved := frameEvery
	frameEvery = 10 * time.Millisecond
	defer func() { frameEvery = saved }()

	e := withRedaction(&env{stdout: io.Discard, stderr: slave, getenv: func(string) string { return "" }})
	log := newLogger(e.stderr, "text", "info")
	p := e.startProgress("exporting rows of sft/train from 16 shards into data/sft/train-*.parquet with replay", 200000)
	for i := range 20 {
		p.Add(10000)
		time.Sleep(15 * time.Millisecond)
		if i == 7 {
			log.Info("between frames", "shard", 3)
		}
		if i == 10 {
			p.Describe("rows")
		}
	}
	p.Stop()
	fmt.Fprintln(e.stderr, "done")
	// Let the master drain what the slave wrote.
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		got := strings.Contains(raw.String(), "done")
		mu.Unlock()
		if got || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	out := raw.String()
	mu.Unlock()

	if !strings.Contains(out, "%") {
		t.Fatalf("no bar drawn: %q", out)
	}
	sc := &screen{cols: 80}
	sc.play(out)
	if len(sc.overflow) > 0 {
		t.Errorf("the bar reached column 80: %q", sc.overflow[0])
	}
	lines := sc.text()
	logLines := 0
	for _, l := range lines {
		switch {
		case l == "":
		case strings.HasPrefix(l, "time=") && strings.HasSuffix(l, `msg="between frames" shard=3`):
			logLines++
		case l == "done":
		default:
			t.Errorf("left on screen: %q", l)
		}
	}
	if logLines != 1 {
		t.Errorf("the log line is not on a line of its own:\n%s", strings.Join(lines, "\n"))
	}
	// Every frame, as drawn, fits in 79 columns and holds no piece of an
	// earlier, longer description.
	for _, frame := range strings.Split(out, "\r") {
		frame = strings.TrimSuffix(ansi.ReplaceAllString(frame, ""), "\n")
		if utf8.RuneCountInString(frame) > 79 {
			t.Errorf("frame wider than 79 columns: %q", frame)
		}
	}
}

func TestProgressPlainLineCountsBytes(t *testing.T) {
	p := &progress{bytes: true, start: time.Now()}
	p.desc.Store("uploading to the Hub")
	p.total.Store(3 << 20)
	p.done.Store(1536 << 10)
	if got := p.plain(); !strings.HasPrefix(got, "uploading to the Hub: 1.5 MiB/3.0 MiB (50%), ") {
		t.Errorf("plain line %q", got)
	}
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 5 << 30: "5.0 GiB"} {
		if got := hub.HumanBytes(n); got != want {
			t.Errorf("hub.HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
