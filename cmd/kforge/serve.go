package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"kforge/configs"
	"kforge/datasets"
	"kforge/filters/verify"
	"kforge/pipeline"
	"kforge/serve"
	"kforge/sources/model"
	"kforge/sources/repos"
)

// cmdServe runs the verifier as an RL environment service over the
// recipe's tasks (see the serve package), until SIGINT or SIGTERM, then
// drains and writes the recorded episodes as a shard.
func cmdServe(ctx context.Context, e *env, args []string) int {
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
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	if *cfgPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	cfg, err := configs.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitUsage
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
	if *cacheDir != "" {
		cfg.CacheDir = *cacheDir
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = filepath.Join(cfg.Out, "cache")
	}
	if *logFormat != "" {
		cfg.Log.Format = *logFormat
	}
	token := ""
	if sc.TokenEnv != "" {
		token = e.getenv(sc.TokenEnv)
		if token == "" {
			fmt.Fprintf(e.stderr, "kforge serve: serve.token_env names %s, which is not set\n", sc.TokenEnv)
			return exitUsage
		}
		e.redact.Add(token)
	}
	log := newLogger(e.stderr, cfg.Log.Format, cfg.Log.Level).With("serve", cfg.Name)

	cache, err := pipeline.OpenDirCache(cfg.CacheDir)
	if err != nil {
		fmt.Fprintf(e.stderr, "kforge serve: %v\n", err)
		return exitFailed
	}
	cache.Log = log
	ver, err := verify.New(cfg.Verify, verify.Options{
		Cache: cache, Log: log, WorkDir: filepath.Join(sc.Out, "work"),
		Checkout: func(ctx context.Context, src datasets.Source) (string, error) {
			return repos.Checkout(ctx, cfg.CacheDir, src)
		},
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "kforge serve: verification backend %s cannot run here: %v (run 'kforge doctor')\n", cfg.Verify.Backend, err)
		return exitFailed
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
		fmt.Fprintf(e.stderr, "kforge serve: tasks: %v\n", err)
		return exitFailed
	}
	tasks, err = serve.Usable(ctx, ver, tasks, log)
	if err != nil {
		fmt.Fprintf(e.stderr, "kforge serve: qualifying tasks: %v\n", err)
		return exitFailed
	}
	if len(tasks) == 0 {
		fmt.Fprintln(e.stderr, "kforge serve: no usable task to serve")
		return exitFailed
	}
	ids, ops := make([]string, len(tasks)), make([]string, len(tasks))
	for i := range tasks {
		ids[i], ops[i] = tasks[i].ID, tasks[i].Op
	}
	splits := datasets.SplitTasks(ids, ops, cfg.Dataset.Seed, cfg.Dataset.HeldOutFraction, cfg.Dataset.HeldOutOps)

	// Prompts and extraction are the model source's own; no model is called.
	mc := cfg.Model
	mc.Provider, mc.Host, mc.APIKeyEnv = "ollama", "", ""
	gen, err := model.New(mc, cache, nil, log)
	if err != nil {
		fmt.Fprintf(e.stderr, "kforge serve: %v\n", err)
		return exitFailed
	}
	extract := func(completion, thinking, reference string) (string, string, string) {
		return model.ExtractRegion(completion, thinking, reference, mc.Structured, mc.MaxRegionBytes)
	}

	lineage := map[string]any{"build": cfg.Name, "serve": true, "kforge": versionString(),
		"verify": map[string]any{"backend": ver.Backend(), "device": ver.Device(), "min_speedup": cfg.Verify.MinSpeedup, "max_speedup": cfg.Verify.MaxSpeedup, "repetitions": cfg.Verify.Repetitions},
		"reward": sc.Reward, "dataset": cfg.Dataset}
	shardsRoot := filepath.Join(sc.Out, "shards")
	if n, err := serve.Recover(shardsRoot, nil, lineage); err != nil {
		fmt.Fprintf(e.stderr, "kforge serve: recovering earlier episodes: %v\n", err)
		return exitFailed
	} else if n > 0 {
		log.Info("earlier serve shards finalised from their journals", "shards", n)
	}
	rec, err := serve.OpenRecorder(filepath.Join(shardsRoot, fmt.Sprintf("serve-%s-%d", time.Now().UTC().Format("20060102T150405Z"), os.Getpid())), nil, lineage)
	if err != nil {
		fmt.Fprintf(e.stderr, "kforge serve: %v\n", err)
		return exitFailed
	}
	arch := ""
	if len(cfg.Verify.Archs) > 0 {
		arch = cfg.Verify.Archs[0]
	}
	pool := serve.NewPool(ver, cfg.Verify.CompileWorkers, sc.QueueSize, sc.StepTimeout)
	envr, err := serve.NewEnv(sc, serve.Options{Tasks: tasks, Splits: splits, Prompts: gen, Extract: extract, Pool: pool, Recorder: rec,
		MaxSpeedup: cfg.Verify.MaxSpeedup, Arch: arch, Log: log, Version: versionString(), Backend: ver.Backend()})
	if err != nil {
		fmt.Fprintf(e.stderr, "kforge serve: %v\n", err)
		return exitFailed
	}
	ln, err := net.Listen("tcp", sc.Listen)
	if err != nil {
		fmt.Fprintf(e.stderr, "kforge serve: %v\n", err)
		return exitFailed
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
		return exitFailed
	}
	log.Info("stopped; episodes written", "episodes", rec.Episodes(), "shard", rec.Dir())
	return exitOK
}
