package serve

import (
	"context"
	"fmt"
	"log/slog"

	"kforge/datasets"
	"kforge/filters/verify"
)

// Usable qualifies tasks the way build does before serving them: on a
// measuring backend, a task without a qualification from this backend,
// toolchain and arch is qualified (cached by content); a task it drops, or
// left with fewer than verify.MinQualifiedSizes usable sizes, is not served
// (logged with its reason), nor is one the compiler cannot build. Tasks
// keep their new qualification.
func Usable(ctx context.Context, ver *verify.Verifier, tasks []datasets.Task, log *slog.Logger) ([]datasets.Task, error) {
	var out []datasets.Task
	for i := range tasks {
		t := tasks[i]
		if skip := ver.Unbuildable(&t); skip != nil {
			log.Info("task not served: the compiler cannot build it", "task", t.ID, "reason", skip.Detail)
			continue
		}
		if ver.Measures() {
			q, dev := t.Qualification, ver.Device()
			if q == nil || q.Backend != ver.Backend() || q.Toolchain != dev.Toolchain || q.Arch != dev.Arch {
				nq, _, err := ver.Qualify(ctx, &t)
				if err != nil {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					log.Warn("task not served: qualification failed", "task", t.ID, "err", err)
					continue
				}
				t.Qualification = nq
			}
		}
		if why := unusable(&t); why != "" {
			log.Info("task not served", "task", t.ID, "reason", why)
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

func unusable(t *datasets.Task) string {
	q := t.Qualification
	if q == nil {
		return ""
	}
	if !t.Usable() {
		return fmt.Sprintf("dropped by qualification on %s (%s): %s", q.Backend, q.Rule, q.Reason)
	}
	if n, need := len(t.UsableSizes()), min(verify.MinQualifiedSizes, len(t.Sizes)); n < need || n == 0 {
		return fmt.Sprintf("%d qualified sizes, fewer than %d", n, need)
	}
	return ""
}
