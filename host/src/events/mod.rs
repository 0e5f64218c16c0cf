//! Events: written to the outbox in the same transaction as the change they describe.
//! The dispatcher that delivers them to sinks is not built yet (issue 7).

pub mod outbox;
