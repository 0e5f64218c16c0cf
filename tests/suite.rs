//! The end-to-end and integration tests, as one test binary: each file beside this one
//! is a module (`cargo test --test suite ryze::` runs one file's tests). One binary
//! instead of one per file because each links the whole host (wasmtime, whatsapp-rust)
//! again: measured cold, the 21 separate binaries cost 45 s user + 10 s sys of
//! compile and link against 15 s + 1 s for this one (see BENCHMARKS.md), and libtest
//! keeps both threads busy across files instead of waiting on each file's slowest test.

mod common;

mod account_settings;
mod auth_reuse;
mod brokers;
mod brokers_kafka;
mod brokers_sqs;
mod call_ends;
mod chatwoot;
mod cluster;
mod console;

mod content;
mod core_api;
mod core_store;
mod cors;
mod edits;
mod events;
mod events_dialects;
mod evolution;
mod evolution_contacts;
mod evolution_groups;
mod evolution_socketio;
mod evolution_surface;
mod faults;
mod group_events;
mod history;
mod integrations;
mod labels;
mod lid_mapping;
mod media;
mod media_s3;
mod net_hardening;
mod openapi;
mod paging;
mod plugin_example;
mod plugin_runtime;
mod polls;
mod presence;
mod profile;
mod proxy;
mod reactions;
mod receipts;
mod ryze;
mod ryze_groups;
mod ryze_webhooks;
mod sessions_v1;
mod sessions_v1_groups;
mod sessions_v1_webhooks;
mod settings;
mod startup;
mod status;
mod store_postgres;
mod streams;
mod whatsapp_fake_contacts;
mod whatsapp_fake_rich;
mod whatsapp_fake_server;
mod whatsapp_gateway_fake;
mod whatsapp_link;
mod whatsapp_store;
