// klero-verify.js: an independent verifier of Kleroterion entries and draws, written from
// docs/SPEC.md (version 1) and not from the Rust reference. Pure functions, no I/O: the page
// script (draw-check.js) and the test harness feed it JSON they fetched.
//
// Covered: canonical entry bytes (SPEC §3), entry hashes (§4.1), party and claim commitments from
// a normalized key and the duplicate key (§4.3–4.5, but NOT the key normalization itself: its
// step 4 needs Unicode's confusables table, which is not vendored here), Merkle leaf and node
// hashes, roots, inclusion and consistency proofs (§5), the hash-chain beacon (§6.1), the seed
// (§6.2), sampling (§7.6), the weights, balanced-rate factors and credits (§7.4–7.5) from their
// inputs, and a check of a log's draws (hashes, links, root, beacon chain, seeds, sampled judges
// from the recorded weights). Not covered: the state fold of §7.1–7.3 (pools and loads are taken
// from the draw record, not recomputed from earlier entries).
//
// SHA-256 and ChaCha20 come from the audited noble libraries, vendored under ./vendor/ (see its
// README for versions and integrity hashes). WebCrypto is not used: it is missing on plain-HTTP
// pages.

import { sha256 } from './vendor/noble-hashes/sha2.js';
import { chacha20 } from './vendor/noble-ciphers/chacha.js';

// ---------------------------------------------------------------------------------------------
// Bytes and hex

const utf8 = new TextEncoder();

/** Concatenates byte arrays. */
export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Lower-case hex of bytes. */
export function toHex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Bytes of hex text; throws on odd length or any character outside 0-9 a-f (SPEC §2.2). */
export function fromHex(hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) {
    throw new VerifyError('§8', `not lower-case hex: ${String(hex).slice(0, 80)}`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A 32-byte digest from its 64-character JSON form (SPEC §2.2). */
export function digest(hex) {
  if (typeof hex !== 'string' || hex.length !== 64) {
    throw new VerifyError('§8', `a digest must be 64 lower-case hex characters: ${String(hex).slice(0, 80)}`);
  }
  return fromHex(hex);
}

/** Equality of byte arrays. */
export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** A failure that names the SPEC section whose requirement is broken. */
export class VerifyError extends Error {
  constructor(section, message) {
    super(message);
    this.section = section;
  }
}

/**
 * Parses JSON keeping integers exact: an integer beyond 2^53 becomes a BigInt (SPEC §8: u64
 * values above 2^53 occur). Uses the source text that JSON.parse hands to revivers.
 */
export function parseJson(text) {
  return JSON.parse(text, function (key, value, context) {
    if (typeof value === 'number' && !Number.isSafeInteger(value) && Number.isInteger(value)) {
      if (!context || typeof context.source !== 'string') {
        throw new Error('this browser cannot read integers above 2^53 exactly (JSON.parse source access)');
      }
      return BigInt(context.source);
    }
    return value;
  });
}

// ---------------------------------------------------------------------------------------------
// Canonical encoding (SPEC §3)

const U32_MAX = 0xffffffffn;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function int(v, what) {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  throw new VerifyError('§8', `${what}: not an integer: ${JSON.stringify(v)}`);
}

class Writer {
  constructor() {
    this.parts = [];
  }
  bytes(b) {
    this.parts.push(b);
  }
  u8(v, what = 'u8') {
    const n = int(v, what);
    if (n < 0n || n > 255n) throw new VerifyError('§8', `${what} out of range: ${n}`);
    this.parts.push(Uint8Array.of(Number(n)));
  }
  bool(v, what = 'bool') {
    if (typeof v !== 'boolean') throw new VerifyError('§8', `${what}: not a boolean`);
    this.parts.push(Uint8Array.of(v ? 1 : 0));
  }
  u32(v, what = 'u32') {
    const n = int(v, what);
    if (n < 0n || n > U32_MAX) throw new VerifyError('§8', `${what} out of range: ${n}`);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, Number(n));
    this.parts.push(b);
  }
  i32(v, what = 'i32') {
    const n = int(v, what);
    if (n < -(1n << 31n) || n >= 1n << 31n) throw new VerifyError('§8', `${what} out of range: ${n}`);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, Number(n));
    this.parts.push(b);
  }
  u64(v, what = 'u64') {
    const n = int(v, what);
    if (n < 0n || n > U64_MAX) throw new VerifyError('§8', `${what} out of range: ${n}`);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, n);
    this.parts.push(b);
  }
  i64(v, what = 'i64') {
    const n = int(v, what);
    if (n < I64_MIN || n > I64_MAX) throw new VerifyError('§8', `${what} out of range: ${n}`);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, n);
    this.parts.push(b);
  }
  str(s, what = 'str') {
    if (typeof s !== 'string') throw new VerifyError('§8', `${what}: not a string`);
    const b = utf8.encode(s);
    this.u32(b.length);
    this.parts.push(b);
  }
  digest(hex) {
    this.parts.push(digest(hex));
  }
  list(items, each, what = 'list') {
    if (!Array.isArray(items)) throw new VerifyError('§8', `${what}: not a list`);
    this.u32(items.length);
    for (const it of items) each(it);
  }
  opt(v, each) {
    if (v === null) {
      this.u8(0);
    } else if (v === undefined) {
      throw new VerifyError('§8', 'an absent option must be written as null');
    } else {
      this.u8(1);
      each(v);
    }
  }
  day(s, what = 'day') {
    this.i32(dayNumber(s, what), what);
  }
  finish() {
    return concat(...this.parts);
  }
}

/** Days since 1970-01-01 of a `YYYY-MM-DD` date (SPEC §2.1), years 0001–9999. */
export function dayNumber(s, what = 'day') {
  const m = typeof s === 'string' && /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) throw new VerifyError('§8', `${what}: not a YYYY-MM-DD date: ${JSON.stringify(s)}`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  if (y < 1 || date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) {
    throw new VerifyError('§8', `${what}: no such date: ${s}`);
  }
  return Math.floor(date.getTime() / 86400000);
}

/** The day of a Millis value (SPEC §2.1): floor division, also for negative values. */
export function dayOfMillis(at) {
  const a = int(at, 'at');
  const d = 86400000n;
  let q = a / d;
  if (a % d !== 0n && a < 0n) q -= 1n;
  return Number(q);
}

function enumeration(name, values) {
  return { name, values };
}

/** The enumerations of SPEC §3.4: JSON name -> byte. */
export const ENUMS = {
  role: enumeration('role', ['system', 'system_admin', 'court_admin', 'clerk', 'judge']),
  absence: enumeration('absence reason', ['leave', 'sick', 'training', 'secondment', 'other']),
  recusal: enumeration('recusal reason', [
    'conflict_of_interest',
    'prior_involvement',
    'personal_relationship',
    'party_challenge_upheld',
    'other',
  ]),
  reassignment: enumeration('reassignment reason', [
    'judge_left_court',
    'long_term_absence',
    'incapacity',
    'disciplinary_suspension',
    'other',
  ]),
  closing: enumeration('closing reason', ['judgment', 'settlement', 'withdrawal', 'dismissal', 'transfer']),
  relation: enumeration('relation reason', ['counterclaim', 'same_facts', 'follow_up', 'joinder', 'other']),
  exclusion: enumeration('exclusion', [
    'inactive',
    'other_division',
    'no_specialization',
    'absent',
    'conflict',
    'recused',
    'earlier_instance',
    'on_case',
  ]),
  scope: enumeration('pool scope', ['division', 'court', 'court_below_minimum']),
  fallback: enumeration('fallback', ['refuse', 'widen_to_court', 'widen_then_proceed']),
};

function enumByte(e, v) {
  const i = e.values.indexOf(v);
  if (i < 0) throw new VerifyError('§8', `unknown ${e.name}: ${JSON.stringify(v)}`);
  return i;
}

const BEACON_KINDS = { hash_chain: 1 };

function writePolicy(w, p) {
  w.u32(p.min_pool, 'min_pool');
  w.u8(enumByte(ENUMS.fallback, p.fallback));
  w.u32(p.cap_num, 'cap_num');
  w.u32(p.cap_den, 'cap_den');
  w.u32(p.balance_permille, 'balance_permille');
  w.u32(p.window_days, 'window_days');
  w.u32(p.catch_up_limit, 'catch_up_limit');
  w.list(p.case_types, (t) => {
    w.str(t.code, 'code');
    w.str(t.specialization, 'specialization');
    w.u32(t.weight, 'weight');
    w.u8(t.panel, 'panel');
  });
}

function writeAnchor(w, a) {
  w.digest(a.anchor);
  w.u64(a.length, 'length');
}

function writeReveal(w, r) {
  const kind = BEACON_KINDS[r.kind];
  if (kind === undefined) throw new VerifyError('§8', `unknown beacon kind: ${JSON.stringify(r.kind)}`);
  w.u8(kind);
  w.u64(r.round, 'round');
  w.digest(r.value);
}

const METHODS = ['random', 'related', 'duplicate', 'random_after_duplicate', 'random_after_related'];

/** Whether a draw method (JSON form) is a random method (SPEC §3.7). */
export function isRandomMethod(method) {
  return ['random', 'random_after_duplicate', 'random_after_related'].includes(method.kind);
}

function writeDraw(w, d) {
  w.str(d.case, 'case');
  w.u64(d.trigger, 'trigger');
  const m = METHODS.indexOf(d.method && d.method.kind);
  if (m < 0) throw new VerifyError('§8', `unknown draw method: ${JSON.stringify(d.method)}`);
  w.u8(m);
  if (m > 0) w.str(d.method.case, 'method.case');
  w.u8(d.seats, 'seats');
  w.u8(enumByte(ENUMS.scope, d.scope));
  w.list(d.eligible, (c) => {
    w.str(c.judge, 'judge');
    w.u64(c.load, 'load');
    w.u64(c.weight, 'weight');
  });
  w.list(d.excluded, (x) => {
    w.str(x.judge, 'judge');
    w.u8(enumByte(ENUMS.exclusion, x.reason));
  });
  w.opt(d.beacon, (r) => writeReveal(w, r));
  w.opt(d.seed, (s) => w.digest(s));
  w.list(d.chosen, (j) => w.str(j, 'judge'));
}

// Event tags and field writers, in encoding order (SPEC §3.3).
const EVENTS = {
  genesis: [0, (w, e) => {
    w.str(e.log_id, 'log_id');
    writePolicy(w, e.policy);
    writeAnchor(w, e.beacon);
  }],
  policy_updated: [1, (w, e) => writePolicy(w, e.policy)],
  beacon_anchored: [2, (w, e) => writeAnchor(w, e.beacon)],
  court_created: [3, (w, e) => {
    w.str(e.court);
    w.str(e.name);
  }],
  division_created: [4, (w, e) => {
    w.str(e.court);
    w.str(e.division);
    w.str(e.name);
  }],
  judge_registered: [5, (w, e) => {
    w.str(e.judge);
    w.str(e.court);
    w.str(e.division);
    w.list(e.specializations, (s) => w.str(s));
    w.u32(e.share_permille);
    w.bool(e.active);
  }],
  judge_updated: [6, (w, e) => {
    w.str(e.judge);
    w.str(e.division);
    w.list(e.specializations, (s) => w.str(s));
    w.u32(e.share_permille);
    w.bool(e.active);
  }],
  absence_recorded: [7, (w, e) => {
    w.str(e.absence);
    w.str(e.judge);
    w.day(e.from, 'from');
    w.day(e.until, 'until');
    w.u8(enumByte(ENUMS.absence, e.reason));
  }],
  absence_cancelled: [8, (w, e) => w.str(e.absence)],
  conflict_declared: [9, (w, e) => {
    w.str(e.judge);
    w.digest(e.subject);
  }],
  conflict_withdrawn: [10, (w, e) => {
    w.str(e.judge);
    w.digest(e.subject);
  }],
  case_filed: [11, (w, e) => {
    w.str(e.case);
    w.str(e.court);
    w.str(e.division);
    w.str(e.case_type);
    w.u32(e.weight);
    w.list(e.parties, (p) => w.digest(p));
    w.digest(e.claim);
    w.opt(e.related, (r) => {
      w.str(r.case);
      w.u8(enumByte(ENUMS.relation, r.reason));
    });
    w.opt(e.earlier_instance, (c) => w.str(c));
  }],
  draw: [12, writeDraw],
  recusal: [13, (w, e) => {
    w.str(e.case);
    w.str(e.judge);
    w.u8(enumByte(ENUMS.recusal, e.reason));
  }],
  reassignment: [14, (w, e) => {
    w.str(e.case);
    w.str(e.judge);
    w.u8(enumByte(ENUMS.reassignment, e.reason));
  }],
  case_closed: [15, (w, e) => {
    w.str(e.case);
    w.u8(enumByte(ENUMS.closing, e.reason));
  }],
  credential_issued: [16, (w, e) => {
    w.digest(e.credential);
    w.u8(enumByte(ENUMS.role, e.role));
    w.str(e.holder);
    w.opt(e.court, (c) => w.str(c));
    w.opt(e.enrollment, (d) => w.digest(d));
  }],
  credential_revoked: [17, (w, e) => w.digest(e.credential)],
  enrollment_opened: [18, (w, e) => {
    w.digest(e.enrollment);
    w.str(e.judge);
  }],
};

/** The canonical bytes of an entry given in its export JSON form (SPEC §3.2). */
export function entryBytes(entry) {
  const w = new Writer();
  w.u8(1);
  w.u64(entry.index, 'index');
  w.i64(entry.at, 'at');
  if (!entry.actor) throw new VerifyError('§8', 'the entry has no actor');
  w.u8(enumByte(ENUMS.role, entry.actor.role));
  w.str(entry.actor.id, 'actor.id');
  const ev = entry.event;
  const spec = ev && EVENTS[ev.type];
  if (!spec) throw new VerifyError('§8', `unknown event type: ${JSON.stringify(ev && ev.type)}`);
  w.u8(spec[0]);
  spec[1](w, ev);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Hashes (SPEC §4)

function tag(name) {
  return utf8.encode(`klero/${name}\0`);
}

/** The domain tags of SPEC §4. */
export const TAGS = {
  entry: tag('entry/v1'),
  seed: tag('seed/v1'),
  chain: tag('beacon-chain/v1'),
  party: tag('party/v1'),
  duplicate: tag('duplicate/v2'),
  claim: tag('claim/v1'),
  credential: tag('credential/v1'),
  enrollment: tag('enrollment/v1'),
};

/** SHA-256 of the concatenation of its arguments. */
export function hash(...parts) {
  return sha256(concat(...parts));
}

/** Entry hash (SPEC §4.1): SHA-256(TAG_ENTRY || prev || entry_bytes). */
export function entryHash(prev, bytes) {
  return hash(TAGS.entry, prev, bytes);
}

/** Checks an export-form entry's own hash and returns it (SPEC §4.1, step 3 of §9). */
export function checkEntryHash(entry) {
  const prev = digest(entry.prev);
  const computed = entryHash(prev, entryBytes(entry));
  if (toHex(computed) !== entry.hash) {
    throw new VerifyError(
      '§4.1',
      `entry ${entry.index}: its recorded hash ${entry.hash} is not the hash of its contents (${toHex(computed)}): the entry was altered`,
    );
  }
  return computed;
}

/** Party commitment of a normalized key (SPEC §4.3). `pepper` is 32 bytes. */
export function partyCommitment(pepper, normalizedKey) {
  return hash(TAGS.party, pepper, utf8.encode(normalizedKey));
}

/** Claim commitment of a normalized key (SPEC §4.4). */
export function claimCommitment(pepper, normalizedKey) {
  return hash(TAGS.claim, pepper, utf8.encode(normalizedKey));
}

/** Duplicate key (SPEC §4.5); `parties` and `claim` are hex digests. */
export function duplicateKey(court, division, caseType, parties, claim) {
  const w = new Writer();
  w.bytes(TAGS.duplicate);
  w.str(court);
  w.str(division);
  w.str(caseType);
  w.u32(parties.length);
  for (const p of parties) w.digest(p);
  w.digest(claim);
  return sha256(w.finish());
}

// ---------------------------------------------------------------------------------------------
// Merkle tree (SPEC §5, RFC 9162 §2.1)

/** Leaf hash of leaf data (an entry hash). */
export function leafHash(data) {
  return hash(Uint8Array.of(0), data);
}

/** Interior node hash. */
export function nodeHash(left, right) {
  return hash(Uint8Array.of(1), left, right);
}

/** Merkle Tree Hash of a list of leaf data (entry hashes). */
export function merkleRoot(leaves) {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  let level = leaves.map(leafHash);
  // Bottom-up with RFC 9162's split (largest power of two below n): pair from the left, carry an
  // odd last node up unchanged; this gives the same tree as the recursive definition.
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i], level[i + 1]));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0];
}

/**
 * Verifies an RFC 9162 §2.1.3.2 inclusion proof: leaf data `data` (an entry hash) at `index` in a
 * tree of `size` leaves with root `root`. Returns true or false.
 */
export function verifyInclusion(index, size, data, path, root) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn > sn) return false;
  let r = leafHash(data);
  for (const p of path) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equalBytes(r, root);
}

/** Verifies an RFC 9162 §2.1.4.2 consistency proof between two tree heads. */
export function verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof) {
  const first = BigInt(oldSize);
  const second = BigInt(newSize);
  if (first > second) return false;
  if (first === second) return proof.length === 0 && equalBytes(oldRoot, newRoot);
  if (first === 0n) return proof.length === 0;
  if (proof.length === 0) return false;
  let path = proof;
  if ((first & (first - 1n)) === 0n) path = [oldRoot, ...proof];
  let fn = first - 1n;
  let sn = second - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return equalBytes(fr, oldRoot) && equalBytes(sr, newRoot) && sn === 0n;
}

// ---------------------------------------------------------------------------------------------
// Randomness (SPEC §6)

/** One step down the reverse hash chain: H(v) = SHA-256(TAG_CHAIN || v) (SPEC §6.1). */
export function chainStep(value) {
  return hash(TAGS.chain, value);
}

/** Seed of a draw (SPEC §6.2) from the trigger's entry hash and the reveal (JSON form). */
export function seedOf(triggerHash, reveal) {
  const w = new Writer();
  w.bytes(TAGS.seed);
  w.bytes(triggerHash);
  writeReveal(w, reveal);
  return sha256(w.finish());
}

// ---------------------------------------------------------------------------------------------
// Sampling (SPEC §7.6)

const TWO64 = 1n << 64n;

/** ChaCha20 keystream read as rand_chacha's ChaCha20Rng: key = seed, zero nonce, counter from 0. */
export class ChaCha20Rng {
  constructor(seed) {
    if (seed.length !== 32) throw new Error('a seed is 32 bytes');
    this.key = Uint8Array.from(seed);
    this.nonce = new Uint8Array(12);
    this.counter = 0;
    this.buf = new Uint8Array(0);
    this.pos = 0;
  }
  refill() {
    const blocks = 4;
    this.buf = chacha20(this.key, this.nonce, new Uint8Array(64 * blocks), undefined, this.counter);
    this.counter += blocks;
    this.pos = 0;
  }
  /** The next 8 keystream bytes as a little-endian u64 (BigInt). */
  nextU64() {
    if (this.pos + 8 > this.buf.length) this.refill();
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getBigUint64(0, true);
    this.pos += 8;
    return v;
  }
}

/** uniform_below(T) of SPEC §7.6, with T a BigInt >= 1. */
export function uniformBelow(rng, t) {
  if (t < 1n || t >= TWO64) throw new Error(`uniform_below needs 1 <= T < 2^64, got ${t}`);
  const zone = TWO64 - (TWO64 % t);
  for (;;) {
    const r = rng.nextU64();
    if (r < zone) return r % t;
  }
}

/** pick(weights) of SPEC §7.6: a position. */
export function pick(rng, weights) {
  let total = 0n;
  for (const w of weights) total += w;
  const x = uniformBelow(rng, total);
  let acc = 0n;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i];
    if (acc > x) return i;
  }
  throw new Error('unreachable: the cumulative weight never exceeded x');
}

/** Draw without replacement (SPEC §7.6): the chosen positions, in the order drawn. */
export function sample(seed, weights, seats) {
  const rng = new ChaCha20Rng(seed);
  const w = weights.map((x) => BigInt(x));
  const taken = new Array(w.length).fill(false);
  const chosen = [];
  for (let s = 0; s < seats; s++) {
    if (w.every((x, i) => taken[i] || x === 0n)) {
      for (let i = 0; i < w.length; i++) if (!taken[i]) w[i] = 1n;
    }
    const i = pick(rng, w);
    chosen.push(i);
    taken[i] = true;
    w[i] = 0n;
  }
  return chosen;
}

// ---------------------------------------------------------------------------------------------
// Loads, credits and weights (SPEC §7.4–7.5), from their inputs

/** The budget B = 2^40 that a plan's weights sum to. */
export const BUDGET = 1n << 40n;

const big = (x) => BigInt(x);
const ceilDiv = (a, b) => (a + b - 1n) / b;
const min = (a, b) => (a < b ? a : b);

/** Normalized load (SPEC §7.4): floor(intake * 1000 / share). */
export function normalizedLoad(intakeMilli, share) {
  return (big(intakeMilli) * 1000n) / big(share);
}

/** Joining credit (SPEC §7.4 step 2) of one judge, in thousandths. */
export function joiningCredit(pooledMean, catchUpLimit, load, share) {
  let floor = big(pooledMean) - big(catchUpLimit) * 1000n;
  if (floor < 0n) floor = 0n;
  const l = big(load);
  if (l >= floor) return 0n;
  return ceilDiv((floor - l) * big(share), 1000n);
}

/** Absence credit (SPEC §7.4 step 3) of one absent judge with factor `rate`, in thousandths. */
export function absenceCredit(caseWeight, seats, rate, poolRates) {
  const x = big(poolRates);
  if (x === 0n) return 0n;
  return (big(caseWeight) * 1000n * big(seats) * big(rate)) / x;
}

function bitLength(n) {
  return n === 0n ? 0 : n.toString(2).length;
}

/**
 * Balanced-rate factors (SPEC §7.5 step 2) of a balance group: `shares[j]`, `holds[j][k]` (judge j
 * holds class k), `volumes[k]` (V_k in thousandths). Returns BigInt factors.
 */
export function balancedRates(shares, holds, volumes) {
  const s = shares.map(big);
  const v = volumes.map(big);
  const active = v.map((vk, k) => vk > 0n && holds.some((h) => h[k]));
  const holdsActive = holds.map((h) => h.some((x, k) => x && active[k]));
  const nActive = active.filter(Boolean).length;
  const everyoneAll = holds.every(
    (h, j) => !holdsActive[j] || h.filter((x, k) => x && active[k]).length === nActive,
  );
  if (everyoneAll) return s.map((sj, j) => (holdsActive[j] ? sj : 0n));
  let x = s.map((sj, j) => (holdsActive[j] ? sj : 0n));
  for (let it = 0; it < 16; it++) {
    const X = v.map((_, k) => (active[k] ? holds.reduce((acc, h, j) => (h[k] ? acc + x[j] : acc), 0n) : 0n));
    const y = s.map((sj, j) => {
      let d = 0n;
      for (let k = 0; k < v.length; k++) if (active[k] && holds[j][k]) d += (v[k] << 64n) / X[k];
      return d === 0n ? 0n : (sj << 100n) / d;
    });
    const b = bitLength(y.reduce((m, yj) => (yj > m ? yj : m), 0n));
    x = y.map((yj, j) => {
      let xj = b > 40 ? yj >> BigInt(b - 40) : yj << BigInt(40 - b);
      if (holdsActive[j] && xj < 1n << 30n) xj = 1n << 30n;
      return xj;
    });
  }
  return x;
}

/**
 * Weights of a plan (SPEC §7.5 steps 3–6). `loads`, `shares`, `rates` (factors x) are per judge
 * of E in pool order; `absentRates` is the sum of the absent judges' factors; `policy` has
 * cap_num, cap_den, balance_permille. Returns BigInt weights summing to 2^40.
 */
export function planWeights({ loads, shares, rates, absentRates, caseWeight, policy }) {
  const n = BigInt(loads.length);
  const B = BUDGET;
  const w = big(caseWeight);
  const s = shares.map(big);
  let x = rates.map(big);
  let absent = big(absentRates);
  if (x.every((r) => r === 0n)) {
    x = s.slice();
    absent = 0n;
  }
  const keys = loads.map((l, j) => big(l) + (w * 1000n * 1000n) / s[j]);
  const capDen = big(policy.cap_den);
  const cNum = 1000n * capDen + (big(policy.cap_num) - capDen) * big(policy.balance_permille);
  const cDen = 1000n * capDen;
  const ceiling = (2n * B) / n;
  const sumE = x.reduce((a, b) => a + b, 0n);
  const bounds = (X) => {
    const U = x.map((xj) => min(ceilDiv(B * cNum * xj, cDen * X), ceiling));
    const L = x.map((xj, j) => min(U[j], (B * xj) / (4n * X)));
    return { U, L };
  };
  const covers = ({ U }) => U.reduce((a, b) => a + b, 0n) >= B;
  let chosen = bounds(sumE + absent);
  if (!covers(chosen)) {
    chosen = bounds(sumE);
    if (!covers(chosen)) {
      const U = x.map(() => ceiling);
      const L = x.map((xj) => min(ceiling, (B * xj) / (4n * sumE)));
      chosen = { U, L };
    }
  }
  const { U, L } = chosen;
  const weights = L.slice();
  let rem = B - L.reduce((a, b) => a + b, 0n);
  const order = keys.map((k, i) => i).sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : a - b));
  for (const i of order) {
    const more = min(U[i] - L[i], rem);
    weights[i] += more;
    rem -= more;
  }
  return weights;
}

// ---------------------------------------------------------------------------------------------
// Checking one draw (what the "Check this draw" button does)

function fail(section, message) {
  throw new VerifyError(section, message);
}

/**
 * Checks one draw from a case proof's `DrawProof` (GET /api/v1/cases/{case}/proof): both entries'
 * hashes, their inclusion in the checkpoint's tree, the beacon reveal against the previous chain
 * value (from `beacon_previous`, itself proven), the seed, the record's weights (sum and ceiling),
 * and the judges sampled. Returns a summary; throws VerifyError naming what failed.
 */
export function checkDrawProof(proof) {
  const cp = proof.checkpoint;
  const root = digest(cp.root);
  const steps = [];
  const proven = (p, what) => {
    const e = p.entry;
    const h = checkEntryHash(e);
    if (!verifyInclusion(e.index, cp.size, h, p.inclusion.map(digest), root)) {
      fail('§5', `the ${what} (entry ${e.index}) is not in the log's tree of size ${cp.size} with root ${cp.root}: its inclusion proof does not lead to that root`);
    }
    return { entry: e, hash: h };
  };
  const trigger = proven(proof.trigger, 'filing or trigger entry');
  steps.push(`entry ${trigger.entry.index} hash and inclusion`);
  const drawn = proven(proof.draw, 'draw entry');
  steps.push(`entry ${drawn.entry.index} hash and inclusion`);
  const d = drawn.entry.event;
  if (d.type !== 'draw') fail('§7.8', `entry ${drawn.entry.index} is not a draw`);
  if (String(d.trigger) !== String(trigger.entry.index)) {
    fail('§7.8', `the draw names entry ${d.trigger} as its trigger, but the proof's trigger is entry ${trigger.entry.index}`);
  }
  if (BigInt(drawn.entry.index) <= BigInt(trigger.entry.index)) {
    fail('§7.8', 'the draw entry comes before its trigger');
  }
  const result = { case: d.case, method: d.method.kind, chosen: d.chosen, steps };
  if (!isRandomMethod(d.method)) {
    if (d.beacon !== null || d.seed !== null) fail('§7.8', `a ${d.method.kind} draw must have no beacon and no seed`);
    return result;
  }
  // Beacon (§6.1): the reveal is one step down the chain from the previous value.
  const r = d.beacon;
  if (!r) fail('§6.1', 'a random draw without a beacon reveal');
  if (r.kind !== 'hash_chain') fail('§6.1', `unknown beacon kind ${r.kind}`);
  const prev = proof.beacon_previous;
  if (!prev) fail('§6.1', 'the proof does not include the previous beacon value (beacon_previous)');
  const p = proven(prev, 'entry holding the previous beacon value');
  if (BigInt(p.entry.index) >= BigInt(drawn.entry.index)) fail('§6.1', 'the previous beacon value comes after the draw');
  const pe = p.entry.event;
  let prevRound;
  let prevValue;
  let length;
  if (pe.type === 'genesis' || pe.type === 'beacon_anchored') {
    prevRound = 0n;
    prevValue = pe.beacon.anchor;
    length = BigInt(pe.beacon.length);
  } else if (pe.type === 'draw' && pe.beacon) {
    prevRound = BigInt(pe.beacon.round);
    prevValue = pe.beacon.value;
    length = null;
  } else {
    fail('§6.1', `entry ${p.entry.index} holds no beacon value`);
  }
  if (BigInt(r.round) !== prevRound + 1n) {
    fail('§6.1', `the beacon round is ${r.round}, but the previous round was ${prevRound}`);
  }
  if (length !== null && BigInt(r.round) > length) fail('§6.1', 'the beacon chain is used up');
  const stepped = toHex(chainStep(digest(r.value)));
  if (stepped !== prevValue) {
    fail('§6.1', `the beacon value of round ${r.round} does not hash to the previous value (${prevValue}): it is not the chain's next value`);
  }
  steps.push(`beacon round ${r.round} follows entry ${p.entry.index}`);
  // Seed (§6.2).
  const seed = seedOf(trigger.hash, r);
  if (d.seed !== toHex(seed)) {
    fail('§6.2', `the recorded seed ${d.seed} is not SHA-256 of the trigger's hash and the beacon value (${toHex(seed)})`);
  }
  steps.push('seed');
  // Weights as the record states them (§7.5: they sum to 2^40, each positive, none above 2B/n).
  const weights = d.eligible.map((c) => BigInt(c.weight));
  const n = BigInt(weights.length);
  if (n === 0n) fail('§7.8', 'a random draw with an empty pool');
  const total = weights.reduce((a, b) => a + b, 0n);
  if (total !== BUDGET) fail('§7.5', `the weights sum to ${total}, not 2^40`);
  const ceiling = (2n * BUDGET) / n;
  d.eligible.forEach((c, i) => {
    if (weights[i] <= 0n) fail('§7.5', `judge ${c.judge} has weight 0`);
    if (weights[i] > ceiling) fail('§7.5', `judge ${c.judge}'s weight ${weights[i]} is above the ceiling 2^41/${n}`);
  });
  steps.push('weights');
  // Sampling (§7.6).
  const positions = sample(seed, weights, Number(d.seats));
  const expected = positions.map((i) => d.eligible[i].judge);
  if (expected.join(',') !== d.chosen.join(',')) {
    fail('§7.6', `the draw records ${d.chosen.join(', ')}, but the seed and weights choose ${expected.join(', ')}`);
  }
  steps.push('judges sampled');
  result.seed = toHex(seed);
  result.round = String(r.round);
  return result;
}

/** Checks a whole case proof (the filing's draw and every redraw). */
export function checkCaseProof(proof) {
  const results = [checkDrawProof(proof.filing)];
  for (const r of proof.redraws || []) results.push(checkDrawProof(r));
  return results;
}

// ---------------------------------------------------------------------------------------------
// A log's draws: hashes, links, root, beacon chain, seeds and sampled judges

/**
 * Checks an export (JSON Lines text): framing (§8, in part), numbering (§9), links and hashes
 * (§4.1), time order (§7.1), every beacon anchor and reveal (§6.1), every random draw's seed (§6.2),
 * weights sum (§7.5) and sampled judges (§7.6). Pools, loads and weights are not recomputed from
 * state. Returns {entries, draws, root, head, drawResults} or throws VerifyError with `.entry`.
 */
export function checkLogDraws(text) {
  if (text.length > 0 && !text.endsWith('\n')) {
    const n = text.split('\n').length - 1;
    throw Object.assign(new VerifyError('§8', 'the last line has no line feed'), { entry: n });
  }
  const lines = text.split('\n');
  lines.pop();
  let prev = new Uint8Array(32);
  let lastAt = null;
  const hashes = [];
  const byIndex = [];
  let chain = null; // {round, current, length}
  const drawResults = [];
  lines.forEach((line, p) => {
    const at = (section, message) => {
      throw Object.assign(new VerifyError(section, message), { entry: p });
    };
    if (line.length === 0) at('§8', 'an empty line');
    if (line.includes('\r')) at('§8', 'a carriage return in a line');
    let e;
    try {
      e = parseJson(line);
    } catch (err) {
      at('§8', `not JSON: ${err.message}`);
    }
    try {
      digest(e.prev);
      digest(e.hash);
      const bytes = entryBytes(e);
      if (String(e.index) !== String(p)) at('§9', `index ${e.index} at position ${p}`);
      if (e.prev !== toHex(prev)) at('§4.1', 'prev is not the previous entry\'s hash');
      const h = entryHash(prev, bytes);
      if (toHex(h) !== e.hash) at('§4.1', 'the hash is not the hash of the entry: it was altered');
      if (lastAt !== null && BigInt(e.at) < lastAt) at('§7.1', 'time goes back');
      lastAt = BigInt(e.at);
      const ev = e.event;
      if ((p === 0) !== (ev.type === 'genesis')) at('§7.1', 'genesis must be entry 0 and only entry 0');
      if (e.actor.role === 'system' && !['draw', 'beacon_anchored', 'credential_issued'].includes(ev.type)) {
        at('§7.1', `role system caused a ${ev.type}`);
      }
      if (ev.type === 'genesis' || ev.type === 'beacon_anchored') {
        if (BigInt(ev.beacon.length) < 1n) at('§6.1', 'a beacon anchor of length 0');
        if (ev.type === 'beacon_anchored' && !['system', 'system_admin'].includes(e.actor.role)) {
          at('§6.1', 'a beacon anchored by neither system nor system_admin');
        }
        chain = { round: 0n, current: ev.beacon.anchor, length: BigInt(ev.beacon.length) };
      }
      if (ev.type === 'draw') {
        if (e.actor.role !== 'system') at('§7.1', 'a draw whose actor is not system');
        const trig = byIndex[Number(ev.trigger)];
        if (!trig) at('§7.8', `the draw's trigger ${ev.trigger} is not an earlier entry`);
        if (isRandomMethod(ev.method)) {
          const r = ev.beacon;
          if (!r || r.kind !== 'hash_chain') at('§6.1', 'a random draw without a hash-chain reveal');
          if (BigInt(r.round) !== chain.round + 1n) at('§6.1', `beacon round ${r.round} after round ${chain.round}`);
          if (BigInt(r.round) > chain.length) at('§6.1', 'the beacon chain is used up');
          if (toHex(chainStep(digest(r.value))) !== chain.current) at('§6.1', 'the beacon value is not the chain\'s next value');
          chain.round = BigInt(r.round);
          chain.current = r.value;
          const seed = seedOf(trig.hash, r);
          if (ev.seed !== toHex(seed)) at('§7.8', 'the seed is not its recomputation');
          const weights = ev.eligible.map((c) => BigInt(c.weight));
          if (weights.reduce((a, b) => a + b, 0n) !== BUDGET) at('§7.8', 'the weights do not sum to 2^40');
          const expected = sample(seed, weights, Number(ev.seats)).map((i) => ev.eligible[i].judge);
          if (expected.join(',') !== ev.chosen.join(',')) {
            at('§7.8', `the draw chose ${ev.chosen.join(', ')}, but replay chooses ${expected.join(', ')}`);
          }
        } else if (ev.beacon !== null || ev.seed !== null) {
          at('§7.8', 'a bound draw with a beacon or seed');
        }
        drawResults.push({ index: p, case: ev.case, method: ev.method, chosen: ev.chosen });
      }
      byIndex[p] = { entry: e, hash: h };
      hashes.push(h);
      prev = h;
    } catch (err) {
      if (err instanceof VerifyError && err.entry === undefined) err.entry = p;
      throw err;
    }
  });
  return {
    entries: lines.length,
    draws: drawResults.length,
    root: toHex(merkleRoot(hashes)),
    head: toHex(prev),
    drawResults,
  };
}
