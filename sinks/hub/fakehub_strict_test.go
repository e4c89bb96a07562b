package hub

import (
	"net/http"
	"strings"
	"testing"
)

// TestFakeHubIsStrict checks the test double itself: it must refuse what
// the real Hub refuses, or the publisher's tests prove nothing.
func TestFakeHubIsStrict(t *testing.T) {
	fh := newFakeHub(t, testToken)
	fh.seedRepo(testRepo, true)
	oid := strings.Repeat("ab", 32)
	cases := []struct {
		name, method, path, ctype, auth, body string
		want                                  int
	}{
		{"no auth", "GET", "/api/datasets/kforge/kernels/revision/main", "", "", "", 401},
		{"wrong token", "GET", "/api/datasets/kforge/kernels/revision/main", "", "Bearer hf_nope", "", 401},
		{"ok revision", "GET", "/api/datasets/kforge/kernels/revision/main", "", "Bearer " + testToken, "", 200},
		{"unknown route", "GET", "/api/datasets/kforge/kernels/whatever", "", "Bearer " + testToken, "", 404},
		{"wrong method", "GET", "/api/repos/create", "", "Bearer " + testToken, "", 405},
		{"create: text body", "POST", "/api/repos/create", "text/plain", "Bearer " + testToken, `{}`, 415},
		{"create: missing fields", "POST", "/api/repos/create", "application/json", "Bearer " + testToken, `{"name":"x"}`, 400},
		{"create: unknown field", "POST", "/api/repos/create", "application/json", "Bearer " + testToken, `{"name":"x","organization":"o","type":"dataset","visibility":"private","bogus":1}`, 400},
		{"create: legacy private", "POST", "/api/repos/create", "application/json", "Bearer " + testToken, `{"name":"x","organization":"o","type":"dataset","private":true}`, 400},
		{"create: private next to visibility", "POST", "/api/repos/create", "application/json", "Bearer " + testToken, `{"name":"x","organization":"o","type":"dataset","visibility":"private","private":true}`, 400},
		{"create: protected dataset", "POST", "/api/repos/create", "application/json", "Bearer " + testToken, `{"name":"x","organization":"o","type":"dataset","visibility":"protected"}`, 400},
		{"preupload: bad sample", "POST", "/api/datasets/kforge/kernels/preupload/main", "application/json", "Bearer " + testToken, `{"files":[{"path":"a","sample":"","size":3}]}`, 400},
		{"commit: json not ndjson", "POST", "/api/datasets/kforge/kernels/commit/main", "application/json", "Bearer " + testToken, `{"key":"header","value":{"summary":"x"}}`, 415},
		{"commit: no header", "POST", "/api/datasets/kforge/kernels/commit/main", "application/x-ndjson", "Bearer " + testToken, `{"key":"file","value":{"path":"a","content":"eA==","encoding":"base64"}}` + "\n", 400},
		{"commit: empty", "POST", "/api/datasets/kforge/kernels/commit/main", "application/x-ndjson", "Bearer " + testToken, `{"key":"header","value":{"summary":"x"}}` + "\n", 400},
		{"commit: stale parent", "POST", "/api/datasets/kforge/kernels/commit/main", "application/x-ndjson", "Bearer " + testToken, `{"key":"header","value":{"summary":"x","parentCommit":"` + strings.Repeat("0", 40) + `"}}` + "\n" + `{"key":"file","value":{"path":"a","content":"eA==","encoding":"base64"}}` + "\n", 412},
		{"commit: lfs not uploaded", "POST", "/api/datasets/kforge/kernels/commit/main", "application/x-ndjson", "Bearer " + testToken, `{"key":"header","value":{"summary":"x"}}` + "\n" + `{"key":"lfsFile","value":{"path":"a.parquet","algo":"sha256","oid":"` + oid + `","size":9}}` + "\n", 422},
		{"batch: json type", "POST", "/datasets/kforge/kernels.git/info/lfs/objects/batch", "application/json", "Bearer " + testToken, `{}`, 406},
		{"verify: without the action header", "POST", "/lfs/verify/" + oid, lfsMediaType, "Bearer " + testToken, `{"oid":"` + oid + `","size":9}`, 400},
		{"tag: missing commit", "POST", "/api/datasets/kforge/kernels/tag/" + strings.Repeat("1", 40), "application/json", "Bearer " + testToken, `{"tag":"v1","message":""}`, 404},
		{"tree: not recursive", "GET", "/api/datasets/kforge/kernels/tree/main", "", "Bearer " + testToken, "", 400},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, fh.hub.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("User-Agent", "kforge/test")
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
	// Storage refuses a token next to the presigned signature.
	req, _ := http.NewRequest("PUT", fh.s3.URL+"/put/"+oid+"?X-Amz-Signature=x", strings.NewReader("x"))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("s3 with auth: %d, want 400", resp.StatusCode)
	}
	if got := fh.snapshot(testRepo); !strings.Contains(got, "commits=1") || !strings.Contains(got, "tags=map[]") {
		t.Errorf("refused calls changed the repo: %s", got)
	}
}
