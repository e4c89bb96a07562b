package model

import (
	"context"
	"encoding/json"
	"fmt"
	"kforge/internal/redact"
	"net/http"

	"strings"
	"time"
)

// Endpoint is what a model server answered to a reachability check.
type Endpoint struct {
	URL       string `json:"url"`
	Reachable bool   `json:"reachable"`
	HasModel  bool   `json:"has_model"`
	Note      string `json:"note,omitempty"`
}

// BaseURL is the server URL for cfg: cfg.Host, else OLLAMA_HOST (ollama),
// else the local default.
func BaseURL(cfg Config, getenv func(string) string) string {
	h := cfg.Host
	if h == "" && cfg.Provider != "openai" {
		h = getenv("OLLAMA_HOST")
	}
	if h == "" {
		h = "http://127.0.0.1:11434"
	}
	if !strings.Contains(h, "://") {
		h = "http://" + h
	}
	return strings.TrimRight(h, "/")
}

// CheckEndpoint asks the server which models it has (GET /api/tags for
// ollama, GET /v1/models for openai) and whether cfg.Model is among them. It
// makes no generation call.
func CheckEndpoint(ctx context.Context, cfg Config, getenv func(string) string) Endpoint {
	base := BaseURL(cfg, getenv)
	ep := Endpoint{URL: redact.URL(base)}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	path := "/api/tags"
	if cfg.Provider == "openai" {
		path = "/v1/models"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		ep.Note = redact.Text(err.Error())
		return ep
	}
	if cfg.APIKeyEnv != "" {
		if key := getenv(cfg.APIKeyEnv); key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ep.Note = fmt.Sprintf("unreachable: start the server (ollama serve) or set model.host / OLLAMA_HOST (%s)", errClass(err))
		return ep
	}
	defer resp.Body.Close()
	ep.Reachable = true
	if resp.StatusCode != http.StatusOK {
		ep.Note = "GET " + path + ": " + resp.Status
		return ep
	}
	var body struct {
		Models []struct {
			Name  string `json:"name"`
			Model string `json:"model"`
		} `json:"models"`
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		ep.Note = "unexpected answer: " + err.Error()
		return ep
	}
	want := cfg.Model
	for _, m := range body.Models {
		if m.Name == want || m.Model == want || m.Name == want+":latest" {
			ep.HasModel = true
		}
	}
	for _, m := range body.Data {
		if m.ID == want {
			ep.HasModel = true
		}
	}
	if !ep.HasModel {
		ep.Note = fmt.Sprintf("the server lacks %s: ollama pull %s (or build pulls it unless --no-pull)", want, want)
	}
	return ep
}

// errClass describes a connection error without echoing URLs that could carry credentials.
func errClass(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "connection refused"):
		return "connection refused"
	case strings.Contains(s, "deadline exceeded"), strings.Contains(s, "timeout"):
		return "timed out"
	case strings.Contains(s, "no such host"):
		return "no such host"
	}
	return "connection failed"
}
