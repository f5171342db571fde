// Convex values <-> the text a user edits. The text is JSON plus what JSON cannot say for
// Convex values: `123n` for an Int64 (a JS bigint), NaN/Infinity, unquoted keys, single
// quotes and trailing commas (the dashboard accepts JavaScript-like literals, as Convex's does).
// Bytes are written as {"$bytes": "<base64>"} and read back into an ArrayBuffer.
import { Base64 } from "convex/values";

/** Pretty (indent > 0) or compact text for a value, readable back by `parseValue`. */
export function formatValue(value, indent = 0) {
  return fmt(value, indent, "");
}

function fmt(value, indent, pad) {
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
    if (Object.is(value, -0)) return "-0";
    return String(value);
  }
  if (typeof value === "string" || typeof value === "boolean") return JSON.stringify(value);
  if (value instanceof ArrayBuffer) {
    return fmt({ $bytes: Base64.fromByteArray(new Uint8Array(value)) }, indent, pad);
  }
  const inner = pad + " ".repeat(indent);
  const sep = indent ? ",\n" : ", ";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    const items = value.map((v) => fmt(v, indent, inner));
    return indent ? `[\n${inner}${items.join(sep + inner)}\n${pad}]` : `[${items.join(sep)}]`;
  }
  const keys = Object.keys(value).filter((k) => value[k] !== undefined);
  if (keys.length === 0) return "{}";
  const items = keys.map((k) => `${JSON.stringify(k)}: ${fmt(value[k], indent, inner)}`);
  return indent ? `{\n${inner}${items.join(sep + inner)}\n${pad}}` : `{${items.join(sep)}}`;
}

/** Parse the text of one value; throws an Error saying where the text is wrong. Fields
 * written as `undefined` are left out, or kept (value undefined) with `keepUndefined`. */
export function parseValue(text, { keepUndefined = false } = {}) {
  const p = new Parser(text, keepUndefined);
  p.space();
  if (p.done()) throw new Error("Enter a value (for example \"text\", 12, true or {\"a\": 1})");
  const value = p.value();
  p.space();
  if (!p.done()) p.fail("Unexpected text after the value");
  return value;
}

const IDENT = /[A-Za-z_$][A-Za-z0-9_$]*/y;
const NUMBER = /-?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)(n?)/y;

class Parser {
  constructor(text, keepUndefined) { this.text = text; this.i = 0; this.keep = keepUndefined; }
  done() { return this.i >= this.text.length; }
  fail(message) {
    const before = this.text.slice(0, this.i);
    const line = before.split("\n").length;
    const col = this.i - before.lastIndexOf("\n");
    throw new Error(`${message} (line ${line}, column ${col})`);
  }
  space() {
    for (;;) {
      while (!this.done() && /\s/.test(this.text[this.i])) this.i++;
      if (this.text.startsWith("//", this.i)) {
        const end = this.text.indexOf("\n", this.i);
        this.i = end < 0 ? this.text.length : end;
      } else return;
    }
  }
  eat(ch) {
    this.space();
    if (this.text[this.i] === ch) { this.i++; return true; }
    return false;
  }
  value() {
    this.space();
    const ch = this.text[this.i];
    if (ch === "{") return this.object();
    if (ch === "[") return this.array();
    if (ch === '"' || ch === "'") return this.string();
    NUMBER.lastIndex = this.i;
    const num = NUMBER.exec(this.text);
    if (num && num.index === this.i) {
      this.i += num[0].length;
      if (num[1]) {
        if (!/^-?\d+n$/.test(num[0])) this.fail("An Int64 (…n) must be a whole number");
        return BigInt(num[0].slice(0, -1));
      }
      return Number(num[0]);
    }
    if (this.text.startsWith("-Infinity", this.i)) { this.i += 9; return -Infinity; }
    IDENT.lastIndex = this.i;
    const word = IDENT.exec(this.text);
    if (word && word.index === this.i) {
      const words = { true: true, false: false, null: null, NaN: NaN, Infinity: Infinity,
        undefined: undefined };
      if (word[0] in words) { this.i += word[0].length; return words[word[0]]; }
      this.fail(`Unknown word ${JSON.stringify(word[0])} (strings need quotes)`);
    }
    this.fail(this.done() ? "The value ends too early" : `Unexpected ${JSON.stringify(ch)}`);
  }
  string() {
    const quote = this.text[this.i];
    let j = this.i + 1;
    let raw = "";
    while (j < this.text.length && this.text[j] !== quote) {
      if (this.text[j] === "\n") { this.i = j; this.fail("Unterminated string"); }
      if (this.text[j] === "\\") { raw += this.text.slice(j, j + 2); j += 2; } else raw += this.text[j++];
    }
    if (j >= this.text.length) this.fail("Unterminated string");
    this.i = j + 1;
    const body = quote === "'" ? raw.replace(/\\'/g, "'").replace(/"/g, '\\"') : raw;
    try {
      return JSON.parse(`"${body}"`);
    } catch {
      return this.fail("Invalid escape in a string");
    }
  }
  array() {
    this.i++;
    const out = [];
    for (;;) {
      if (this.eat("]")) return out;
      out.push(this.value());
      if (this.eat("]")) return out;
      if (!this.eat(",")) this.fail("Expected , or ] in an array");
    }
  }
  object() {
    this.i++;
    const out = {};
    for (;;) {
      if (this.eat("}")) return bytesOrObject(out);
      this.space();
      let key;
      const ch = this.text[this.i];
      if (ch === '"' || ch === "'") key = this.string();
      else {
        IDENT.lastIndex = this.i;
        const word = IDENT.exec(this.text);
        if (!word || word.index !== this.i) this.fail("Expected a field name");
        key = word[0];
        this.i += key.length;
      }
      if (!this.eat(":")) this.fail(`Expected : after the field name ${JSON.stringify(key)}`);
      const value = this.value();
      if (value !== undefined || this.keep) out[key] = value;
      if (this.eat("}")) return bytesOrObject(out);
      if (!this.eat(",")) this.fail("Expected , or } in an object");
    }
  }
}

function bytesOrObject(obj) {
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === "$bytes" && typeof obj.$bytes === "string") {
    return Base64.toByteArray(obj.$bytes).buffer;
  }
  return obj;
}

/** A short type name for a value, as the filter's "type" operator names them. */
export function typeOf(value) {
  if (value === null) return "null";
  if (typeof value === "bigint") return "bigint";
  if (typeof value === "number") return "number";
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "boolean";
  if (value instanceof ArrayBuffer) return "bytes";
  if (Array.isArray(value)) return "array";
  return "object";
}
