package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkStep is one judged step over HTTP with the scripted instant
// judge: a distinct candidate each time (no dedup), an episode of 64 turns
// per client, as many clients as GOMAXPROCS×4. Compare with
// BenchmarkBareHandler, a bare net/http handler doing the same JSON round
// trip: the difference is the service's overhead per judged candidate.
func BenchmarkStep(b *testing.B) {
	ts := startServer(b, &scripted{}, func(c *Config) { c.MaxTurns = 64; c.StopWhenKept = false; c.MaxSessions = 4096; c.QueueSize = 4096 })
	var n atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	b.SetParallelism(4)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ep, turn := "", 64
		for pb.Next() {
			if turn == 64 {
				resp, err := client.Post(ts.url+"/reset", "application/json", bytes.NewReader([]byte(`{}`)))
				if err != nil {
					b.Error(err)
					return
				}
				var m Response
				json.NewDecoder(resp.Body).Decode(&m)
				resp.Body.Close()
				ep, turn = m.Observation.EpisodeID, 0
			}
			body, _ := json.Marshal(StepRequest{EpisodeID: ep, Action: &Action{Region: ptr(fmt.Sprintf("// %d SPEEDUP=1.5", n.Add(1)))}})
			resp, err := client.Post(ts.url+"/step", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			var m Response
			json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
			if resp.StatusCode != 200 || m.Reward == nil {
				b.Errorf("step: %d", resp.StatusCode)
				return
			}
			turn++
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "steps/s")
}

func ptr[T any](x T) *T { return &x }

// BenchmarkBareHandler is the peer: a net/http handler that decodes the
// same step request and answers an observation-sized JSON, with no judge.
func BenchmarkBareHandler(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req StepRequest
		raw, _ := io.ReadAll(r.Body)
		json.Unmarshal(raw, &req)
		x := 0.6
		out := Response{Observation: Observation{EpisodeID: req.EpisodeID, Reward: &x, Metadata: map[string]any{"reward_rule": RuleKept}}, Reward: &x}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var n atomic.Int64
	b.SetParallelism(4)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body, _ := json.Marshal(StepRequest{EpisodeID: "e", Action: &Action{Region: ptr(fmt.Sprintf("// %d SPEEDUP=1.5", n.Add(1)))}})
			resp, err := client.Post(url+"/step", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "steps/s")
}
