package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"kforge/assemble"
	"kforge/configs"
	"kforge/datasets"
	"kforge/filters/verify"
	"kforge/pipeline"
	"kforge/serve"
	"kforge/shards"
	"kforge/sources/model"
	"kforge/sources/repos"
)

// cmdServe runs the verifier as an RL environment service over the
// recipe's tasks (see the serve package), until SIGINT or SIGTERM, then
// drains and writes the recorded episodes as a shard.
func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: kforge serve -c FILE [--listen 127.0.0.1:8080] [--tasks tasks.jsonl] [--out DIR] [--cache-dir DIR]\n\n"+
			"Serve the recipe's tasks as an RL environment (OpenEnv HTTP and WebSocket, POST /v1/rewards); every episode is\n"+
			"recorded into DIR/shards/serve-*/ in build's format, so `kforge export --from DIR` makes a release of it.\n\nflags:")
		fs.PrintDefaults()
	}
	cfgPath := fs.String("c", "", "recipe `FILE` (required)")
	listen := fs.String("listen", "", "address to listen on (default: the recipe's serve.listen, 127.0.0.1:8080)")
	tasksPath := fs.String("tasks", "", "tasks.jsonl to serve (default: the recipe's serve.tasks, else mine its sources)")
	out := fs.String("out", "", "directory whose shards/ receives the episodes (default: serve.out, else <out>/serve)")
	cacheDir := fs.String("cache-dir", "", "cache `DIR` (default: the recipe's cache_dir, else <out>/cache)")
	logFormat := fs.String("log-format", "", "log format: text or json (default: the recipe's)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *cfgPath == "" || fs.NArg() > 0 {
		return showUsage(fs.Usage)
	}
	cfg, err := configs.Load(*cfgPath)
	if err != nil {
		return &configError{err}
	}
	sc := cfg.Serve
	if *listen != "" {
		sc.Listen = *listen
	}
	if *tasksPath != "" {
		sc.Tasks = *tasksPath
	}
	if *out != "" {
		sc.Out = *out
	}
	if sc.Out == "" {
		sc.Out = filepath.Join(cfg.Out, "serve")
	}
	overrideRun(cfg, "", *cacheDir, *logFormat)
	token := ""
	if sc.TokenEnv != "" {
		token = e.getenv(sc.TokenEnv)
		if token == "" {
			return usagef("serve.token_env names %s, which is not set", sc.TokenEnv)
		}
		e.redact.Add(token)
	}
	log := newLogger(e.stderr, cfg.Log.Format, cfg.Log.Level).With("serve", cfg.Name)

	cache, err := pipeline.OpenDirCache(cfg.CacheDir)
	if err != nil {
		return fmt.Errorf("%w", err)
	}
	cache.Log = log
	ver, err := verify.New(cfg.Verify, verify.Options{
		Cache: cache, Log: log, WorkDir: filepath.Join(sc.Out, "work"),
		Checkout: func(ctx context.Context, src datasets.Source) (string, error) {
			return repos.Checkout(ctx, cfg.CacheDir, src)
		},
	})
	if err != nil {
		return fmt.Errorf("verification backend %s cannot run here: %w (run 'kforge doctor')", cfg.Verify.Backend, err)
	}
	var tasks []datasets.Task
	if sc.Tasks != "" {
		tasks, err = datasets.ReadJSONL[datasets.Task](sc.Tasks)
	} else {
		var mined *repos.Result
		mined, err = repos.Mine(ctx, cfg.Sources, repos.Options{CacheDir: cfg.CacheDir, Archs: cfg.Verify.Archs, Log: log})
		if mined != nil {
			tasks = mined.Tasks
		}
	}
	if err != nil {
		return fmt.Errorf("tasks: %w", err)
	}
	tasks, err = serve.Usable(ctx, ver, tasks, log)
	if err != nil {
		return fmt.Errorf("qualifying tasks: %w", err)
	}
	if len(tasks) == 0 {
		return errors.New("no usable task to serve")
	}
	ids, ops, fams := make([]string, len(tasks)), make([]string, len(tasks)), make([]string, len(tasks))
	for i := range tasks {
		ids[i], ops[i], fams[i] = tasks[i].ID, tasks[i].Op, tasks[i].Family
	}
	// The release's splits: a family never straddles train and test.
	splits := assemble.SplitTaskFamilies(ids, ops, fams, cfg.Dataset.Seed, cfg.Dataset.HeldOutFraction, cfg.Dataset.HeldOutOps)

	// Prompts and extraction are the model source's own; no model is called.
	mc := cfg.Model
	mc.Provider, mc.Host, mc.APIKeyEnv = "ollama", "", ""
	gen, err := model.New(mc, cache, nil, log)
	if err != nil {
		return fmt.Errorf("%w", err)
	}
	extract := func(completion, thinking, reference string) (string, string, string) {
		return model.ExtractRegion(completion, thinking, reference, mc.Structured, mc.MaxRegionBytes)
	}

	reward, err := json.Marshal(map[string]any{"reward": sc.Reward})
	if err != nil {
		return err
	}
	ds := cfg.Dataset
	lineage := &shards.Lineage{Build: cfg.Name, Kforge: versionString(), Dataset: &ds, Serve: reward,
		Verify: &shards.VerifyRef{Backend: ver.Backend(), Device: ver.Device(), MinSpeedup: cfg.Verify.MinSpeedup,
			MaxSpeedup: cfg.Verify.MaxSpeedup, Repetitions: cfg.Verify.Repetitions}}
	shardsRoot := filepath.Join(sc.Out, "shards")
	if n, err := serve.Recover(shardsRoot, lineage); err != nil {
		return fmt.Errorf("recovering earlier episodes: %w", err)
	} else if n > 0 {
		log.Info("earlier serve shards finalised from their journals", "shards", n)
	}
	rec, err := serve.OpenRecorder(filepath.Join(shardsRoot, fmt.Sprintf("serve-%s-%d", time.Now().UTC().Format("20060102T150405Z"), os.Getpid())), lineage)
	if err != nil {
		return fmt.Errorf("%w", err)
	}
	arch := ""
	if len(cfg.Verify.Archs) > 0 {
		arch = cfg.Verify.Archs[0]
	}
	pool := serve.NewPool(ver, cfg.Verify.CompileWorkers, sc.QueueSize, sc.StepTimeout)
	envr, err := serve.NewEnv(sc, serve.Options{Tasks: tasks, Splits: splits, Prompts: gen, Extract: extract, Pool: pool, Recorder: rec,
		MaxSpeedup: cfg.Verify.MaxSpeedup, Arch: arch, Log: log, Version: versionString(), Backend: ver.Backend()})
	if err != nil {
		return fmt.Errorf("%w", err)
	}
	ln, err := net.Listen("tcp", sc.Listen)
	if err != nil {
		return fmt.Errorf("%w", err)
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); token == "" {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			log.Warn("listening beyond loopback without a token: anyone who reaches this address can run candidates through the sandbox (set serve.token_env)")
		}
	}
	fmt.Fprintf(e.stderr, "kforge serve: listening on http://%s (%d tasks, backend %s, %d measuring workers); episodes go to %s\n",
		ln.Addr(), len(tasks), ver.Backend(), max(ver.GPUs(), 1), rec.Dir())
	srv := &serve.Server{Env: envr, Pool: pool, Recorder: rec, Config: sc, Token: token, Log: log}
	if err := srv.Run(ctx, ln); err != nil {
		log.Error("serve", "err", err)
		return &silentError{err}
	}
	log.Info("stopped; episodes written", "episodes", rec.Episodes(), "shard", rec.Dir())
	return nil
}
