package repos

import (
	"strings"
	"testing"
)

// TestPPBranch: whether the line marked @ is compiled, and whether that
// can be known from the file, the build's -D defines and its options.
func TestPPBranch(t *testing.T) {
	build := map[string]bool{"OPT_MACRO": true}
	for _, tc := range []struct {
		name            string
		src             string
		defs            []string
		compiled, known bool
		cond            string
	}{
		{"top level", "int a;\n@\n", nil, true, true, ""},
		{"own define on", "#define FAST 1\n#if FAST\n@\n#else\nx\n#endif\n", nil, true, true, "#if FAST"},
		{"own define, else branch", "#define FAST 1\n#if FAST\nx\n#else\n@\n#endif\n", nil, false, true, "#else"},
		{"own define off", "#define FAST 0\n#if FAST\n@\n#endif\n", nil, false, true, "#if FAST"},
		{"if 0", "#if 0\n@\n#endif\n", nil, false, true, "#if 0"},
		{"elif taken", "#define V 2\n#if V == 1\nx\n#elif V == 2\n@\n#else\ny\n#endif\n", nil, true, true, "#elif V == 2"},
		{"elif after taken", "#if 1\nx\n#elif 1\n@\n#endif\n", nil, false, true, "#elif 1"},
		{"build option unset", "#ifdef OPT_MACRO\n@\n#endif\n", nil, false, true, "#ifdef OPT_MACRO"},
		{"build option set", "#ifdef OPT_MACRO\n@\n#endif\n", []string{"OPT_MACRO"}, true, true, "#ifdef OPT_MACRO"},
		{"ifndef build option", "#ifndef OPT_MACRO\n@\n#endif\n", nil, true, true, "#ifndef OPT_MACRO"},
		{"defined and", "#if defined(OPT_MACRO) && !defined(OTHER_HEADER_MACRO)\n@\n#endif\n", []string{"OPT_MACRO"}, false, false, ""},
		{"unknown macro", "#if CK_USE_AMD_V_MAC\n@\n#endif\n", nil, false, false, ""},
		{"compiler macro", "#if defined(__gfx90a__)\n@\n#endif\n", nil, false, false, ""},
		{"nested inside off", "#if 0\n#if 1\n@\n#endif\n#endif\n", nil, false, true, "#if 1"},
		{"define in a dead branch", "#if 0\n#define FAST 1\n#endif\n#if FAST\n@\n#endif\n", nil, false, false, ""},
		{"include guard", "#ifndef GUARD_H\n#define GUARD_H\n@\n#endif\n", nil, true, true, ""},
		{"comparison", "#define N 4\n#if N >= 2 && (N < 8 || 0)\n@\n#endif\n", nil, true, true, ""},
		{"value with -D", "#if LEVEL > 1\n@\n#endif\n", []string{"LEVEL=3"}, true, true, ""},
		{"function-like", "#if FOO(1)\n@\n#endif\n", nil, false, false, ""},
		{"undef", "#define FAST 1\n#undef FAST\n#ifdef FAST\n@\n#endif\n", nil, false, true, "#ifdef FAST"},
		{"undef of a -D", "#undef OPT_MACRO\n#ifdef OPT_MACRO\nx\n#else\n@\n#endif\n", []string{"OPT_MACRO"}, true, true, "#else"},
		{"undef then value", "#define FAST 1\n#undef FAST\n#if FAST\n@\n#endif\n", nil, false, true, ""},
		{"define in an unknown branch", "#if UNKNOWN_HEADER_MACRO\n#define OPT_MACRO\n#endif\n#ifdef OPT_MACRO\n@\n#endif\n", nil, false, false, ""},
		{"defined spelled into a name", "#define definedX 1\n#if definedX\n@\n#endif\n", nil, true, true, ""},
		{"elifdef", "#if 0\nx\n#elifdef OPT_MACRO\n@\n#endif\n", []string{"OPT_MACRO"}, true, true, "#elifdef OPT_MACRO"},
		{"elifndef", "#if 0\nx\n#elifndef OPT_MACRO\n@\n#endif\n", nil, true, true, "#elifndef OPT_MACRO"},
		{"defined without parentheses", "#if defined OPT_MACRO || 0\n@\n#endif\n", []string{"OPT_MACRO"}, true, true, ""},
	} {
		off := strings.Index(tc.src, "@")
		compiled, known, cond := ppBranch(blank([]byte(tc.src)), off, tc.defs, build)
		if known != tc.known || known && compiled != tc.compiled {
			t.Errorf("%s: compiled %v known %v, want %v %v", tc.name, compiled, known, tc.compiled, tc.known)
		}
		if tc.cond != "" && cond != tc.cond {
			t.Errorf("%s: condition %q, want %q", tc.name, cond, tc.cond)
		}
	}
}

// TestPPDeadSpans: the text of branches known not compiled, nothing of a
// compiled or unknown branch.
func TestPPDeadSpans(t *testing.T) {
	src := "#define FAST 1\n#if FAST\nlive1\n#else\ndead1\n#endif\n#if UNKNOWN\nmaybe\n#endif\n#if 0\ndead2\n#if 1\ndead3\n#endif\n#endif\nlive2\n"
	var dead []string
	for _, sp := range ppDeadSpans(blank([]byte(src)), nil, nil) {
		dead = append(dead, strings.TrimSpace(src[sp[0]:sp[1]]))
	}
	got := strings.Join(dead, "|")
	for _, want := range []string{"dead1", "dead2", "dead3"} {
		if !strings.Contains(got, want) {
			t.Errorf("dead spans %q lack %s", got, want)
		}
	}
	for _, not := range []string{"live1", "live2", "maybe"} {
		if strings.Contains(got, not) {
			t.Errorf("dead spans %q hold %s", got, not)
		}
	}
}
