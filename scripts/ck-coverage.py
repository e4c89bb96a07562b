#!/usr/bin/env python3
"""Coverage table of classic CK examples: live instance aliases, tasks,
qualified tasks, recorded needs, drops and live skips, per example folder.

usage: scripts/ck-coverage.py MINE_LOG TASKS QUALIFIED
  MINE_LOG   stderr of `kforge mine --kind ck-example --explain-skips`
  TASKS      its tasks.jsonl
  QUALIFIED  the output of `kforge qualify --tasks TASKS`
Live = tasks plus skips of instances the build compiles and main uses
(instances main never uses and branches the build leaves out are dead).
"""
import collections
import json
import re
import sys

if len(sys.argv) != 4:
    sys.exit(__doc__)
mine_log, tasks_f, q_f = sys.argv[1], sys.argv[2], sys.argv[3]
tasks = [json.loads(l) for l in open(tasks_f)]
quals = {}
for l in open(q_f):
    r = json.loads(l); quals[r['id']] = r.get('qualification') or {}
skips = collections.defaultdict(lambda: collections.Counter())
reason = None
dead = ('main never uses', 'leaves out')
for line in open(mine_log):
    m = re.match(r'^\s+(\d+)\s+ck-example: (.*)$', line)
    if m:
        reason = m.group(2); continue
    m = re.match(r'^\s+(example/\S+):(\S+)$', line)
    if m and reason:
        skips[m.group(1).split('/')[1]][reason] += 1
rows = collections.defaultdict(lambda: dict(tasks=0, qual=0, need=0, drops=collections.Counter()))
for t in tasks:
    d = t['source']['path'].split('/')[1]
    r = rows[d]; r['tasks'] += 1
    q = quals.get(t['id'], {})
    if q.get('status') == 'qualified': r['qual'] += 1
    elif q.get('rule') == 'toolchain': r['need'] += 1
    else: r['drops'][q.get('rule', 'not run')] += 1
def short(s):
    s = s.replace("the device op's IsSupportedArgument accepts none of the configured archs", 'other arch')
    s = re.sub(r' \(it accepts [^)]*\)', '', s)
    s = s.replace('other arch', 'gfx90a refused (RDNA/gfx906 op)')
    s = re.sub(r'sizes-in-code: no size constant found in the code.*', 'no size constant (a rand() group count)', s)
    s = s.replace("a preprocessor conditional inside the instance's template arguments", '#if inside the arguments')
    return s
dirs = sorted(set(rows) | set(skips))
tot = collections.Counter()
print('| example | live | tasks | qualified | needs HIP ≥ 5.5 | dropped | skipped (live) |')
print('| --- | --- | --- | --- | --- | --- | --- |')
for d in dirs:
    r = rows[d]; sk = skips[d]
    live_sk = collections.Counter()
    for k, v in sk.items():
        if not any(x in k for x in dead):
            live_sk[short(k)] += v
    live = r['tasks'] + sum(live_sk.values())
    if live == 0: continue
    tot['live'] += live; tot['tasks'] += r['tasks']; tot['qual'] += r['qual']; tot['need'] += r['need']
    tot['drop'] += sum(r['drops'].values())
    print(f"| {d} | {live} | {r['tasks']} | {r['qual']} | {r['need'] or ''} | {', '.join(f'{k} {v}' for k, v in r['drops'].items())} | {', '.join(f'{k} {v}' for k, v in live_sk.items())} |")
print(f"| **all** | **{tot['live']}** | **{tot['tasks']}** | **{tot['qual']}** | {tot['need']} | {tot['drop']} | |")
