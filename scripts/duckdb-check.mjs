// duckdb-check.mjs: an independent reader for a kforge release. DuckDB reads
// the Parquet shards with read_parquet and checks them against an
// expectation file written by the Go test:
//
//   node scripts/duckdb-check.mjs RELEASE_DIR EXPECT.json
//
// EXPECT.json: {"splits": {"sft/train": {"rows": N, "columns": ["id", ...],
//   "types": {"messages": "STRUCT(\"role\" VARCHAR, \"content\" VARCHAR)[]"}}},
//   "replay": {"split": "sft/train", "rows": N, "fraction": F, "mode": "tokens"}}
// It prints what it found as JSON and exits 1 on any mismatch.
import { DuckDBInstance } from '@duckdb/node-api';

const [dir, expectPath] = process.argv.slice(2);
if (!dir || !expectPath) {
  console.error('usage: node duckdb-check.mjs RELEASE_DIR EXPECT.json');
  process.exit(2);
}
const fs = await import('node:fs');
const expect = JSON.parse(fs.readFileSync(expectPath, 'utf8'));
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const q = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS();
const lit = (s) => "'" + s.replaceAll("'", "''") + "'";

const problems = [];
const found = { splits: {} };
for (const [key, want] of Object.entries(expect.splits)) {
  const [config, split] = key.split('/');
  const glob = lit(`${dir}/data/${config}/${split}-*-of-*.parquet`);
  const [{ n }] = await q(`SELECT count(*)::BIGINT AS n FROM read_parquet(${glob})`);
  const cols = await q(`DESCRIBE SELECT * FROM read_parquet(${glob})`);
  const names = cols.map((c) => c.column_name);
  const types = Object.fromEntries(cols.map((c) => [c.column_name, c.column_type]));
  const kv = await q(`SELECT count(*)::BIGINT AS n FROM parquet_kv_metadata(${glob}) WHERE decode(key) = 'huggingface'`);
  const files = await q(`SELECT count(DISTINCT file_name)::BIGINT AS n FROM parquet_metadata(${glob})`);
  found.splits[key] = { rows: Number(n), columns: names, files: Number(files[0].n) };
  if (Number(n) !== want.rows) problems.push(`${key}: ${n} rows, want ${want.rows}`);
  if (JSON.stringify(names) !== JSON.stringify(want.columns)) problems.push(`${key}: columns ${names}, want ${want.columns}`);
  for (const [c, t] of Object.entries(want.types ?? {})) {
    if (types[c] !== t) problems.push(`${key}: column ${c} is ${types[c]}, want ${t}`);
  }
  if (Number(kv[0].n) !== Number(files[0].n)) problems.push(`${key}: ${kv[0].n} of ${files[0].n} files carry huggingface metadata`);
  if (config !== 'sft' && names.includes('is_replay')) problems.push(`${key}: replay column outside sft`);
}
if (expect.replay) {
  const r = expect.replay;
  const [config, split] = r.split.split('/');
  const glob = lit(`${dir}/data/${config}/${split}-*-of-*.parquet`);
  // Tokens as kforge counts them: UTF-8 bytes of the message contents / 4, rounded up, at least 1.
  const amount = r.mode === 'rows' ? '1' : 'greatest(1, ceil(list_sum(list_transform(messages, m -> strlen(m.content))) / 4))';
  const [row] = await q(`SELECT count(*) FILTER (WHERE is_replay)::BIGINT AS rows,
      sum(CASE WHEN is_replay THEN ${amount} ELSE 0 END)::DOUBLE AS replay,
      sum(${amount})::DOUBLE AS total,
      count(*) FILTER (WHERE is_replay AND task_id IS NOT NULL)::BIGINT AS bad
    FROM read_parquet(${glob})`);
  const fraction = row.total > 0 ? row.replay / row.total : 0;
  found.replay = { rows: Number(row.rows), fraction };
  if (Number(row.rows) !== r.rows) problems.push(`replay rows ${row.rows}, want ${r.rows}`);
  if (Math.abs(fraction - r.fraction) > 1e-9) problems.push(`replay fraction ${fraction}, want ${r.fraction}`);
  if (Number(row.bad) !== 0) problems.push(`${row.bad} replay rows carry a task_id`);
  // Every shard gets replay when the split has replay and more than one shard.
  const per = await q(`SELECT filename, count(*) FILTER (WHERE is_replay)::BIGINT AS n
    FROM read_parquet(${glob}, filename = true) GROUP BY filename ORDER BY filename`);
  found.replay.per_shard = per.map((p) => Number(p.n));
  if (r.every_shard && per.some((p) => Number(p.n) === 0)) problems.push('a shard without replay rows');
}
console.log(JSON.stringify(found));
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
