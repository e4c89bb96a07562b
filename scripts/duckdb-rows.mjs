// duckdb-rows.mjs: DuckDB reads one config of a kforge release and prints
// its rows as JSON (one array, every split, in file order), so a Go test
// can check columns with a reader that shares no code with the writer:
//
//   node scripts/duckdb-rows.mjs RELEASE_DIR CONFIG
import { DuckDBInstance } from '@duckdb/node-api';

const [dir, config] = process.argv.slice(2);
if (!dir || !config) {
  console.error('usage: node duckdb-rows.mjs RELEASE_DIR CONFIG');
  process.exit(2);
}
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const lit = (s) => "'" + s.replaceAll("'", "''") + "'";
const glob = lit(`${dir}/data/${config}/*.parquet`);
const reader = await con.runAndReadAll(`SELECT * FROM read_parquet(${glob}) ORDER BY filename, file_row_number`.replace('read_parquet(' + glob + ')', `read_parquet(${glob}, filename=true, file_row_number=true)`));
const rows = reader.getRowObjectsJson();
const types = Object.fromEntries(reader.columnNames().map((n, i) => [n, reader.columnTypes()[i].toString()]));
console.log(JSON.stringify({ types, rows }));
