package repos

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"kforge/datasets"
)

// TestCKTasksFile checks a mined tasks.jsonl against the program's rules,
// recomputed from each task's recorded params and files:
//
//	KFORGE_CK_TASKS=/tmp/ck.jsonl go test -count=1 ./sources/repos/ -run TestCKTasksFile -v
//
// It reports tasks, sizes, generated sizes that break the tiling, padding
// or vector rule, defaults that do (the example's own), DL/DPP tasks for a
// gfx9 arch and regions main never reaches. It fails on a broken generated
// size or a dead region; DL/DPP tasks for gfx9 are listed (some DL ops
// accept is_xdl_supported() archs themselves).
func TestCKTasksFile(t *testing.T) {
	file := os.Getenv("KFORGE_CK_TASKS")
	if file == "" {
		t.Skip("KFORGE_CK_TASKS not set")
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	dlRe := regexp.MustCompile(`struct (Device\w*(?:_Dl|Dl|Dpp)\w*)`)
	var tasks, sizes, generated, badGen, badDef, dlGfx9, dead, needs int
	for sc.Scan() {
		var tk datasets.Task
		if err := json.Unmarshal(sc.Bytes(), &tk); err != nil {
			t.Fatal(err)
		}
		if tk.Kind != datasets.KindCKExample {
			continue
		}
		tasks++
		var all strings.Builder
		for _, fl := range tk.Files {
			all.Write(blank([]byte(fl.Content)))
			all.WriteByte('\n')
		}
		code := all.String()
		al, consts := aliases(code), constants(code)
		params := map[string]string{}
		for _, p := range tk.Region.Params {
			v := p.Value
			for range 8 {
				n := resolveAlias(al, v)
				if c, ok := consts[strings.TrimSpace(n)]; ok {
					n = c
				}
				if n == v {
					break
				}
				v = n
			}
			params[p.Name] = v
		}
		_, hasO := tk.Sizes[0].Dims["O"]
		for _, s := range tk.Sizes {
			sizes++
			rules := ckRulesFor(params, tk.Layouts, hasO)
			if kb := s.Dims["KBatch"]; kb > 1 && rules.Tile["K"] > 0 {
				rules.Tile["K"] *= kb // split-K: each of the KBatch slices is whole tiles
			}
			why := rules.violations(s.Dims)
			if s.Origin == "example_default" {
				if len(why) > 0 {
					badDef++
				}
				continue
			}
			generated++
			if len(why) > 0 {
				badGen++
				t.Errorf("%s %s: %s", tk.Name, s.Name, strings.Join(why, "; "))
			}
		}
		if tk.Extra != nil && dlRe.MatchString(tk.Extra.Declaration) {
			for _, a := range tk.Archs {
				if strings.HasPrefix(a, "gfx9") {
					dlGfx9++
					t.Logf("%s: %s for %s (its IsSupportedArgument decides; see the archs skip reasons)", tk.Name, dlRe.FindStringSubmatch(tk.Extra.Declaration)[1], a)
					break
				}
			}
		}
		alias := strings.TrimSpace(strings.TrimPrefix(aliasHeadRe.FindString(tk.Region.Text), "using"))
		alias = strings.TrimSpace(strings.TrimSuffix(alias, "="))
		if !liveNames(code)[alias] {
			dead++
			t.Errorf("%s: region %s is never used by main", tk.Name, alias)
		}
		if tk.Build.Needs != nil {
			needs++
		}
	}
	t.Logf("tasks %d, sizes %d (generated %d), generated sizes breaking the rules %d, example defaults breaking them %d, DL/DPP tasks for gfx9 %d, dead regions %d, tasks with toolchain needs %d",
		tasks, sizes, generated, badGen, badDef, dlGfx9, dead, needs)
}
