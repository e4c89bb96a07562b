package model

// ExtractRegion reads the candidate region out of a completion the way
// Generate reads a model's answer: thinking split off, one code block (or,
// structured, the JSON answer's region), the reference's trailing newline,
// and every unusable answer (none, conflicting blocks, truncated, oversized,
// unchanged) as a rejection reason rather than an error. It is what
// `kforge serve` applies to a policy's completions.
func ExtractRegion(completion, thinking, reference string, structured bool, maxBytes int) (region, reasoning, rejected string) {
	if maxBytes <= 0 {
		maxBytes = defaultMaxRegion
	}
	x := extract(callResult{Content: completion, Thinking: thinking}, reference, structured, maxBytes)
	return x.Region, x.Reasoning, x.Rejected
}
