package sched

// Config is the slurm section of a recipe: defaults of `kforge slurm submit`
// that belong with the recipe rather than on every command line.
type Config struct {
	Partition      string `yaml:"partition" doc:"Partition of the shard jobs (--partition overrides); empty: the cluster's default."`
	MergePartition string `yaml:"merge_partition" doc:"Partition of the merge job, which needs no GPU: a CPU partition (--merge-partition overrides); empty: the cluster's default, never the shards' partition."`
}
