package model

import (
	"context"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kforge/pipeline"
)

// BenchmarkThroughput200ms measures the request rate through Generate
// (prompt, cache, retries, the official client, extraction) against a server
// that answers every call after 200 ms, with 32 calls in flight. The ideal is
// 32 / 0.2 s = 160 requests/s; "pct_ideal" is the achieved share of it.
//
//	go test -run '^$' -bench . -benchtime 6x ./sources/model
func BenchmarkThroughput200ms(b *testing.B) { benchThroughput(b, false) }

// BenchmarkThroughput200msOfficialChat is the same through the official
// client's Chat, for comparison (it allocates 8 MiB per call).
func BenchmarkThroughput200msOfficialChat(b *testing.B) { benchThroughput(b, true) }

func benchThroughput(b *testing.B, official bool) {
	const (
		concurrency = 32
		latency     = 200 * time.Millisecond
		perIter     = 4 * concurrency
	)
	f := newFakeServer(b)
	f.addModel(testModel, fakeModel{})
	f.setAnswer(func(c chatCall) reply { r := defaultAnswer(c); r.Delay = latency; return r })
	cfg := testConfig(f)
	cfg.Concurrency = concurrency
	cfg.Timeout = time.Minute
	g, stats := newGen(b, cfg, pipeline.NewMemCache())
	g.prov.(*ollamaProvider).official = official
	task := loadTask(b, "task_hip.json")
	ctx := context.Background()
	var next atomic.Int64
	var elapsed time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		var wg sync.WaitGroup
		for range concurrency {
			wg.Go(func() {
				for range perIter / concurrency {
					// A new sample each time: every request is a cache miss.
					if _, err := g.Generate(ctx, Request{Task: task}, int(next.Add(1))); err != nil {
						b.Error(err)
					}
				}
			})
		}
		wg.Wait()
		elapsed += time.Since(start)
	}
	n := stats.Get("llm.calls")
	if n != next.Load() {
		b.Fatalf("%d calls for %d requests", n, next.Load())
	}
	rate := float64(n) / elapsed.Seconds()
	ideal := float64(concurrency) / latency.Seconds()
	b.ReportMetric(rate, "req/s")
	b.ReportMetric(100*rate/ideal, "pct_ideal")
}

// BenchmarkPeerPlainHTTP200ms is the named peer of BenchmarkThroughput200ms:
// the same server, latency and concurrency, driven by bare net/http POSTs of a
// fixed chat body. It is the ceiling this machine reaches for the harness
// itself, so the gap between the two is what Generate costs.
func BenchmarkPeerPlainHTTP200ms(b *testing.B) {
	const (
		concurrency = 32
		latency     = 200 * time.Millisecond
		perIter     = 4 * concurrency
	)
	f := newFakeServer(b)
	f.addModel(testModel, fakeModel{})
	f.setAnswer(func(c chatCall) reply { r := defaultAnswer(c); r.Delay = latency; return r })
	client := newHTTPClient(concurrency)
	body := `{"model":"` + testModel + `","messages":[{"role":"user","content":"make it faster"}],"stream":false,"options":{"seed":1}}`
	var n atomic.Int64
	var elapsed time.Duration
	for b.Loop() {
		start := time.Now()
		var wg sync.WaitGroup
		for range concurrency {
			wg.Go(func() {
				for range perIter / concurrency {
					resp, err := client.Post(f.srv.URL+"/api/chat", "application/json", strings.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					n.Add(1)
				}
			})
		}
		wg.Wait()
		elapsed += time.Since(start)
	}
	rate := float64(n.Load()) / elapsed.Seconds()
	b.ReportMetric(rate, "req/s")
	b.ReportMetric(100*rate/(float64(concurrency)/latency.Seconds()), "pct_ideal")
}
