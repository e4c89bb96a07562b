// Package repos mines kernel-optimisation tasks from git repositories: it
// mirrors each configured repository into the cache with the git command line,
// pins a commit, and runs a miner per task kind over the checkout.
package repos

// Config is the sources section of a recipe: which repositories to mine.
type Config struct {
	Repos    []RepoConfig `yaml:"repos" doc:"Repositories to mine, in order."`
	Licenses []string     `yaml:"licenses" default:"[MIT, Apache-2.0, BSD-2-Clause, BSD-3-Clause]" doc:"SPDX license ids allowed into a dataset; tasks under any other license are skipped and counted."`
	MaxTasks int          `yaml:"max_tasks" default:"0" min:"0" doc:"Stop after this many tasks (0: no limit); for quick runs."`
	Offline  bool         `yaml:"offline" default:"false" doc:"Never fetch: mine from the existing mirrors in the cache only."`
	// AllowPartial lets a build go on from the repositories it could read.
	AllowPartial bool `yaml:"allow_partial" default:"false" doc:"When a repository cannot be read (unreachable upstream, a mirror that cannot be repaired), build from the others and allow publishing; it is still named in the log, card and manifest. false: an unreadable repository is a failed item, so the build exits 3 and does not publish."`
}

// RepoConfig is one repository to mine.
type RepoConfig struct {
	URL    string   `yaml:"url" required:"true" doc:"git URL, or a local path to a checkout."`
	Ref    string   `yaml:"ref" default:"HEAD" doc:"Branch, tag or commit to mine; resolved to a 40-hex commit recorded on every task."`
	Subdir string   `yaml:"subdir" doc:"Project directory inside a monorepo, e.g. projects/composablekernel in ROCm/rocm-libraries."`
	Kind   string   `yaml:"kind" default:"auto" enum:"auto|ck-example|ck-tile|hip-program" doc:"Which miner to run; auto runs every miner that recognises the layout."`
	Paths  []string `yaml:"paths" doc:"Only mine under these paths (relative to subdir)."`
	Archs  []string `yaml:"archs" doc:"Target architectures recorded on the tasks; empty means the verify section's archs."`
}
