//! # klero-core: the verifiable heart of Kleroterion
//!
//! Kleroterion assigns each court case to a judge by a random draw that anyone can re-check. This
//! crate is everything that decides or checks an outcome, and nothing else: no I/O, no clock, no
//! operating-system randomness. The server (`klero-store`, `klero-portal`) calls it to write the log;
//! an observer calls it, alone, to verify one.
//!
//! ## The model
//!
//! - **The log** ([`LogEntry`], [`Event`]) is the source of truth: an ordered list of typed events,
//!   each encoded canonically ([`encode`]), chained by SHA-256 to its predecessor, and a leaf of an
//!   RFC 9162 Merkle tree ([`merkle`]).
//! - **State** ([`State`]) is a fold over the events. [`State::apply`] is the only way state changes,
//!   for the live writer and the verifier alike, so the state an observer replays is the state the
//!   server had.
//! - **A draw** ([`Draw`]) is opened by a trigger entry (a filing, a recusal, a reassignment): applying
//!   it fixes the eligible pool, the exclusions with their reasons, the loads and the integer
//!   weights. The draw entry that follows adds a beacon value ([`beacon`]) that did not exist when
//!   the trigger was committed, derives the seed from the trigger's hash and that value, and samples
//!   with ChaCha20's raw words ([`draw`]). Replaying recomputes every one of those numbers.
//! - **Verification** ([`verify()`], [`Verifier`]) replays from genesis and names the first entry
//!   that fails, in words a court official can act on.
//! - **The audit** ([`audit`]) replays the same way and looks for the traces steering leaves in a
//!   log that verifies: miscalibrated judges, changes recorded just before the draws they changed,
//!   withdraw-and-refile and reassign-until-it-fits chains, fallbacks by actor.
//!
//! ## Trade-offs written down
//!
//! - The encoding is hand-specified (big-endian integers, length-prefixed strings, fixed field order)
//!   rather than a serialization library's format, because a verifier in another language must
//!   reproduce it byte for byte from `docs/SPEC.md` alone, and library formats change between
//!   versions. JSON is only the export's envelope: the verifier re-encodes every parsed entry, so a
//!   JSON detail (spacing, key order) cannot change a hash.
//! - A draw's plan is computed when its trigger is applied, not when the draw entry arrives, so the
//!   pool and weights are fixed by the committed trigger before any randomness is revealed. With the
//!   hash chain the draw entry directly follows its trigger; with drand ([`drand`]) it waits for the
//!   first round after the trigger's commit time, and other entries come in between.
//! - Weights put as much probability on the least loaded as the bounds allow (water-filling). The
//!   bounds are relative to each judge's balanced rate (the share of that kind of case that keeps
//!   everyone level given the division's case mix and specializations, found by integer matrix
//!   scaling), not to an equal head share, which a generalist beside specialists must exceed to
//!   stay level. The upper bound (the effective cap times the rate) limits the advantage of timing
//!   a filing; the floor (a quarter of the rate) keeps every eligible judge drawable; the ceiling
//!   `2 / |E|` holds each draw's min-entropy within one bit of a uniform draw's. `balance_permille`
//!   moves the effective cap from 1 (a lottery by balanced rate) to `cap_num / cap_den`.
#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

#[macro_use]
mod tag_first;
pub mod audit;
pub mod beacon;
mod case_index;
pub mod checkpoint;
pub mod conformance;
pub mod day;
pub mod drand;
pub mod draw;
pub mod encode;
pub mod event;
mod fast_line;
pub mod hash;
pub mod ids;
pub mod merkle;
pub mod policy;
pub mod resident;
pub mod sample;
pub mod state;
pub mod tiled;
pub mod tiles;
mod verify;
pub mod witness;

pub use beacon::{BeaconReveal, BeaconSource, ChainAnchor, HashChain};
pub use day::{Day, Millis};
pub use drand::{DevChain, DrandChain, DrandPublicKey, DrandSignature};
pub use event::*;
pub use ids::*;
pub use policy::{CaseType, Fallback, Policy};
pub use state::{PendingDrand, RejectKind, Rejection, State};
pub use verify::{Failure, Log, Report, Verifier, verify};
