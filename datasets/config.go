package datasets

// Config is the dataset section of a recipe: what rows a release holds.
type Config struct {
	Formats          []string     `yaml:"formats" default:"[sft, rl, pairs, multiturn]" doc:"Dataset configs to write: sft, rl, pairs, multiturn."`
	Seed             int          `yaml:"seed" default:"1" doc:"Seed of every random choice in splitting and mixing."`
	HeldOutFraction  float64      `yaml:"heldout_fraction" default:"0.1" min:"0" max:"1" doc:"Fraction of task families (never variants) in the test split, on average: each family goes by a seeded hash of itself, so its split is the same in every release and in kforge serve."`
	HeldOutOps       []string     `yaml:"heldout_ops" doc:"Op families held out whole for evaluation (e.g. softmax)."`
	NearDupThreshold float64      `yaml:"near_dup_threshold" default:"0.9" min:"0" max:"1" doc:"MinHash Jaccard estimate above which two variants are near-duplicates; the fastest stays."`
	Decontaminate    []string     `yaml:"decontaminate" doc:"Paths of evaluation sets (JSONL or Parquet, or directories of code files) whose code must not leak into a release."`
	NGram            int          `yaml:"ngram" default:"13" min:"4" max:"64" doc:"Token n-gram length for decontamination."`
	Replay           ReplayConfig `yaml:"replay" doc:"General data mixed into sft against catastrophic forgetting."`
	MaxShardMB       int          `yaml:"max_shard_mb" default:"450" min:"1" max:"4096" doc:"Largest Parquet shard, in MB."`
	PrettyName       string       `yaml:"pretty_name" default:"kforge kernel optimisation dataset" doc:"Dataset card title."`
	License          string       `yaml:"license" doc:"License of the release (Hub license id); empty: taken from the sources' licenses (one id when they all agree, else other with each source's license listed)."`
	Tokenizer        string       `yaml:"tokenizer" doc:"The tokenizer.json of the model that wrote the data (byte-level BPE: Qwen, Llama 3): a local path, or a file of its Hub model repository as hf://ORG/NAME@REVISION/tokenizer.json (downloaded once into the cache); the card's token statistics and recommended lengths use it. Empty: tokens are estimated as UTF-8 bytes / 4, and the card says so."`
	Verl             bool         `yaml:"verl" doc:"Add verl's columns to rl: data_source, ability, reward_model {style, ground_truth}, extra_info."`
}

// ReplayConfig says where replay rows come from and how many.
type ReplayConfig struct {
	Fraction float64        `yaml:"fraction" default:"0.01" min:"0" max:"0.5" doc:"Share of the sft split that is replay, counted in tokens (or rows)."`
	Mode     string         `yaml:"mode" default:"tokens" enum:"tokens|rows" doc:"Count the fraction in tokens or in rows."`
	Sources  []ReplaySource `yaml:"sources" doc:"Replay data sources; empty means no replay."`
}

// ReplaySource is one source of general data.
type ReplaySource struct {
	Path     string  `yaml:"path" doc:"Local JSONL or Parquet file, or a local Hugging Face dataset folder."`
	Hub      string  `yaml:"hub" doc:"Hugging Face dataset repo id (org/name), downloaded once into the cache."`
	Revision string  `yaml:"revision" doc:"Pinned revision (commit) of the Hub dataset; required with hub."`
	Split    string  `yaml:"split" default:"train" doc:"Split to read."`
	Weight   float64 `yaml:"weight" default:"1" min:"0" doc:"Relative weight among replay sources."`
}
