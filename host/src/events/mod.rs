//! Events: written to the outbox in the same transaction as the change they describe,
//! fanned out to each webhook's delivery queue in that transaction, and delivered by
//! the [`dispatcher`].

pub mod dispatcher;
pub mod live;
pub mod outbox;
pub mod transport;
