package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"kforge/shards"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoad64SessionsWithFaults: 64 concurrent sessions, half over HTTP and
// half over WebSocket, with faults: clients that leave mid-step, malformed
// actions, oversized bodies, timeouts. No crash, every error has its code,
// and every episode that judged a turn is in the shard after the drain.
func TestLoad64SessionsWithFaults(t *testing.T) {
	j := &scripted{delay: 2 * time.Millisecond, gpus: 2}
	ts := startServer(t, j, func(c *Config) { c.MaxBodyBytes = 64 << 10; c.QueueSize = 1024 })
	var judgedEpisodes atomic.Int64
	codes := sync.Map{}
	note := func(code string) {
		n, _ := codes.LoadOrStore(code, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
	}
	big := strings.Repeat("x", 70<<10)
	var wg sync.WaitGroup
	for s := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			judged := false
			if s%2 == 0 {
				_, m, _ := post(t, ts.url+"/reset", map[string]any{"seed": s})
				ep := m["observation"].(map[string]any)["episode_id"]
			turns:
				for turn := range 4 {
					var body any = map[string]any{"episode_id": ep, "action": map[string]any{"region": fmt.Sprintf("// s%d t%d SPEEDUP=1.0%d", s, turn, turn)}}
					switch (s + turn) % 5 {
					case 1:
						body = `{"episode_id": "` + ep.(string) + `", "action": {"region": 5}}`
					case 2:
						body = `{"episode_id": "` + ep.(string) + `", "action": {"region": "` + big + `"}}`
					case 3:
						// A client that leaves mid-step.
						ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
						raw, _ := json.Marshal(body)
						req, _ := http.NewRequestWithContext(ctx, "POST", ts.url+"/step", strings.NewReader(string(raw)))
						if resp, err := http.DefaultClient.Do(req); err == nil {
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
						cancel()
						judged = true // the step goes on and is recorded
						note("disconnect")
						// Wait for it before the next turn.
						for range 500 {
							r, err := http.Get(ts.url + "/state?episode_id=" + ep.(string))
							if err != nil {
								break
							}
							var st State
							json.NewDecoder(r.Body).Decode(&st)
							r.Body.Close()
							if !st.Pending {
								break
							}
							time.Sleep(5 * time.Millisecond)
						}
						continue
					}
					code, m, _ := post(t, ts.url+"/step", body)
					switch {
					case code == 200:
						judged = true
						note("ok")
						if m["done"] == true {
							break turns
						}
					case m["code"] == nil || m["code"] == "":
						t.Errorf("status %d without an error code: %v", code, m)
					default:
						note(m["code"].(string))
					}
				}
			} else {
				c, err := DialWebSocket(context.Background(), strings.Replace(ts.url, "http", "ws", 1)+"/ws", nil, 1<<20)
				if err != nil {
					t.Error(err)
					return
				}
				send := func(msg string) map[string]any {
					if err := c.WriteMessage(OpText, []byte(msg)); err != nil {
						return nil
					}
					_, data, err := c.ReadMessage()
					if err != nil {
						return nil
					}
					var m map[string]any
					json.Unmarshal(data, &m)
					return m
				}
				send(`{"type":"reset","data":{"seed":` + fmt.Sprint(s) + `}}`)
				for turn := range 3 {
					switch (s + turn) % 4 {
					case 1:
						m := send(`{"type":"step","data":{"completion":`)
						if m["type"] != "error" {
							t.Errorf("malformed: %v", m)
						}
						note(m["data"].(map[string]any)["code"].(string))
					case 2:
						m := send(`{"type":"step","data":{"action":{"region":"// ws` + fmt.Sprint(s) + ` SPEEDUP=2"},"timeout_s":0.000001}}`)
						if m != nil && m["type"] == "error" {
							note(m["data"].(map[string]any)["code"].(string))
						}
						judged = true
					default:
						m := send(`{"type":"step","data":{"region":"// ws` + fmt.Sprint(s, turn) + ` SPEEDUP=1.5"}}`)
						if m != nil && m["type"] == "observation" {
							judged = true
						} else if m != nil {
							note(m["data"].(map[string]any)["code"].(string))
						}
					}
				}
				if s%3 == 0 {
					c.NetConn().Close() // a disconnect without a close frame
				} else {
					c.Close()
				}
			}
			if judged {
				judgedEpisodes.Add(1)
			}
		}()
	}
	wg.Wait()
	ts.stop(t)
	d, err := shards.Read(ts.rec.Dir())
	if err != nil {
		t.Fatal(err)
	}
	eps := map[string]bool{}
	for _, vd := range d.Verdicts {
		var x map[string]any
		json.Unmarshal(vd.Extra, &x)
		eps[x["episode_id"].(string)] = true
	}
	if int64(len(eps)) != judgedEpisodes.Load() || ts.rec.Episodes() != judgedEpisodes.Load() {
		t.Fatalf("%d episodes in the shard, %d recorded, %d judged a turn", len(eps), ts.rec.Episodes(), judgedEpisodes.Load())
	}
	summary := map[string]int64{}
	codes.Range(func(k, v any) bool { summary[k.(string)] = v.(*atomic.Int64).Load(); return true })
	for _, want := range []string{CodeValidation, CodeTooLarge, CodeInvalidJSON, "ok", "disconnect"} {
		if summary[want] == 0 {
			t.Errorf("no %s in %v", want, summary)
		}
	}
	t.Logf("outcomes %v; %d episodes recorded", summary, len(eps))
}
