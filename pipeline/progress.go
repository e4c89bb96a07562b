package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Progress shows a run's funnel while it runs: a live bar when out is a
// terminal, else one log line per interval (cron, Slurm and CI logs stay readable).
type Progress struct {
	Stats    *Stats
	Total    func() int64 // items expected at the first step; may grow
	Done     func() int64 // items finished
	Out      io.Writer
	Log      *slog.Logger
	Interval time.Duration
	// Terminal forces the bar on or off; nil means detect from Out.
	Terminal *bool
}

// Run shows progress until ctx is done, then prints a final line.
func (p *Progress) Run(ctx context.Context) {
	interval := p.Interval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	tty := false
	if p.Terminal != nil {
		tty = *p.Terminal
	} else if f, ok := p.Out.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	if tty {
		p.bar(ctx)
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.Log.Info("progress", "done", p.Done(), "total", p.Total(), "funnel", p.Stats.FunnelLine())
		}
	}
}

func (p *Progress) bar(ctx context.Context) {
	bar := progressbar.NewOptions64(max(p.Total(), 1),
		progressbar.OptionSetWriter(p.Out),
		progressbar.OptionSetDescription("tasks"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	update := func() {
		bar.ChangeMax64(max(p.Total(), 1))
		bar.Describe(p.Stats.FunnelLine())
		bar.Set64(p.Done())
	}
	for {
		select {
		case <-ctx.Done():
			// The bar clears itself; the final funnel stays on screen.
			update()
			bar.Finish()
			fmt.Fprintln(p.Out, p.Stats.FunnelLine())
			return
		case <-t.C:
			update()
		}
	}
}
