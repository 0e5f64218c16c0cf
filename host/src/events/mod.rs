//! Events leaving the gateway. Core writes them to its outbox
//! ([`crate::core::outbox`]) in the same transaction as the change they describe and
//! fans them out to each webhook's delivery queue there; this module only reads them:
//! the [`dispatcher`] delivers the queues to sinks, [`live`] feeds the streams.
//! Dependencies point one way: events -> core, never back.

pub mod brokers;
pub mod dispatcher;
pub mod live;
pub mod transport;
