// Package measure judges runs of a task's program: the pass rule, the
// program's timing line or a profiler's kernel times, robust statistics, and
// the selection rule that decides whether a candidate is kept. It also drives
// correctness (every size × seed, candidate before and after the reference)
// and interleaved, counterbalanced timing (ABBA… after warm-up) through a sandbox.
package measure

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"kforge/datasets"
	"kforge/filters/sandbox"
)

// Rule names of rejections decided here.
const (
	RuleCorrectness = "correctness"     // the pass rule failed on some size and seed
	RuleTimeout     = "timeout"         // a run hit its wall-clock limit
	RuleCrash       = "crash"           // a run died from a signal
	RuleTimingLine  = "timing-line"     // no, or more than one, timing line: a forged or missing measurement
	RuleNotFaster   = "not-faster"      // speedup below the minimum
	RuleNoise       = "noise"           // the candidate's p75 is not below the reference's p25
	RuleCeiling     = "speedup-ceiling" // quarantined: implausibly fast
	RuleOutputCap   = "output-cap"      // the run's output hit the sandbox's cap: lines past it were never seen
	RuleScrub       = "scrub"           // passes only when outputs are not poisoned before each launch (reuses results)
	// The judge's runtime names its own rules (hiprt), e.g. "nondeterministic".
)

// capped says why a run whose output hit the sandbox's cap cannot be
// judged: the lines past the cap (a FAIL, a second timing line) were dropped
// unseen, so a run that floods its output is never taken for a pass.
func capped(res sandbox.Result) (bool, string) {
	if !res.Truncated {
		return false, ""
	}
	return true, fmt.Sprintf("the output hit the sandbox's cap and was cut, so what came after it was never judged (%s)", res.Describe())
}

// Pass applies rule to a finished run and says why it failed.
func Pass(rule datasets.PassRule, res sandbox.Result) (bool, string) {
	out := res.Output()
	switch {
	case res.TimedOut:
		return false, res.Describe()
	case res.Signal != "":
		return false, res.Describe()
	case rule.ExitZero && res.Exit != 0:
		return false, fmt.Sprintf("exit %d: %s", res.Exit, lastLines(out, 3))
	}
	for _, f := range rule.Fail {
		if f != "" && strings.Contains(out, f) {
			return false, fmt.Sprintf("output holds %q: %s", f, lineWith(out, f))
		}
	}
	for _, p := range rule.Pass {
		re, err := regexp.Compile(p)
		if err != nil {
			return false, fmt.Sprintf("task pass pattern %q: %v", p, err)
		}
		if !re.MatchString(out) {
			return false, fmt.Sprintf("output lacks %q: %s", p, lastLines(out, 3))
		}
	}
	return true, ""
}

// FailRule names the rule a failed run broke.
func FailRule(res sandbox.Result) string {
	switch {
	case res.TimedOut:
		return RuleTimeout
	case res.Signal != "":
		return RuleCrash
	}
	return RuleCorrectness
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return clip(strings.Join(ls, " | "), 300)
}

func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return clip(strings.TrimSpace(l), 200)
		}
	}
	return ""
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}

// ErrTimingLine is returned when a run's timing line is missing or repeated.
var ErrTimingLine = errors.New("timing line")

// ParsePerf reads the one timing line of a run: pattern must match exactly
// once (a second match is a forged measurement), with a named group "ms".
func ParsePerf(pattern, out string) (float64, error) {
	if pattern == "" {
		return 0, fmt.Errorf("%w: the task has no perf pattern", ErrTimingLine)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return 0, fmt.Errorf("%w: pattern %q: %v", ErrTimingLine, pattern, err)
	}
	gi := re.SubexpIndex("ms")
	if gi < 0 {
		return 0, fmt.Errorf("%w: pattern %q has no (?P<ms>...) group", ErrTimingLine, pattern)
	}
	ms := re.FindAllStringSubmatch(out, -1)
	switch {
	case len(ms) == 0:
		return 0, fmt.Errorf("%w: no line matches %q", ErrTimingLine, pattern)
	case len(ms) > 1:
		return 0, fmt.Errorf("%w: %d lines match %q, the harness prints one", ErrTimingLine, len(ms), pattern)
	}
	v, err := strconv.ParseFloat(ms[0][gi], 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return 0, fmt.Errorf("%w: %q is not a positive time", ErrTimingLine, ms[0][gi])
	}
	return v, nil
}

// Quantile returns the q-quantile of xs (linear interpolation between order
// statistics); xs need not be sorted.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// Summary fills the medians and IQRs of t from its repetitions.
func Summary(t *datasets.Timing) {
	t.RefMedian = Quantile(t.Reference, 0.5)
	t.CandMedian = Quantile(t.Candidate, 0.5)
	t.RefIQR = [2]float64{Quantile(t.Reference, 0.25), Quantile(t.Reference, 0.75)}
	t.CandIQR = [2]float64{Quantile(t.Candidate, 0.25), Quantile(t.Candidate, 0.75)}
}

// Selection is the outcome of the selection rule.
type Selection struct {
	Status  string
	Rule    string
	Reason  string
	Speedup float64
}

// Select decides on a correct candidate from its timing: kept when
// median(ref)/median(cand) ≥ minSpeedup and the candidate's p75 is below the
// reference's p25; quarantined above maxSpeedup; rejected otherwise.
func Select(t *datasets.Timing, minSpeedup, maxSpeedup float64) Selection {
	Summary(t)
	s := Selection{Speedup: t.RefMedian / t.CandMedian}
	if math.IsNaN(s.Speedup) || math.IsInf(s.Speedup, 0) {
		return Selection{Status: datasets.StatusRejected, Rule: RuleTimingLine, Reason: "no usable timings"}
	}
	switch {
	case s.Speedup > maxSpeedup:
		s.Status, s.Rule = datasets.StatusQuarantined, RuleCeiling
		s.Reason = fmt.Sprintf("speedup %.2fx is above the %.1fx ceiling: held for review, not kept", s.Speedup, maxSpeedup)
	case s.Speedup < minSpeedup:
		s.Status, s.Rule = datasets.StatusRejected, RuleNotFaster
		s.Reason = fmt.Sprintf("speedup %.3fx is below %.2fx", s.Speedup, minSpeedup)
	case !(t.CandIQR[1] < t.RefIQR[0]):
		s.Status, s.Rule = datasets.StatusRejected, RuleNoise
		s.Reason = fmt.Sprintf("speedup %.3fx is within the noise: candidate p75 %.4g ms is not below reference p25 %.4g ms", s.Speedup, t.CandIQR[1], t.RefIQR[0])
	default:
		s.Status = datasets.StatusKept
		s.Reason = fmt.Sprintf("correct on every size and seed; %.3fx faster (median %.4g ms vs %.4g ms)", s.Speedup, t.CandMedian, t.RefMedian)
	}
	return s
}
