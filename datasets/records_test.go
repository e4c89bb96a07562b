package datasets

import "testing"

func TestTokens(t *testing.T) {
	for _, tc := range []struct {
		ms   []ChatMessage
		want int64
	}{
		{nil, 0},
		{[]ChatMessage{{Role: "user", Content: "abcd"}}, 1},
		{[]ChatMessage{{Role: "user", Content: "abcde"}}, 2}, // bytes/4 rounded up
		{[]ChatMessage{{Role: "user", Content: "ab"}, {Role: "assistant", Content: "cde", ReasoningContent: "not counted"}}, 2},
	} {
		if got := Tokens(tc.ms); got != tc.want {
			t.Errorf("Tokens(%v) = %d, want %d", tc.ms, got, tc.want)
		}
	}
}

func TestRowsNameTheirConfig(t *testing.T) {
	for want, r := range map[string]Row{ConfigSFT: &SFTRecord{}, ConfigRL: &RLRecord{}, ConfigPairs: &PairRecord{}, ConfigMultiturn: &MultiturnRecord{}} {
		if r.Config() != want {
			t.Errorf("%T.Config() = %q, want %q", r, r.Config(), want)
		}
	}
}
