package serve

import (
	"math"

	"kforge/datasets"
)

// Reward rules: the name of the rule that gave a reward, carried in every
// observation's metadata so trainers can log what their policy does.
const (
	RuleKept        = "kept"
	RuleCorrect     = "correct-not-faster"
	RuleQuarantined = "quarantined"
	RuleUnverified  = "unverified"
	RuleRejected    = "rejected"
)

// RewardRules lists every rule, for /metadata.
var RewardRules = []string{RuleKept, RuleCorrect, RuleQuarantined, RuleUnverified, RuleRejected}

// Score is the reward of a verdict and the rule that gave it. maxSpeedup is
// verify.max_speedup, the ceiling above which speedups are quarantined: a
// kept speedup is capped there, so no reward is larger than the ceiling's.
func (r RewardConfig) Score(vd *datasets.Verdict, maxSpeedup float64) (float64, string) {
	switch vd.Status {
	case datasets.StatusKept:
		s := vd.Speedup
		if maxSpeedup > 0 && s > maxSpeedup {
			s = maxSpeedup
		}
		if s < 1 || math.IsNaN(s) {
			s = 1
		}
		return r.KeptBase + r.SpeedupScale*math.Log(s), RuleKept
	case datasets.StatusQuarantined:
		return r.Quarantined, RuleQuarantined
	case datasets.StatusUnverified:
		return r.Unverified, RuleUnverified
	}
	if correct(vd) {
		return r.Correct, RuleCorrect
	}
	return r.Rejected, RuleRejected
}

// correct reports whether every run of the candidate passed and it was
// timed: rejected only for not being faster.
func correct(vd *datasets.Verdict) bool {
	if vd.Timing == nil || !vd.Compile.OK {
		return false
	}
	return vd.CandidateRunsPass()
}
