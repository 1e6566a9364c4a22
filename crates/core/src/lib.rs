//! yibao-core: the pure core of the yibao medical-insurance system.
//!
//! Policy, reference data, claims and the settlement engine as plain data and pure functions:
//! no I/O, no clock, no database, no async. Adapters (files, storage, gateway) call in here;
//! they never decide a benefit themselves.

pub mod account;
pub mod audit;
pub mod books;
pub mod checks;
pub mod claim;
pub mod contribution;
pub mod date;
pub mod employer;
pub mod engine;
pub mod enrolment;
pub mod explain;
pub mod funds;
pub mod ledger;
pub mod money;
pub mod payment;
pub mod policy;
pub mod refdata;
pub mod visit;

pub use claim::{validate, Claim, ClaimDraft, LineDraft, LinesDraft, RejectCode, Rejection, Val};
pub use date::{Date, DateRange};
pub use engine::{compute, split_line, Amounts, LineSplit, Settlement, YearAccumulators};
pub use ledger::{preview, reverse, settle, LedgerStore, MemLedger, SettleError, SettledEntry};
pub use money::{format_fen, Fen, Ratio};
pub use policy::{Policy, PolicyError, PolicySet};
pub use refdata::RefData;
