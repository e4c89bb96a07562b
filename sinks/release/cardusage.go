package release

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"kforge/assemble"
	"kforge/datasets"
	pq "kforge/sinks/parquet"
)

// RepoPlaceholder stands in the card's code for the Hub id when the release
// is written before its repository is known; the code says to set it.
const RepoPlaceholder = "your-org/your-dataset"

var configIntro = map[string]string{
	datasets.ConfigSFT:       "`sft`: verified faster code as conversations, both as `messages` (TRL conversational language modelling) and as `prompt`/`completion` (TRL conversational prompt-completion, loss on the completion only)",
	datasets.ConfigRL:        "`rl`: a prompt plus everything a reward function needs to rebuild, run and time a candidate (TRL prompt-only; verl columns when the recipe sets `dataset.verl`)",
	datasets.ConfigPairs:     "`pairs`: prompt, chosen, rejected (TRL explicit-prompt preference)",
	datasets.ConfigMultiturn: "`multiturn`: refinement conversations with per-turn verdicts",
}

func (b *builder) repoLine() string {
	if b.opt.Repo != "" {
		return fmt.Sprintf("REPO_ID = %q\n", b.opt.Repo)
	}
	return fmt.Sprintf("REPO_ID = %q  # written before publishing: set this to the dataset's Hub id (ORG/NAME)\n", RepoPlaceholder)
}

func (b *builder) introSection(p func(string, ...any)) {
	configs, _, _ := b.configSplits()
	var items []string
	for _, c := range configs {
		items = append(items, configIntro[c])
	}
	p("Configs in this release:\n\n- %s.\n\nSplits are by task: no task is in two splits.\n\n", strings.Join(items, ";\n- "))
	first := datasets.ConfigSFT
	if len(configs) > 0 && !slices.Contains(configs, first) {
		first = configs[0]
	}
	p("```python\nfrom datasets import load_dataset\n\n%sds = load_dataset(REPO_ID, %q)\n```\n\n", b.repoLine(), first)
}

// columnType is a column's type as the card shows it.
func columnType(f pq.YAMLFeature) string {
	switch {
	case f.Dtype != "":
		return f.Dtype
	case f.Struct != nil:
		var fs []string
		for _, s := range f.Struct {
			fs = append(fs, s.Name+": "+columnType(s))
		}
		return "{" + strings.Join(fs, ", ") + "}"
	}
	switch l := f.List.(type) {
	case string:
		return "list[" + l + "]"
	case []pq.YAMLFeature:
		return "list[" + columnType(pq.YAMLFeature{Struct: l}) + "]"
	}
	return "?"
}

func (b *builder) columnsSection(p func(string, ...any), configs []string) {
	p("## Columns\n\n")
	for _, c := range configs {
		p("### %s\n\n| column | type | description |\n|---|---|---|\n", c)
		for _, f := range pq.YAMLFeatures(b.schema(c)) {
			p("| `%s` | %s | %s |\n", f.Name, md(columnType(f)), md(datasets.ColumnDoc(c, f.Name)))
		}
		p("\n")
	}
}

func (b *builder) tokenizerLine() string {
	if !b.tok.Exact() {
		return "Tokens are **estimated** as UTF-8 bytes / 4: the recipe names no tokenizer (`dataset.tokenizer: /path/tokenizer.json` gives real counts). Code usually tokenizes denser than that; leave headroom."
	}
	return fmt.Sprintf("Tokens are counted with the tokenizer of the model that wrote the data (`%s`).",
		filepath.Join(filepath.Base(filepath.Dir(b.tok.Name())), filepath.Base(b.tok.Name())))
}

func (b *builder) tokensSection(p func(string, ...any), configs []string) {
	what := map[string]string{
		datasets.ConfigSFT:       "sft its `prompt` and `completion`",
		datasets.ConfigRL:        "rl its `prompt` and the reference solution",
		datasets.ConfigPairs:     "pairs its `prompt` and the longer of `chosen` and `rejected`",
		datasets.ConfigMultiturn: "multiturn the messages before the first answer and the rest",
	}
	var parts []string
	for _, c := range configs {
		parts = append(parts, what[c])
	}
	p("## Token statistics\n\n%s Each message counts its content (and reasoning) plus %d tokens for chat-template markers. "+
		"Prompt and completion: %s.\n\n", b.tokenizerLine(), TemplateTokensPerMessage, strings.Join(parts, "; "))
	p("| config | rows | prompt p50 | prompt p95 | prompt max | completion p50 | completion p95 | completion max | longest row |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range configs {
		st, ok := b.tokenStats(c)
		if !ok {
			continue
		}
		p("| %s | %d | %d | %d | %d | %d | %d | %d | %d |\n", c, st.Rows, st.PromptP50, st.PromptP95, st.PromptMax,
			st.ComplP50, st.ComplP95, st.ComplMax, st.TotalMax)
	}
	p("\n")
}

func (b *builder) usageSection(p func(string, ...any), configs []string) {
	p("## Use with TRL / verl\n\nThe lengths below keep every row whole (the longest, rounded up to a multiple of 64); " +
		"shorter ones truncate rows, and a truncated kernel is not the verified one.\n\n")
	repo := b.repoLine()
	if st, ok := b.tokenStats(datasets.ConfigSFT); ok && slices.Contains(configs, datasets.ConfigSFT) {
		p("### SFT (TRL `SFTTrainer`)\n\n`prompt`/`completion` is TRL's conversational prompt-completion form: the loss is on the completion only " +
			"(`completion_only_loss`, on by default for it). To train on whole conversations use `messages` instead " +
			"(and set `assistant_only_loss=True` if the chat template supports it). The assistant's thinking is in each assistant message's " +
			"`reasoning_content`, where chat templates that render reasoning (Qwen3, DeepSeek-R1) read it; others ignore it.\n\n")
		p("```python\nfrom datasets import load_dataset\nfrom trl import SFTConfig, SFTTrainer\n\n%s"+
			"ds = load_dataset(REPO_ID, \"sft\", split=\"train\").select_columns([\"prompt\", \"completion\"])\n"+
			"args = SFTConfig(max_length=%d, completion_only_loss=True)\n"+
			"trainer = SFTTrainer(model=MODEL, args=args, train_dataset=ds)\n```\n\n", repo, RoundUp64(st.TotalMax))
	}
	if st, ok := b.tokenStats(datasets.ConfigRL); ok && slices.Contains(configs, datasets.ConfigRL) {
		p("### GRPO (TRL `GRPOTrainer`)\n\nEvery other column of `rl` reaches reward functions as a keyword argument; `task_spec` " +
			"is the whole task, which `kforge verify --tasks - --candidate FILE` reads on stdin and judges. " +
			"`max_completion_length` covers the reference solutions; a model that reasons first needs more.\n\n")
		p("```python\nfrom trl import GRPOConfig\n\nargs = GRPOConfig(max_prompt_length=%d, max_completion_length=%d)\n```\n\n",
			RoundUp64(st.PromptMax), RoundUp64(st.ComplMax))
		p("### verl\n\n")
		if b.ds.Verl {
			p("`rl` carries verl's columns: `data_source` (`%s`), `prompt`, `ability`, `reward_model` (`style`, `ground_truth`: the task spec JSON) "+
				"and `extra_info`. Download the Parquet files and point verl at them:\n\n", assemble.VerlDataSource)
		} else {
			p("This release was built without verl's columns (`data_source`, `ability`, `reward_model`, `extra_info`); " +
				"set `dataset.verl: true` in the recipe to add them. The lengths apply either way:\n\n")
		}
		bashRepo := "REPO_ID=" + b.opt.Repo + "\n"
		if b.opt.Repo == "" {
			bashRepo = "REPO_ID=" + RepoPlaceholder + "  # set this to the dataset's Hub id (ORG/NAME)\n"
		}
		p("```bash\n%shuggingface-cli download --repo-type dataset \"$REPO_ID\" --local-dir kforge-data\n"+
			"python3 -m verl.trainer.main_ppo \\\n  data.train_files=\"$(ls kforge-data/data/rl/train-*.parquet | paste -sd, -)\" \\\n"+
			"  data.prompt_key=prompt data.max_prompt_length=%d data.max_response_length=%d data.truncation=error \\\n"+
			"  custom_reward_function.path=kforge_reward.py custom_reward_function.name=compute_score\n```\n\n",
			bashRepo, RoundUp64(st.PromptMax), RoundUp64(st.ComplMax))
		p("A reward function gets `ground_truth` (the task spec) and the response; it writes the response's code to a file and runs " +
			"`kforge verify --tasks - --candidate FILE` with the task spec on stdin.\n\n")
	}
	if st, ok := b.tokenStats(datasets.ConfigPairs); ok && slices.Contains(configs, datasets.ConfigPairs) {
		p("### DPO (TRL `DPOTrainer`)\n\n```python\nfrom trl import DPOConfig\n\nargs = DPOConfig(max_prompt_length=%d, max_completion_length=%d, max_length=%d)\n```\n\n",
			RoundUp64(st.PromptMax), RoundUp64(st.ComplMax), RoundUp64(st.TotalMax))
	}
	if st, ok := b.tokenStats(datasets.ConfigMultiturn); ok && slices.Contains(configs, datasets.ConfigMultiturn) {
		p("### Multi-turn SFT\n\n`multiturn` is `messages` only: `SFTConfig(max_length=%d, assistant_only_loss=True)`.\n\n", RoundUp64(st.TotalMax))
	}
}
