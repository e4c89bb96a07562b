// Package serve runs the verifier as a reinforcement-learning environment
// service: OpenEnv's HTTP and WebSocket protocol over a recipe's qualified
// tasks, a batch reward endpoint for trainers without OpenEnv, a worker pool
// that schedules judgements the way build does (compiles on all cores, one
// measuring worker per GPU, identical candidates judged once), and a
// recorder that appends every episode to a shard in build's format, so
// `kforge export` turns a training run's rollouts into a release.
package serve

import "time"

// Config is the serve section of a recipe.
type Config struct {
	Listen         string        `yaml:"listen" default:"127.0.0.1:8080" doc:"Address kforge serve listens on (--listen overrides). Loopback by default; another address exposes the judge (set token_env)."`
	Tasks          string        `yaml:"tasks" doc:"Tasks to serve: a tasks.jsonl (kforge qualify's output is best); empty mines the recipe's sources as build does. On a measuring backend every task is qualified on first use, as build does, and only usable tasks are served."`
	Out            string        `yaml:"out" doc:"Directory whose shards/ receives the recorded episodes (one shard per server run, build's format); empty: <out>/serve."`
	MaxTurns       int           `yaml:"max_turns" default:"4" min:"1" max:"64" doc:"Turns (candidates) per episode; the episode is done when they are spent."`
	StopWhenKept   bool          `yaml:"stop_when_kept" default:"true" doc:"End an episode at its first kept candidate; false asks for further improvement until max_turns."`
	MaxSessions    int           `yaml:"max_sessions" default:"64" min:"1" max:"100000" doc:"Concurrent sessions (open episodes over HTTP and WebSocket); a reset beyond it is refused with CAPACITY_REACHED (HTTP 429)."`
	QueueSize      int           `yaml:"queue_size" default:"256" min:"1" max:"1000000" doc:"Candidates waiting to be judged; a step or batch beyond it is refused with HTTP 429 and Retry-After."`
	StepTimeout    time.Duration `yaml:"step_timeout" default:"15m" min:"1s" doc:"Longest a judgement may take (queue, compile, runs); a request's timeout_s only bounds how long its answer is waited for."`
	SessionTimeout time.Duration `yaml:"session_timeout" default:"30m" min:"1s" doc:"An idle session is closed after this and its episode recorded."`
	DrainTimeout   time.Duration `yaml:"drain_timeout" default:"2m" min:"0s" doc:"On SIGTERM, how long judgements in flight may finish before the server records every open episode and exits."`
	MaxBodyBytes   int64         `yaml:"max_body_bytes" default:"1048576" min:"1024" doc:"Largest request body or WebSocket message in bytes (HTTP 413 PAYLOAD_TOO_LARGE; WebSocket close 1009)."`
	MaxBatch       int           `yaml:"max_batch" default:"256" min:"1" max:"100000" doc:"Largest number of items in one POST /v1/rewards."`
	TokenEnv       string        `yaml:"token_env" doc:"Environment variable holding a bearer token every request but /health must present (Authorization: Bearer ...); empty: no token. The token is never logged."`
	FlushInterval  time.Duration `yaml:"flush_interval" default:"1m" min:"1s" doc:"How often the recorded episodes are written out as a complete shard (also at shutdown)."`
	Reward         RewardConfig  `yaml:"reward" doc:"How a verdict becomes a reward (see README: Serving rewards)."`
}

// RewardConfig maps a verdict to a scalar reward. The reward of a kept
// candidate is KeptBase + SpeedupScale·ln(min(speedup, verify.max_speedup)),
// so it grows with log speedup up to the quarantine ceiling; every other
// outcome gets its fixed value.
type RewardConfig struct {
	Rejected     float64 `yaml:"rejected" default:"0" doc:"Reward of a rejected candidate (no code, gate, splice, compile, wrong result, sandbox rules)."`
	Correct      float64 `yaml:"correct" default:"0.1" doc:"Reward of a correct candidate that is not measurably faster (rejected only for speed)."`
	Quarantined  float64 `yaml:"quarantined" default:"0.1" doc:"Reward of a correct candidate whose speedup is above verify.max_speedup (quarantined: more often a broken measurement than a win)."`
	Unverified   float64 `yaml:"unverified" default:"0" doc:"Reward of a candidate that passed every check a compile-only backend can make (never measured)."`
	KeptBase     float64 `yaml:"kept_base" default:"0.2" doc:"Reward of a kept candidate at speedup 1 (it is at least verify.min_speedup)."`
	SpeedupScale float64 `yaml:"speedup_scale" default:"1" min:"0" doc:"Weight of ln(speedup) in a kept candidate's reward."`
}
