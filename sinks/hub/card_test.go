package hub

import (
	"strings"
	"testing"
)

func TestValidateCard(t *testing.T) {
	files := []string{"README.md", "data/sft/train-00000-of-00002.parquet", "data/sft/train-00001-of-00002.parquet", "data/rl/test-00000-of-00001.parquet"}
	good := `---
license: apache-2.0
language: [en]
task_categories: [text-generation]
size_categories: [1K<n<10K]
pretty_name: Kernels
configs:
- config_name: sft
  default: true
  data_files:
  - split: train
    path: data/sft/train-*
- config_name: rl
  data_files:
  - split: test
    path: [data/rl/test-*.parquet]
- config_name: all
  data_files: data/**/*.parquet
dataset_info:
- config_name: sft
  splits:
  - name: train
    num_bytes: 10
    num_examples: 2
  download_size: 5
---
# Kernels
`
	cases := []struct {
		name, readme, want string // want "" = valid
	}{
		{"valid", good, ""},
		{"crlf", strings.ReplaceAll(good, "\n", "\r\n"), ""},
		{"no front matter", "# Kernels\n", "does not start with"},
		{"unclosed", "---\nlicense: mit\n", "not closed"},
		{"empty", "---\n---\n", "empty"},
		{"bad yaml", "---\nlicense: [mit\n---\n", "not valid YAML"},
		{"not a mapping", "---\n- a\n- b\n---\n", "not valid YAML"},
		{"no license", "---\npretty_name: x\n---\n", "license is missing"},
		{"license upper case", "---\nlicense: Apache-2.0\n---\n", "not a Hub license id"},
		{"license with space", "---\nlicense: apache 2.0\n---\n", "not a Hub license id"},
		{"license list ok", "---\nlicense: [mit, cc-by-4.0]\n---\n", ""},
		{"license other without name", "---\nlicense: other\n---\n", "license_name"},
		{"license other with name", "---\nlicense: other\nlicense_name: kforge-1\nlicense_link: LICENSE\n---\n", ""},
		{"license map", "---\nlicense: {id: mit}\n---\n", "string or a list"},
		{"bad language", "---\nlicense: mit\nlanguage: [English]\n---\n", "language"},
		{"bad size category", "---\nlicense: mit\nsize_categories: [10K<n<1M]\n---\n", "size_categories"},
		{"bad task", "---\nlicense: mit\ntask_categories: [Text Generation]\n---\n", "task_categories"},
		{"empty pretty_name", "---\nlicense: mit\npretty_name: ' '\n---\n", "pretty_name"},
		{"data_files match nothing", strings.Replace(good, "data/sft/train-*", "data/sft/validation-*", 1), `"data/sft/validation-*" matches no file`},
		{"star does not cross folders", strings.Replace(good, "data/**/*.parquet", "data/*.parquet", 1), "matches no file"},
		{"config without name", "---\nlicense: mit\nconfigs:\n- data_files: data/sft/*\n---\n", "config_name is required"},
		{"duplicate config", "---\nlicense: mit\nconfigs:\n- config_name: a\n  data_files: data/sft/*\n- config_name: a\n  data_files: data/sft/*\n---\n", "appears twice"},
		{"two defaults", "---\nlicense: mit\nconfigs:\n- config_name: a\n  default: true\n  data_files: data/sft/*\n- config_name: b\n  default: true\n  data_files: data/rl/*\n---\n", "at most one"},
		{"no data_files", "---\nlicense: mit\nconfigs:\n- config_name: a\n---\n", "data_files is required"},
		{"duplicate split", "---\nlicense: mit\nconfigs:\n- config_name: a\n  data_files:\n  - split: train\n    path: data/sft/*\n  - split: train\n    path: data/rl/*\n---\n", `split "train" appears twice`},
		{"bad split name", "---\nlicense: mit\nconfigs:\n- config_name: a\n  data_files:\n  - split: my split\n    path: data/sft/*\n---\n", "split \"my split\" is not valid"},
		{"data_dir", "---\nlicense: mit\nconfigs:\n- config_name: a\n  data_dir: data/rl\n  data_files: test-*\n---\n", ""},
		{"dataset_info unknown config", strings.Replace(good, "- config_name: sft\n  splits", "- config_name: pairs\n  splits", 1), `config_name "pairs" is not in configs`},
		{"negative examples", strings.Replace(good, "num_examples: 2", "num_examples: -2", 1), "num_examples"},
		{"configs not a list", "---\nlicense: mit\nconfigs: sft\n---\n", "configs must be a list"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateCard([]byte(c.readme), files)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("want error with %q, got %v", c.want, err)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		p, name string
		want    bool
	}{
		{"data/sft/train-*", "data/sft/train-00000-of-00001.parquet", true},
		{"data/sft/train-*", "data/sft/x/train-0", false},
		{"data/**/*.parquet", "data/a/b/c.parquet", true},
		{"data/**/*.parquet", "data/c.parquet", true},
		{"**", "a/b", true},
		{"data/*", "data", false},
	}
	for _, c := range cases {
		if got := globMatch(c.p, c.name); got != c.want {
			t.Errorf("%s ~ %s: %v", c.p, c.name, got)
		}
	}
}
