// Tokenizes JSON strings from stdin with Hugging Face's tokenizers.js, the
// independent peer kforge's own byte-level BPE is checked against
// (datasets/tokenizer). Usage: node scripts/tokenize.mjs TOKENIZER_DIR < in.json
// where TOKENIZER_DIR holds tokenizer.json and tokenizer_config.json; prints
// one token list per input string, as JSON.
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "node:fs";
import path from "node:path";

const dir = process.argv[2];
const read = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
const tok = new Tokenizer(read("tokenizer.json"), read("tokenizer_config.json"));
const inputs = JSON.parse(fs.readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(inputs.map((s) => tok.encode(s, { add_special_tokens: false }).tokens)));
