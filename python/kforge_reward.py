"""kforge reward functions: TRL and verl/OpenRLHF hooks over `kforge serve`.

Standard library only. The server judges every completion with kforge's
verifier (gate, splice, compile, sandboxed runs, correctness, timing) and
answers with the reward the recipe's serve.reward section defines.

Environment:
  KFORGE_SERVE_URL    the server (default http://127.0.0.1:8080)
  KFORGE_SERVE_TOKEN  bearer token, when the server wants one (serve.token_env)
  KFORGE_SERVE_TIMEOUT  seconds to wait for a batch (default 3600)

TRL (GRPOTrainer): reward_funcs=[kforge_reward.reward_func]; the dataset's
`task_id` column (or the rl config's `task_spec`) reaches it as a keyword.

verl: custom_reward_function.path=kforge_reward.py
      custom_reward_function.name=compute_score
ground_truth is the task spec JSON of the rl config's reward_model.
"""

import json
import os
import time
import urllib.error
import urllib.request

__all__ = ["reward_func", "compute_score", "rewards"]

_MAX_BATCH = 256


def _url():
    return os.environ.get("KFORGE_SERVE_URL", "http://127.0.0.1:8080").rstrip("/")


def _text(completion):
    """A completion as text: TRL passes strings or conversational lists."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return completion.get("content", "")
    if isinstance(completion, (list, tuple)):
        for m in reversed(completion):
            if isinstance(m, dict) and m.get("role", "assistant") == "assistant":
                return m.get("content", "")
    return str(completion)


def _task_id(task_id=None, task_spec=None):
    if task_id:
        return task_id
    if isinstance(task_spec, str) and task_spec:
        try:
            return json.loads(task_spec).get("id", "")
        except ValueError:
            return ""
    if isinstance(task_spec, dict):
        return task_spec.get("id", "")
    return ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuses redirects: urllib would follow one with the bearer token (and
    take the rewards another host answers)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(req.full_url, code, "kforge serve redirected to %s; not followed (set KFORGE_SERVE_URL to the server itself)" % newurl, headers, fp)


_opener = urllib.request.build_opener(_NoRedirect)


def _post(path, body, timeout):
    data = json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    token = os.environ.get("KFORGE_SERVE_TOKEN")
    if token:
        headers["Authorization"] = "Bearer " + token
    deadline = time.monotonic() + timeout
    while True:
        req = urllib.request.Request(_url() + path, data=data, headers=headers, method="POST")
        try:
            with _opener.open(req, timeout=max(1.0, deadline - time.monotonic())) as r:
                return json.loads(r.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            if e.code in (429, 503) and time.monotonic() < deadline:
                # Backpressure: the judging queue is full or the server drains.
                wait = float(e.headers.get("Retry-After") or 1)
                time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
                continue
            detail = e.read().decode("utf-8", "replace")
            raise RuntimeError("kforge serve %s: HTTP %d: %s" % (path, e.code, detail)) from None


def rewards(task_ids, completions, model=None, timeout=None):
    """Judge (task_id, completion) pairs; returns the server's results in order.

    Each result has reward (None when no verdict was reached), reward_rule,
    status, rejected_by, reason, speedup, and error when the item failed.
    """
    if timeout is None:
        timeout = float(os.environ.get("KFORGE_SERVE_TIMEOUT", "3600"))
    out = []
    items = [{"id": str(i), "task_id": t, "completion": c} for i, (t, c) in enumerate(zip(task_ids, completions))]
    for start in range(0, len(items), _MAX_BATCH):
        body = {"items": items[start:start + _MAX_BATCH], "timeout_s": timeout}
        if model:
            body["model"] = model
        out.extend(_post("/v1/rewards", body, timeout)["results"])
    return out


def reward_func(prompts, completions, task_id=None, task_spec=None, **kwargs):
    """TRL reward function: one float (or None: no verdict) per completion."""
    n = len(completions)
    ids = task_id if task_id is not None else [None] * n
    specs = task_spec if task_spec is not None else [None] * n
    tids = [_task_id(ids[i], specs[i]) for i in range(n)]
    texts = [_text(c) for c in completions]
    return [r.get("reward") for r in rewards(tids, texts, model=kwargs.get("model_name"))]


def compute_score(data_source, solution_str, ground_truth, extra_info=None):
    """verl / OpenRLHF hook: the reward of one response (0.0 when unjudged)."""
    tid = ""
    if isinstance(extra_info, dict):
        tid = extra_info.get("task_id", "")
    tid = tid or _task_id(None, ground_truth)
    r = rewards([tid], [solution_str])[0].get("reward")
    return 0.0 if r is None else float(r)
