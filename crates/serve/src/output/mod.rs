//! Outputs: every window's rows, risk events and notables go first to the on-disk spool (the
//! commit point of a window), then to the JSON-lines files and the HEC forwarder.
//!
//! Key design decision: one durable write decides that a window has run, the spool record.
//! Files and the forwarder each keep a cursor into the spool, so after a crash each resumes
//! where it stopped: a file is cut back to the length its cursor recorded and the missing
//! records are written again (exactly once), the forwarder resends from its cursor (every
//! forwarded event carries a stable `cimhunt_id`, so a receiver can drop the rare duplicate
//! of a request that succeeded just before a crash).

mod files;
mod forward;
mod spool;

pub use files::{FileOutput, OutputError, OutputKind};
pub use forward::{ForwardKind, ForwardQueue, Forwarder, envelope};
pub use spool::{Spool, SpoolRecord};
