package pipeline

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sleep waits d, or less when ctx is done first (then it returns ctx's error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff is the wait before retry number attempt (0-based): base·2^attempt,
// at most limit, scaled by a random factor in [0.5, 1.5) so that workers that
// failed together do not retry together.
func Backoff(base, limit time.Duration, attempt int) time.Duration {
	d := base << min(attempt, 30)
	if d <= 0 || d > limit {
		d = limit
	}
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

// RetryAfter reads an HTTP Retry-After value, delay-seconds or an HTTP date
// (relative to now). ok is false when v is empty or neither; a date in the
// past is a wait of 0.
func RetryAfter(v string, now time.Time) (wait time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
