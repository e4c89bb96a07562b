package pipeline

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProgressLogsLinesWhenNotATerminal(t *testing.T) {
	stats := NewStats()
	stats.Add("mined", 5)
	stats.Add("kept", 2)
	var logs syncBuffer
	no := false
	p := &Progress{Stats: stats, Out: &bytes.Buffer{}, Log: slog.New(slog.NewTextHandler(&logs, nil)),
		Interval: 5 * time.Millisecond, Terminal: &no,
		Total: func() int64 { return 5 }, Done: func() int64 { return 3 }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	for !strings.Contains(logs.String(), "progress") {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	line := strings.SplitN(logs.String(), "\n", 2)[0]
	for _, want := range []string{"done=3", "total=5", "mined 5", "kept 2"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
}

func TestProgressDrawsABarOnATerminal(t *testing.T) {
	stats := NewStats()
	stats.Add("mined", 4)
	var out bytes.Buffer
	yes := true
	p := &Progress{Stats: stats, Out: &out, Log: slog.Default(), Terminal: &yes,
		Total: func() int64 { return 4 }, Done: func() int64 { return 4 }}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.Run(ctx)
	if !strings.Contains(out.String(), "mined 4") {
		t.Errorf("bar output %q lacks the funnel", out.String())
	}
}
