// duckdb-copy.mjs: the DuckDB side of scripts/bench-parquet.sh. It writes a
// JSONL file of sft rows to Parquet with COPY … TO (FORMAT parquet,
// COMPRESSION zstd), typed like kforge's sft schema, and prints rows/s.
//
//   node scripts/duckdb-copy.mjs rows.jsonl out.parquet [threads] [repeat]
//
// threads 0 or absent: DuckDB's default (all cores). repeat: how many times
// the table->parquet COPY runs (one line each).
import { DuckDBInstance } from '@duckdb/node-api';

const [input, output, threads, repeat] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node duckdb-copy.mjs rows.jsonl out.parquet [threads]');
  process.exit(2);
}
const lit = (s) => "'" + s.replaceAll("'", "''") + "'";
const columns = {
  id: 'VARCHAR', messages: 'STRUCT(role VARCHAR, content VARCHAR)[]', reasoning: 'VARCHAR', task_id: 'VARCHAR',
  source_repo: 'VARCHAR', source_commit: 'VARCHAR', source_path: 'VARCHAR', license: 'VARCHAR', kind: 'VARCHAR',
  op: 'VARCHAR', dtype: 'VARCHAR', arch: 'VARCHAR', device: 'VARCHAR', toolchain: 'VARCHAR', baseline_ms: 'DOUBLE',
  candidate_ms: 'DOUBLE', speedup: 'DOUBLE', vgprs: 'INTEGER', sgprs: 'INTEGER', lds_bytes: 'INTEGER',
  scratch_bytes: 'INTEGER', occupancy: 'INTEGER', model: 'VARCHAR', prompt_version: 'VARCHAR', num_turns: 'INTEGER',
  is_replay: 'BOOLEAN', replay_source: 'VARCHAR',
};
const cols = '{' + Object.entries(columns).map(([k, v]) => `${k}: ${lit(v)}`).join(', ') + '}';
const db = await DuckDBInstance.create(':memory:', threads && threads !== '0' ? { threads: String(threads) } : {});
const con = await db.connect();
const fs = await import('node:fs');
const src = `read_json(${lit(input)}, format = 'newline_delimited', columns = ${cols}, maximum_object_size = 268435456)`;
const report = async (what, secs) => {
  const n = Number((await con.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet(${lit(output)})`)).getRowObjectsJS()[0].n);
  console.log(`duckdb ${what}: ${n} rows in ${secs.toFixed(2)}s = ${Math.round(n / secs)} rows/s, ${(fs.statSync(output).size / 1e6).toFixed(1)} MB on disk`);
};
// 1. End to end: JSONL in, Parquet out.
let t0 = performance.now();
await con.run(`COPY (SELECT * FROM ${src}) TO ${lit(output)} (FORMAT parquet, COMPRESSION zstd)`);
await report('COPY jsonl->parquet', (performance.now() - t0) / 1000);
// 2. The writer alone: rows already in a table, COPY table TO parquet.
await con.run(`CREATE TABLE rows AS SELECT * FROM ${src}`);
for (let k = 0; k < Number(repeat || 1); k++) {
  t0 = performance.now();
  await con.run(`COPY rows TO ${lit(output)} (FORMAT parquet, COMPRESSION zstd)`);
  await report('COPY table->parquet', (performance.now() - t0) / 1000);
}
