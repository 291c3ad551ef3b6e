// klero-verify.js: an independent verifier of Kleroterion entries and draws, written from
// docs/SPEC.md (version 1) and not from the Rust reference. Pure functions, no I/O: the page
// script (draw-check.js) and the test harness feed it JSON they fetched.
//
// Covered: canonical entry bytes of every event type (SPEC §3, tags 0–23, both reveal kinds), entry
// hashes (§4.1), normalized keys, party and claim commitments and the duplicate key (§4.3–4.5; the
// key's skeleton step takes Unicode's confusables table as data, ./confusables.json), Merkle leaf
// and node hashes, roots, inclusion and consistency proofs (§5), tile paths, the tiles of a size, hash tiles from the tree, the root from partial tiles and entry bundles (§5.4),
// verifier keys, checkpoint bodies, signed notes and C2SP cosignature/v1 cosignatures (Ed25519,
// §5.1–5.3), the hash-chain beacon (§6.1), the seed for both beacons (§6.2), drand round messages,
// randomness and BLS signatures, and the first round after a commit time (§6.3–6.4), sampling
// (§7.6), the weights, balanced-rate factors and credits (§7.4–7.5) from their inputs, and a check
// of a log (hashes, links, root, the log key, witnessed checkpoints against the roots it computes
// and their commit times, the beacon chain, drand reveals with the timing rule, beacon_delayed,
// seeds, sampled judges from the recorded weights). Not covered: the state fold of §7.1–7.3 and
// §7.9 (pools, loads, bindings and credentials are taken from the record, not recomputed from
// earlier entries).
//
// SHA-256, ChaCha20, Ed25519 and BLS12-381 come from the audited noble libraries, vendored under
// ./vendor/ (see its README for versions and integrity hashes). WebCrypto is not used: it is
// missing on plain-HTTP pages.

import { sha256 } from './vendor/noble-hashes/sha2.js';
import { chacha20 } from './vendor/noble-ciphers/chacha.js';
import { ed25519 } from './vendor/noble-curves/ed25519.js';
import { bls12_381 } from './vendor/noble-curves/bls12-381.js';

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
  /** `bytes[N]` (and `sig64`, N = 64): exactly N raw bytes, 2N lower-case hex characters in JSON. */
  fixed(hex, n, what = 'bytes') {
    if (typeof hex !== 'string' || hex.length !== 2 * n) {
      throw new VerifyError('§8', `${what}: must be ${2 * n} lower-case hex characters`);
    }
    this.parts.push(fromHex(hex));
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

const BEACON_KINDS = { hash_chain: 1, drand: 2 };

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
  if (kind === 1) w.digest(r.value);
  else w.fixed(r.signature, 48, 'signature');
}

/** The canonical bytes of a beacon reveal (SPEC §3.6). */
export function revealBytes(reveal) {
  const w = new Writer();
  writeReveal(w, reveal);
  return w.finish();
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
  log_key_published: [19, (w, e) => w.str(e.key, 'key')],
  witnesses_configured: [20, (w, e) => {
    w.list(e.witnesses, (x) => {
      w.str(x.name, 'name');
      w.str(x.key, 'key');
    }, 'witnesses');
    w.u8(e.quorum, 'quorum');
  }],
  drand_configured: [21, (w, e) => {
    w.digest(e.chain_hash);
    w.fixed(e.public_key, 96, 'public_key');
    w.u64(e.period_seconds, 'period_seconds');
    w.u64(e.genesis_time, 'genesis_time');
    w.str(e.scheme, 'scheme');
  }],
  checkpoint_witnessed: [22, (w, e) => {
    w.u64(e.size, 'size');
    w.list(e.cosignatures, (c) => {
      w.str(c.witness, 'witness');
      w.u64(c.time, 'time');
      w.fixed(c.signature, 64, 'signature');
    }, 'cosignatures');
  }],
  beacon_delayed: [23, (w, e) => {
    w.str(e.case, 'case');
    w.u64(e.trigger, 'trigger');
    w.u64(e.round, 'round');
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

// ---------------------------------------------------------------------------------------------
// Normalized keys (SPEC §4.3)

/**
 * Reads the TR 39 confusables table (`confusables.json`, beside this file; generated from the
 * reference's Unicode data, see vendor/README.md): a JSON object from a hexadecimal code point to
 * its prototype in NFD (empty for a Default_Ignorable_Code_Point, which the skeleton drops). Code
 * points not listed are their own prototype. Returns a Map for normalizeKey.
 */
export function parseConfusables(text) {
  const table = new Map();
  for (const [cp, proto] of Object.entries(JSON.parse(text))) {
    const n = Number.parseInt(cp, 16);
    if (!/^[0-9a-f]+$/.test(cp) || !(n <= 0x10ffff) || typeof proto !== 'string') {
      throw new Error(`confusables table: bad entry ${JSON.stringify(cp)}`);
    }
    table.set(n, proto);
  }
  return table;
}

// Step 2's test: Alphabetic, or general category Nd, Nl or No.
const NOT_LETTER_OR_DIGIT = /[^\p{Alphabetic}\p{Nd}\p{Nl}\p{No}]/gu;

function lettersAndDigits(s) {
  return s.replace(NOT_LETTER_OR_DIGIT, '');
}

// Step 3: the default full upper-case mapping, then the full lower-case mapping (String's
// toLowerCase applies the Final_Sigma condition, on the text it is given).
function caseFold(s) {
  return s.toUpperCase().toLowerCase();
}

// Step 4: the UTS #39 skeleton: NFD, each code point replaced by its prototype, NFD again.
function skeleton(s, confusables) {
  let out = '';
  for (const ch of s.normalize('NFD')) {
    const proto = confusables.get(ch.codePointAt(0));
    out += proto === undefined ? ch : proto;
  }
  return out.normalize('NFD');
}

/**
 * The normalized key of an identifier or a claim (SPEC §4.3): NFKC, letters and digits, case fold,
 * skeleton, case fold, letters and digits. `confusables` is parseConfusables's Map. The browser's
 * own Unicode version is used for NFKC, NFD, the properties and the case mappings: it must agree
 * with the SPEC's for the text at hand (keys.json is the check).
 */
export function normalizeKey(text, confusables) {
  if (!(confusables instanceof Map)) throw new Error('normalizeKey needs the confusables table');
  const step2 = lettersAndDigits(text.normalize('NFKC'));
  const step4 = skeleton(caseFold(step2), confusables);
  return lettersAndDigits(caseFold(step4));
}

/** Party commitment (SPEC §4.3) of a normalized key (normalizeKey). `pepper` is 32 bytes. */
export function partyCommitment(pepper, normalizedKey) {
  return hash(TAGS.party, pepper, utf8.encode(normalizedKey));
}

/** Claim commitment (SPEC §4.4) of a normalized key (normalizeKey). */
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
// Tiles (SPEC §5.4, C2SP tlog-tiles)

/** Hashes in a full tile, and the largest level a path may name. */
export const TILE_WIDTH = 256;
const TILE_MAX_LEVEL = 63;

/**
 * The Merkle Tree Hash (RFC 9162) of a list of hashes taking the place of leaf hashes (they are
 * not hashed again); one hash is its own MTH. Used for a tile's hashes and a partial tile's peaks.
 */
export function hashesRoot(hashes) {
  if (hashes.length === 0) throw new VerifyError('§5.4', 'the MTH of no hashes');
  let level = hashes;
  // Bottom-up: pair from the left, carry an odd last node up (the same tree as RFC 9162's split).
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i], level[i + 1]));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0];
}

/** A tile index `<N>` as path text: three-digit groups, all but the last prefixed with `x`. */
export function tileIndexPath(index) {
  let n = BigInt(index);
  if (n < 0n) throw new VerifyError('§5.4', `a negative tile index ${n}`);
  const groups = [];
  do {
    groups.unshift(String(n % 1000n).padStart(3, '0'));
    n /= 1000n;
  } while (n > 0n);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

function widthSuffix(width) {
  const w = Number(width);
  if (!Number.isInteger(w) || w < 1 || w > TILE_WIDTH) throw new VerifyError('§5.4', `a tile width ${width}`);
  return w === TILE_WIDTH ? '' : `.p/${w}`;
}

/** The path (under the prefix) of hash tile `index` at `level`, `width` hashes (256: full). */
export function tilePath(level, index, width = TILE_WIDTH) {
  const l = Number(level);
  if (!Number.isInteger(l) || l < 0 || l > TILE_MAX_LEVEL) throw new VerifyError('§5.4', `a tile level ${level}`);
  return `tile/${l}/${tileIndexPath(index)}${widthSuffix(width)}`;
}

/** The path of entry bundle `index` of `width` entries (256: full). */
export function bundlePath(index, width = TILE_WIDTH) {
  return `tile/entries/${tileIndexPath(index)}${widthSuffix(width)}`;
}

/**
 * The hash tiles of a tree of `size` leaves, level by level and in index order:
 * [{level, index (BigInt), width}], full tiles with width 256.
 */
export function tilesOfSize(size) {
  const s = BigInt(size);
  const out = [];
  for (let level = 0, span = 1n; s / span > 0n; level++, span *= 256n) {
    const full = s / (span * 256n);
    for (let n = 0n; n < full; n++) out.push({ level, index: n, width: TILE_WIDTH });
    const w = Number((s / span) % 256n);
    if (w !== 0) out.push({ level, index: full, width: w });
  }
  return out;
}

/**
 * The hashes of tile `index` at `level`, `width` wide, from the tree's leaf hashes (level 0 hashes,
 * SHA-256(0x00 || entry hash)): hash i is the MTH of leaves (index·256 + i)·256^level up to the
 * next. Returns an array of 32-byte hashes; throws if the leaves do not reach that far.
 */
export function tileHashes(leafHashes, level, index, width = TILE_WIDTH) {
  const span = 256 ** Number(level);
  const out = [];
  for (let i = 0; i < Number(width); i++) {
    const start = (Number(index) * 256 + i) * span;
    if (start + span > leafHashes.length) throw new VerifyError('§5.4', 'the tile reaches beyond the tree');
    out.push(span === 1 ? leafHashes[start] : hashesRoot(leafHashes.slice(start, start + span)));
  }
  return out;
}

/** Splits a hash tile's bytes into its 32-byte hashes; its length must be `width`·32. */
export function splitTile(bytes, width) {
  if (bytes.length !== Number(width) * 32) {
    throw new VerifyError('§5.4', `a tile of ${bytes.length} bytes, ${width} hashes expected`);
  }
  const out = [];
  for (let i = 0; i < bytes.length; i += 32) out.push(bytes.slice(i, i + 32));
  return out;
}

/**
 * The root of a tree of `size` leaves from its partial tiles (step 4 of verifying from tiles):
 * `partial(level)` returns the hashes of the partial tile at that level (w = ⌊size / 256^level⌋ mod
 * 256 of them). Each is split into runs of 2^k hashes for the set bits k of w, largest first; each
 * run's MTH is a peak; the peaks, highest level first, fold from the right.
 */
export function rootFromTiles(size, partial) {
  const s = BigInt(size);
  const levels = [];
  for (let level = 0, span = 1n; s / span > 0n; level++, span *= 256n) levels.push({ level, span });
  const peaks = [];
  for (const { level, span } of levels.reverse()) {
    const w = Number((s / span) % 256n);
    if (w === 0) continue;
    const hashes = partial(level);
    if (hashes.length !== w) throw new VerifyError('§5.4', `the partial tile at level ${level} holds ${hashes.length} hashes, not ${w}`);
    let at = 0;
    for (let k = 7; k >= 0; k--) {
      if ((w & (1 << k)) === 0) continue;
      peaks.push(hashesRoot(hashes.slice(at, at + (1 << k))));
      at += 1 << k;
    }
  }
  // The empty tree has no tiles: its root is SHA-256("") (§5).
  if (peaks.length === 0) return sha256(new Uint8Array(0));
  let root = peaks[peaks.length - 1];
  for (let i = peaks.length - 2; i >= 0; i--) root = nodeHash(peaks[i], root);
  return root;
}

/** An entry bundle's bytes from export lines (without their line feeds): each as u16 length || UTF-8. */
export function entryBundle(lines) {
  const parts = [];
  for (const line of lines) {
    const b = utf8.encode(line);
    if (b.length > 0xffff) throw new VerifyError('§5.4', 'a line longer than 65,535 bytes cannot be bundled');
    parts.push(Uint8Array.of(b.length >> 8, b.length & 0xff), b);
  }
  return concat(...parts);
}

/** The export lines of an entry bundle's bytes; throws on a truncated item or invalid UTF-8. */
export function parseEntryBundle(bytes) {
  const dec = new TextDecoder('utf-8', { fatal: true });
  const lines = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) throw new VerifyError('§5.4', 'a bundle ends inside an item\'s length');
    const n = (bytes[at] << 8) | bytes[at + 1];
    if (at + 2 + n > bytes.length) throw new VerifyError('§5.4', 'a bundle ends inside an item');
    try {
      lines.push(dec.decode(bytes.subarray(at + 2, at + 2 + n)));
    } catch {
      throw new VerifyError('§8', 'a bundle item is not UTF-8');
    }
    at += 2 + n;
  }
  return lines;
}

/**
 * Checks entry bundle `index` against the level-0 tile of the same index and `width` (step 2 of
 * verifying from tiles, before replay): exactly `width` items, each a JSON line whose `hash`'s leaf
 * hash SHA-256(0x00 || hash) is the tile's hash at its position. Returns the lines; a failure is a
 * VerifyError naming the entry.
 */
export function checkBundle(bundleBytes, level0Tile, index, width = TILE_WIDTH) {
  const lines = parseEntryBundle(bundleBytes);
  const hashes = splitTile(level0Tile, width);
  if (lines.length !== Number(width)) {
    throw new VerifyError('§5.4', `bundle ${index} holds ${lines.length} items, not ${width}`);
  }
  lines.forEach((line, i) => {
    const entry = BigInt(index) * 256n + BigInt(i);
    const at = (section, message) => {
      throw Object.assign(new VerifyError(section, message), { entry: Number(entry) });
    };
    let e;
    try {
      e = parseJson(line);
      digest(e.hash);
    } catch (err) {
      at('§8', `entry ${entry} is not an export line: ${err.message}`);
    }
    if (!equalBytes(leafHash(digest(e.hash)), hashes[i])) {
      at('§5.4', `entry ${entry}'s leaf hash is not the level-0 tile's`);
    }
  });
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Randomness (SPEC §6)

/** One step down the reverse hash chain: H(v) = SHA-256(TAG_CHAIN || v) (SPEC §6.1). */
export function chainStep(value) {
  return hash(TAGS.chain, value);
}

/**
 * Seed of a draw (SPEC §6.2) from the trigger's entry hash and the reveal (JSON form):
 * SHA-256(TAG_SEED || trigger_hash || u8 kind || u64 round || randomness), where randomness is the
 * chain value, or for drand SHA-256 of the 48 signature bytes.
 */
export function seedOf(triggerHash, reveal) {
  const w = new Writer();
  w.bytes(TAGS.seed);
  w.bytes(triggerHash);
  if (reveal.kind === 'drand') {
    w.u8(2);
    w.u64(reveal.round, 'round');
    w.bytes(drandRandomness(reveal.signature));
  } else {
    writeReveal(w, reveal);
  }
  return sha256(w.finish());
}

// ---------------------------------------------------------------------------------------------
// Signed checkpoints and cosignatures (SPEC §5.1–5.3)

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 with padding. */
export function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    s += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    s += i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=';
    s += i + 2 < bytes.length ? B64[n & 63] : '=';
  }
  return s;
}

/** Bytes of standard padded base64; null unless the text is exactly the canonical encoding. */
export function fromBase64(text) {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) n = (n << 6) | (text[i + j] === '=' ? 0 : B64.indexOf(text[i + j]));
    for (const b of [(n >> 16) & 255, (n >> 8) & 255, n & 255]) if (o < out.length) out[o++] = b;
  }
  return toBase64(out) === text ? out : null;
}

/** Signature type bytes of C2SP signed-note: Ed25519 (a log, §5.1) and cosignature/v1 (§5.2). */
export const SIG_ED25519 = 0x01;
export const SIG_COSIGNATURE = 0x04;

/** Key ID (SPEC §5.1, §5.2): the first 4 bytes of SHA-256(name || 0x0A || type || public key). */
export function keyId(name, type, publicKey) {
  return hash(utf8.encode(name), Uint8Array.of(0x0a, type), publicKey).slice(0, 4);
}

/** The verifier key text `<name>+<key ID hex>+<base64(type || public key)>` of a key. */
export function verifierKey(name, type, publicKey) {
  return `${name}+${toHex(keyId(name, type, publicKey))}+${toBase64(concat(Uint8Array.of(type), publicKey))}`;
}

/**
 * Parses a verifier key of the given signature type: {name, keyId, publicKey}. Throws (with no
 * section; the caller names it) if the text is not one: a name without spaces or `+`, 8 lower-case
 * hex digits that are the key ID of that name and key, and base64 of the type byte and 32 bytes.
 */
export function parseVerifierKey(text, type) {
  const bad = (why) => {
    throw new Error(`not a verifier key (${why}): ${String(text).slice(0, 120)}`);
  };
  if (typeof text !== 'string') bad('not a string');
  const a = text.indexOf('+');
  const b = a < 0 ? -1 : text.indexOf('+', a + 1);
  if (a <= 0 || b < 0) bad('it is not name+id+key');
  const name = text.slice(0, a);
  const id = text.slice(a + 1, b);
  if (/[\s+]/u.test(name)) bad('the name has a space or a +');
  if (!/^[0-9a-f]{8}$/.test(id)) bad('the key ID is not 8 lower-case hex digits');
  const raw = fromBase64(text.slice(b + 1));
  if (!raw || raw.length !== 33) bad('the key is not base64 of 33 bytes');
  if (raw[0] !== type) bad(`the signature type is ${raw[0]}, not ${type}`);
  const publicKey = raw.slice(1);
  if (toHex(keyId(name, type, publicKey)) !== id) bad('the key ID does not match the name and key');
  return { name, keyId: fromHex(id), publicKey };
}

/** The checkpoint body (SPEC §5.1): origin, size and base64 root, each line ending with `\n`. */
export function checkpointBody(origin, size, root) {
  return `${origin}\n${BigInt(size)}\n${toBase64(root)}\n`;
}

/** The message a witness signs (SPEC §5.2) for cosigning time `time` (seconds) and a body. */
export function cosignatureMessage(time, body) {
  return `cosignature/v1\ntime ${BigInt(time)}\n${body}`;
}

/** Strict Ed25519 verification (RFC 8032: canonical S, no small-order points). */
export function ed25519Verify(signature, message, publicKey) {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** The Ed25519 public key of a 32-byte seed (RFC 8032), to check keys given with their seeds. */
export function ed25519PublicKey(seed) {
  return ed25519.getPublicKey(seed);
}

/** Whether `signature` (64 bytes) is a valid cosignature/v1 at `time` on `body` (SPEC §5.2). */
export function verifyCosignature(publicKey, time, body, signature) {
  if (BigInt(time) < 0n || BigInt(time) > I64_MAX) return false;
  return ed25519Verify(signature, utf8.encode(cosignatureMessage(time, body)), publicKey);
}

/** A cosignature's note line (SPEC §5.2): `— <name> base64(key ID || u64 time || signature)\n`. */
export function cosignatureLine(name, keyIdBytes, time, signature) {
  const t = new Uint8Array(8);
  new DataView(t.buffer).setBigUint64(0, BigInt(time));
  return `\u2014 ${name} ${toBase64(concat(keyIdBytes, t, signature))}\n`;
}

/**
 * Verifies a signed note (SPEC §5.1–5.2): the log's Ed25519 signature under `logKey` (verifier key
 * text) and, for each witness verifier key, its cosignature lines. Returns {body, origin, size,
 * root, cosigned: [names]} or throws VerifyError('§5.1' | '§5.3').
 */
export function verifyCosignedNote(note, logKey, witnessKeys = [], quorum = 0) {
  let log;
  try {
    log = parseVerifierKey(logKey, SIG_ED25519);
  } catch (e) {
    fail('§5.1', e.message);
  }
  const split = note.indexOf('\n\n');
  if (split < 0) fail('§5.1', 'the note has no empty line after its body');
  const body = note.slice(0, split + 1);
  const lines = body.split('\n');
  if (lines.length !== 4 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) fail('§5.1', 'the body is not origin, size, root');
  const root = fromBase64(lines[2]);
  if (!root || root.length !== 32) fail('§5.1', 'the root is not base64 of 32 bytes');
  if (lines[0] !== log.name) fail('§5.1', `the origin ${lines[0]} is not the log key's name ${log.name}`);
  const sigText = note.slice(split + 2);
  if (!sigText.endsWith('\n')) fail('§5.1', 'the last signature line has no line feed');
  const sigs = sigText.slice(0, -1).split('\n').map((l) => {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(l);
    if (!m) fail('§5.1', `not a signature line: ${l}`);
    const raw = fromBase64(m[2]);
    if (!raw || raw.length < 4) fail('§5.1', `not a signature line: ${l}`);
    return { name: m[1], keyId: raw.slice(0, 4), rest: raw.slice(4) };
  });
  const bodyBytes = utf8.encode(body);
  const own = sigs.filter((s) => s.name === log.name && equalBytes(s.keyId, log.keyId));
  if (!own.some((s) => s.rest.length === 64 && ed25519Verify(s.rest, bodyBytes, log.publicKey))) {
    fail('§5.1', 'the note has no valid signature of the log key');
  }
  const cosigned = [];
  for (const wk of witnessKeys) {
    const k = parseVerifierKey(wk, SIG_COSIGNATURE);
    for (const s of sigs.filter((x) => x.name === k.name && equalBytes(x.keyId, k.keyId))) {
      if (s.rest.length !== 72) fail('§5.3', `witness ${k.name}'s cosignature line has the wrong length`);
      const time = new DataView(s.rest.buffer, s.rest.byteOffset, 8).getBigUint64(0);
      if (!verifyCosignature(k.publicKey, time, body, s.rest.slice(8))) {
        fail('§5.3', `witness ${k.name}'s cosignature does not verify`);
      }
      if (!cosigned.includes(k.name)) cosigned.push(k.name);
    }
  }
  if (cosigned.length < quorum) fail('§5.3', `${cosigned.length} witnesses cosigned, below the quorum ${quorum}`);
  return { body, origin: lines[0], size: BigInt(lines[1]), root, cosigned };
}

// ---------------------------------------------------------------------------------------------
// drand (SPEC §6.3–6.4)

/** The only drand scheme accepted (SPEC §6.3). */
export const DRAND_SCHEME = 'bls-unchained-g1-rfc9380';
/** The hash-to-G1 domain separation tag of drand's unchained G1 scheme. */
export const DRAND_DST = 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_';

/** The message of drand round `r`: SHA-256 of the round as a big-endian u64. */
export function drandMessage(round) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(round));
  return sha256(b);
}

/** A round's randomness: SHA-256 of its 48 signature bytes (hex in, bytes out). */
export function drandRandomness(signatureHex) {
  if (typeof signatureHex !== 'string' || signatureHex.length !== 96) {
    throw new VerifyError('§8', 'a drand signature must be 96 lower-case hex characters');
  }
  return sha256(fromHex(signatureHex));
}

/** round_time(r) = genesis_time + (r - 1) * period_seconds (SPEC §6.3). */
export function drandRoundTime(round, genesisTime, period) {
  return BigInt(genesisTime) + (BigInt(round) - 1n) * BigInt(period);
}

/** The first round strictly after commit time T (SPEC §6.4). */
export function drandFirstRoundAfter(commitTime, genesisTime, period) {
  const t = BigInt(commitTime);
  const g = BigInt(genesisTime);
  if (t < g) return 1n;
  return (t - g) / BigInt(period) + 2n;
}

/** Whether a public key (hex) is a compressed BLS12-381 G2 point of the prime-order subgroup. */
export function drandPublicKeyValid(publicKeyHex) {
  try {
    const p = bls12_381.G2.Point.fromBytes(fromHex(publicKeyHex));
    p.assertValidity();
    return !p.is0();
  } catch {
    return false;
  }
}

const drandChecked = new Map();

/**
 * Whether `signature` (hex, 48 bytes, G1) verifies for `round` under `publicKey` (hex, 96 bytes,
 * G2): e(signature, g2) = e(H(m), public_key), H the RFC 9380 hash to G1 with drand's DST (SPEC
 * §6.3). Results are remembered (a pairing takes tens of milliseconds).
 */
export function drandVerify(publicKeyHex, round, signatureHex) {
  const k = `${publicKeyHex}/${round}/${signatureHex}`;
  if (!drandChecked.has(k)) {
    let ok = false;
    try {
      const ss = bls12_381.shortSignatures;
      const pk = bls12_381.G2.Point.fromBytes(fromHex(publicKeyHex));
      ok = ss.verify(fromHex(signatureHex), ss.hash(drandMessage(round), DRAND_DST), pk);
    } catch {
      ok = false;
    }
    drandChecked.set(k, ok);
  }
  return drandChecked.get(k);
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
  const r = d.beacon;
  if (!r) fail('§6.1', 'a random draw without a beacon reveal');
  if (r.kind === 'drand') return checkDrandDrawProof(proof, trigger, d, proven, result);
  // Beacon (§6.1): the reveal is one step down the chain from the previous value.
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
  return checkSeedAndSample(trigger, d, result);
}

/**
 * A drand draw's proof (SPEC §6.3): the round's BLS signature is checked when the proof carries
 * the `drand_configured` entry in force (`drand_configured`, proven like the others); the timing
 * rule (§6.4) needs the commit time, which one draw's proof does not carry, and is left to a full
 * verifier. Then the seed and the sampling.
 */
function checkDrandDrawProof(proof, trigger, d, proven, result) {
  const r = d.beacon;
  const steps = result.steps;
  if (proof.drand_configured) {
    const c = proven(proof.drand_configured, 'drand_configured entry');
    if (c.entry.event.type !== 'drand_configured' || BigInt(c.entry.index) >= BigInt(trigger.entry.index)) {
      fail('§6.3', `entry ${c.entry.index} is not a drand_configured entry before the trigger`);
    }
    if (!drandVerify(c.entry.event.public_key, r.round, r.signature)) {
      fail('§6.3', `the drand signature of round ${r.round} does not verify under the chain of entry ${c.entry.index}`);
    }
    steps.push(`drand round ${r.round} signature`);
  } else {
    steps.push(`drand round ${r.round}: signature and timing not checked here (the proof has no drand_configured entry)`);
  }
  return checkSeedAndSample(trigger, d, result);
}

function checkSeedAndSample(trigger, d, result) {
  const r = d.beacon;
  const steps = result.steps;
  // Seed (§6.2).
  const seed = seedOf(trigger.hash, r);
  if (d.seed !== toHex(seed)) {
    fail('§6.2', `the recorded seed ${d.seed} is not SHA-256 of the trigger's hash and the beacon's randomness (${toHex(seed)})`);
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
// A log's draws: hashes, links, root, beacons, keys, witnesses, seeds and sampled judges

/** The entry of `list` ({index, ...}, in log order) in force at entry `i`: the last before it. */
function inForceAt(list, i) {
  let found = null;
  for (const x of list) {
    if (x.index < i) found = x;
    else break;
  }
  return found;
}

const SYSTEM_EVENTS = [
  'draw',
  'beacon_anchored',
  'beacon_delayed',
  'credential_issued',
  'log_key_published',
  'checkpoint_witnessed',
];

const TRIGGERS = ['case_filed', 'recusal', 'reassignment'];

/**
 * Checks an export (JSON Lines text): framing (§8, in part), numbering (§9), links and hashes
 * (§4.1), time order (§7.1), the log key (§5.1), witnesses and witnessed checkpoints with their
 * Ed25519 cosignatures over the roots it computes (§5.3), every beacon anchor and hash-chain reveal
 * (§6.1), drand configurations and reveals with their BLS signatures (§6.3) and the timing rule
 * (§6.4), beacon_delayed (§7.7), every random draw's seed (§6.2), weights sum (§7.5) and sampled
 * judges (§7.6), and that a draw answers its case's latest trigger. Pools, loads, weights and
 * bindings are not recomputed from state. Returns {entries, draws, root, head, drawResults} or
 * throws VerifyError with `.entry`.
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
  let logId = null;
  let logKey = null;
  const witnessConfigs = []; // {index, quorum, witnesses: Map name -> {publicKey}}
  const drandConfigs = []; // {index, event}
  const witnessed = []; // {index, size, commitTime}
  const openTrigger = new Map(); // case -> index of the trigger whose draw is open
  const delayed = new Set(); // triggers with a beacon_delayed
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
    // The commit time of trigger entry i (SPEC §5.3, §6.4), or null while it is not known.
    const commitTime = (i) => {
      if (inForceAt(witnessConfigs, i)) {
        const cw = witnessed.find((c) => c.index > i && c.size > BigInt(i));
        return cw ? cw.commitTime : null;
      }
      const s = BigInt(byIndex[i].entry.at) / 1000n;
      return s < 0n ? 0n : s;
    };
    // The drand round a draw opened by trigger i must use, given the chain in force at i.
    const roundFor = (i, dc) => {
      const t = commitTime(i);
      return t === null ? null : drandFirstRoundAfter(t, dc.genesis_time, dc.period_seconds);
    };
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
      const role = e.actor.role;
      if ((p === 0) !== (ev.type === 'genesis')) at('§7.1', 'genesis must be entry 0 and only entry 0');
      if (role === 'system' && !SYSTEM_EVENTS.includes(ev.type)) {
        at('§7.1', `role system caused a ${ev.type}`);
      }
      if (ev.type === 'genesis') logId = ev.log_id;
      if (ev.type === 'genesis' || ev.type === 'beacon_anchored') {
        if (BigInt(ev.beacon.length) < 1n) at('§6.1', 'a beacon anchor of length 0');
        if (ev.type === 'beacon_anchored' && !['system', 'system_admin'].includes(role)) {
          at('§6.1', 'a beacon anchored by neither system nor system_admin');
        }
        chain = { round: 0n, current: ev.beacon.anchor, length: BigInt(ev.beacon.length) };
      }
      if (ev.type === 'log_key_published') {
        if (!['system', 'system_admin'].includes(role)) at('§5.1', `the log key published by role ${role}`);
        if (logKey !== null) at('§5.1', 'a second log_key_published (at most one per log)');
        let k;
        try {
          k = parseVerifierKey(ev.key, SIG_ED25519);
        } catch (err) {
          at('§5.1', err.message);
        }
        if (k.name !== logId) at('§5.1', `the log key is named ${k.name}, not the log_id ${logId}`);
        logKey = ev.key;
      }
      if (ev.type === 'witnesses_configured') {
        if (role !== 'system_admin') at('§5.3', `witnesses configured by role ${role}`);
        const q = Number(ev.quorum);
        if (q < 1 || q > ev.witnesses.length) at('§5.3', `quorum ${q} of ${ev.witnesses.length} witnesses`);
        const ws = new Map();
        for (const w of ev.witnesses) {
          if (ws.has(w.name)) at('§5.3', `witness ${w.name} named twice`);
          let k;
          try {
            k = parseVerifierKey(w.key, SIG_COSIGNATURE);
          } catch (err) {
            at('§5.3', `witness ${w.name}: ${err.message}`);
          }
          if (k.name !== w.name) at('§5.3', `witness ${w.name}'s key is named ${k.name}`);
          ws.set(w.name, k);
        }
        witnessConfigs.push({ index: p, quorum: q, witnesses: ws });
      }
      if (ev.type === 'checkpoint_witnessed') {
        if (role !== 'system') at('§5.3', `a checkpoint_witnessed by role ${role}`);
        const wc = inForceAt(witnessConfigs, p);
        if (!wc) at('§5.3', 'a checkpoint_witnessed with no witnesses in force');
        const size = BigInt(ev.size);
        if (size > BigInt(p)) at('§5.3', `size ${size} is beyond the entry's own index ${p}`);
        if (size <= BigInt(wc.index)) at('§5.3', `size ${size} does not contain the witnesses' configuration (entry ${wc.index})`);
        const body = checkpointBody(logId, size, merkleRoot(hashes.slice(0, Number(size))));
        const names = new Set();
        const times = [];
        for (const c of ev.cosignatures) {
          if (names.has(c.witness)) at('§5.3', `witness ${c.witness} cosigned twice`);
          names.add(c.witness);
          const k = wc.witnesses.get(c.witness);
          if (!k) at('§5.3', `${c.witness} is not a witness in force`);
          if (!verifyCosignature(k.publicKey, c.time, body, fromHex(c.signature))) {
            at('§5.3', `witness ${c.witness}'s cosignature at time ${c.time} does not verify on the checkpoint of size ${size}`);
          }
          times.push(BigInt(c.time));
        }
        if (times.length < wc.quorum) at('§5.3', `${times.length} cosignatures, below the quorum ${wc.quorum}`);
        times.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        witnessed.push({ index: p, size, commitTime: times[wc.quorum - 1] });
      }
      if (ev.type === 'drand_configured') {
        if (role !== 'system_admin') at('§6.3', `drand configured by role ${role}`);
        if (ev.scheme !== DRAND_SCHEME) at('§6.3', `drand scheme ${ev.scheme} is not ${DRAND_SCHEME}`);
        if (BigInt(ev.period_seconds) < 1n) at('§6.3', 'a drand period of 0 seconds');
        if (!drandPublicKeyValid(ev.public_key)) at('§6.3', 'the drand public key is not a point of the G2 subgroup');
        drandConfigs.push({ index: p, event: ev });
      }
      if (TRIGGERS.includes(ev.type)) openTrigger.set(ev.case, p);
      if (ev.type === 'beacon_delayed') {
        if (role !== 'system') at('§7.7', `a beacon_delayed by role ${role}`);
        const t = Number(ev.trigger);
        if (openTrigger.get(ev.case) !== t) at('§7.7', `case ${ev.case} has no open draw opened by entry ${ev.trigger}`);
        const dc = inForceAt(drandConfigs, t);
        if (!dc) at('§7.7', `the draw opened by entry ${t} does not wait for drand`);
        if (delayed.has(t)) at('§7.7', `a second beacon_delayed for the draw opened by entry ${t}`);
        const r = roundFor(t, dc.event);
        if (r === null) at('§7.7', `the commit time of entry ${t} is not known yet`);
        if (BigInt(ev.round) !== r) at('§7.7', `names round ${ev.round}, but the draw waits for round ${r}`);
        delayed.add(t);
      }
      if (ev.type === 'draw') {
        if (role !== 'system') at('§7.1', 'a draw whose actor is not system');
        const t = Number(ev.trigger);
        const trig = byIndex[t];
        if (!trig) at('§7.8', `the draw's trigger ${ev.trigger} is not an earlier entry`);
        if (openTrigger.get(ev.case) !== t) at('§7.8', `case ${ev.case} has no open draw opened by entry ${ev.trigger}`);
        openTrigger.delete(ev.case);
        if (isRandomMethod(ev.method)) {
          const r = ev.beacon;
          const dc = inForceAt(drandConfigs, t);
          if (dc) {
            if (!r || r.kind !== 'drand') at('§6.3', `the trigger came under drand, but the draw has no drand reveal`);
            const want = roundFor(t, dc.event);
            if (want === null) at('§6.4', `the draw comes before the commit time of entry ${t} is known`);
            if (BigInt(r.round) !== want) {
              at('§6.4', `the draw uses drand round ${r.round}, but the first round after the commit time is ${want}`);
            }
            if (!drandVerify(dc.event.public_key, r.round, r.signature)) {
              at('§6.3', `the drand signature of round ${r.round} does not verify under the chain in force at entry ${t}`);
            }
          } else {
            if (!r || r.kind !== 'hash_chain') at('§6.1', 'a random draw without a hash-chain reveal');
            if (BigInt(r.round) !== chain.round + 1n) at('§6.1', `beacon round ${r.round} after round ${chain.round}`);
            if (BigInt(r.round) > chain.length) at('§6.1', 'the beacon chain is used up');
            if (toHex(chainStep(digest(r.value))) !== chain.current) at('§6.1', 'the beacon value is not the chain\'s next value');
            chain.round = BigInt(r.round);
            chain.current = r.value;
          }
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
    logKey,
    drawResults,
  };
}
