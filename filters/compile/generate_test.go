package compile

import (
	"testing"

	"kforge/datasets"
)

// TestGenerateFromRefusesPathsLeavingTheBuild: a recorded generate step
// whose paths leave the build directory, or whose script is not in its
// tree, is refused before anything runs.
func TestGenerateFromRefusesPathsLeavingTheBuild(t *testing.T) {
	ok := datasets.GenerateStep{Interpreter: "python3", Tree: "ex/gen", Script: "ex/gen/generate.py", OutDir: "out", Outputs: []string{"*.cpp"}}
	if g, err := GenerateFrom(&ok, "/checkout"); err != nil || g.TreeDir != "/checkout/ex/gen" {
		t.Fatalf("%+v %v", g, err)
	}
	for name, edit := range map[string]func(*datasets.GenerateStep){
		"tree up":       func(s *datasets.GenerateStep) { s.Tree = "../x" },
		"absolute out":  func(s *datasets.GenerateStep) { s.OutDir = "/tmp/x" },
		"script out":    func(s *datasets.GenerateStep) { s.Script = "other/generate.py" },
		"output up":     func(s *datasets.GenerateStep) { s.Outputs = []string{"../*.cpp"} },
		"no outputs":    func(s *datasets.GenerateStep) { s.Outputs = nil },
		"no interp":     func(s *datasets.GenerateStep) { s.Interpreter = "" },
		"tree prefixed": func(s *datasets.GenerateStep) { s.Script = "ex/generator.py" },
	} {
		s := ok
		s.Outputs = append([]string(nil), ok.Outputs...)
		edit(&s)
		if _, err := GenerateFrom(&s, "/checkout"); err == nil {
			t.Errorf("%s: accepted %+v", name, s)
		}
	}
}
