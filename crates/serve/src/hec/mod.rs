//! The HTTP Event Collector protocol: replies, tokens, body parsing, acknowledgement and the
//! endpoints.

pub mod ack;
pub mod auth;
pub mod parse;
pub mod reply;
pub(crate) mod routes;
