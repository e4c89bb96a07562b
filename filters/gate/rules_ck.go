package gate

// Rule names of the ck-instance and tile-config allowlists (see ck.go and
// tile.go). They live here so that gate.go's rule list stays untouched.
const (
	// RuleCKReference: the task's own reference region or its Params cannot
	// be read as an instance; the gate fails closed.
	RuleCKReference = "ck-reference"
	// RuleCKArgCount: the candidate's template argument list has more or
	// fewer arguments than the reference's.
	RuleCKArgCount = "ck-arg-count"
	// RuleCKProblemParam: a problem parameter differs from the reference.
	RuleCKProblemParam = "ck-problem-param"
	// RuleCKKnobValue: a tuning knob is not a literal, a sequence of
	// literals, or a name the reference (or a known CK enumeration) offers.
	RuleCKKnobValue = "ck-knob-value"
	// RuleTileNames: a tile configuration declares other names, or names of
	// another kind, than the reference.
	RuleTileNames = "tile-names"
	// RuleTileProblemParam: a problem member of a tile configuration differs
	// from the reference.
	RuleTileProblemParam = "tile-problem-param"
	// RuleTileValue: a tile knob's value is not literal arithmetic or a name
	// the reference offers.
	RuleTileValue = "tile-value"
)
