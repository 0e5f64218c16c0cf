//! Conformance suite for `RedbBackend`, whatsapp-rust's storage traits on the gateway's
//! redb file: the semantics of wacore's reference `InMemoryBackend` (its unit tests,
//! restated here against a real file in a temp folder), plus what a shared, durable
//! store adds: instances do not see each other, a wipe takes exactly one instance's
//! keys, everything survives closing and reopening the file, and a batch commits
//! all-or-nothing in one transaction.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use redb::{ReadableDatabase, ReadableTable, TableHandle};
use wagate::store::kv::ReadableTable as _;
use wagate::store::{Store, tables};

use crate::common::postgres;
use wagate::whatsapp::real::store::{RedbBackend, paired_jid, wipe};
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::store::Device;
use whatsapp_rust::wacore::store::error::StoreError;
use whatsapp_rust::wacore::store::traits::*;

const A: &str = "01JAAAAAAAAAAAAAAAAAAAAAAA";
const B: &str = "01JBBBBBBBBBBBBBBBBBBBBBBB";

struct Env {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    /// The database's URL when the store is on PostgreSQL (`WAGATE_TEST_STORE=postgres`).
    pg: Option<String>,
    store: Store,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let pg = postgres::selected().then(|| postgres::shared().fresh_database());
        let store = open_store(&data, pg.as_deref());
        Env {
            _tmp: tmp,
            data,
            pg,
            store,
        }
    }

    fn backend(&self, instance: &str) -> RedbBackend {
        RedbBackend::new(self.store.clone(), instance)
    }

    /// Closes the database (every handle, then the writer thread) and opens it again.
    fn reopen(self) -> Env {
        let Env {
            _tmp,
            data,
            pg,
            store,
        } = self;
        drop(store);
        // The writer thread closes the redb file a moment after the last handle goes.
        let deadline = Instant::now() + Duration::from_secs(10);
        let store = loop {
            let reopened = match &pg {
                Some(url) => Store::open_postgres(url, &data),
                None => Store::open(&data),
            };
            match reopened {
                Ok(s) => break s,
                Err(e) if Instant::now() < deadline && format!("{e:#}").contains("in use") => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => panic!("reopening the store: {e:#}"),
            }
        };
        Env {
            _tmp,
            data,
            pg,
            store,
        }
    }

    /// Closes the store, then reads every WhatsApp key of each of `instances` as
    /// stored, as (table, key): from the redb file, or from PostgreSQL, behind the
    /// gateway's back.
    fn close_and_read_keys(self, instances: &[&str]) -> Vec<Vec<(String, Vec<u8>)>> {
        drop(self.store);
        instances
            .iter()
            .map(|instance| {
                let prefix = tables::instance_prefix(instance);
                match &self.pg {
                    Some(url) => raw_pg_keys(url, &prefix),
                    None => raw_redb_keys(&self.data.join("wagate.redb"), &prefix),
                }
            })
            .collect()
    }
}

fn open_store(data: &Path, pg: Option<&str>) -> Store {
    match pg {
        Some(url) => Store::open_postgres(url, data).unwrap(),
        None => Store::open(data).unwrap(),
    }
}

fn raw_pg_keys(url: &str, prefix: &[u8]) -> Vec<(String, Vec<u8>)> {
    let hex: String = prefix.iter().map(|b| format!("{b:02x}")).collect();
    let out = postgres::shared().query(
        postgres::Postgres::database_of(url),
        &format!(
            "select tbl, encode(k, 'hex') from wagate_kv \
             where tbl like 'wa\\_%' and position('\\x{hex}'::bytea in k) = 1 order by tbl, k"
        ),
    );
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (table, key) = l.split_once('|').unwrap();
            let key = (0..key.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&key[i..i + 2], 16).unwrap())
                .collect();
            (table.to_string(), key)
        })
        .collect()
}

fn raw_redb_keys(db_path: &Path, prefix: &[u8]) -> Vec<(String, Vec<u8>)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let db = loop {
        match redb::Database::open(db_path) {
            Ok(db) => break db,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("database still open: {e}"),
        }
    };
    let tx = db.begin_read().unwrap();
    let mut out = Vec::new();
    let names: Vec<String> = tx
        .list_tables()
        .unwrap()
        .map(|h| h.name().to_string())
        .filter(|n| n.starts_with("wa_"))
        .collect();
    assert_eq!(
        names.len(),
        tables::WA_TABLES.len(),
        "every wa_* table is in WA_TABLES (and so is wiped): {names:?}"
    );
    for name in names {
        let t = tx
            .open_table(redb::TableDefinition::<&[u8], &[u8]>::new(&name))
            .unwrap();
        for row in t.iter().unwrap() {
            let (k, _) = row.unwrap();
            if k.value().starts_with(prefix) {
                out.push((name.clone(), k.value().to_vec()));
            }
        }
    }
    out
}

fn commits(store: &Store) -> u64 {
    *store.commits().borrow()
}

fn arc(s: &str) -> Arc<str> {
    Arc::from(s)
}

fn is_backend<T: Backend>() {}

#[test]
fn redb_backend_is_a_whatsapp_rust_backend() {
    is_backend::<RedbBackend>();
}

// --- SignalStore -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_insert_update_and_delete() {
    let env = Env::new();
    let be = env.backend(A);
    let first = arc("15550000001:1@s.whatsapp.net");
    let second = arc("15550000002:2@s.whatsapp.net");
    assert!(be.get_session(&first).await.unwrap().is_none());
    assert!(!be.has_session(&first).await.unwrap());

    be.put_sessions_batch(&[
        (first.clone(), Bytes::from_static(b"first")),
        (second.clone(), Bytes::from_static(b"second")),
    ])
    .await
    .unwrap();
    be.put_sessions_batch(&[(first.clone(), Bytes::from_static(b"updated"))])
        .await
        .unwrap();
    assert_eq!(be.get_session(&first).await.unwrap().unwrap(), "updated");
    assert_eq!(be.get_session(&second).await.unwrap().unwrap(), "second");

    be.put_session(&second, b"single").await.unwrap();
    assert_eq!(be.get_session(&second).await.unwrap().unwrap(), "single");
    assert!(be.has_session(&second).await.unwrap());
    be.delete_session(&second).await.unwrap();
    assert!(!be.has_session(&second).await.unwrap());
    assert!(be.get_session(&second).await.unwrap().is_none());
    // Deleting what is not there is not an error.
    be.delete_session(&second).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_round_trip_and_batch() {
    let env = Env::new();
    let be = env.backend(A);
    be.put_identity("1555@s.whatsapp.net", [1; 32])
        .await
        .unwrap();
    be.put_identities_batch(&[
        (arc("1556@s.whatsapp.net"), [2; 32]),
        (arc("1555@s.whatsapp.net"), [3; 32]),
    ])
    .await
    .unwrap();
    assert_eq!(
        be.load_identity("1555@s.whatsapp.net").await.unwrap(),
        Some([3; 32])
    );
    assert_eq!(
        be.load_identity("1556@s.whatsapp.net").await.unwrap(),
        Some([2; 32])
    );
    be.delete_identity("1555@s.whatsapp.net").await.unwrap();
    assert_eq!(be.load_identity("1555@s.whatsapp.net").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_state_for_user_matches_the_user_not_a_longer_one() {
    let env = Env::new();
    let user = "5511999990000";
    let be = env.backend(A);
    assert!(!be.has_signal_state_for_user(user).await.unwrap());
    be.put_session("5511999990000@s.whatsapp.net", b"s")
        .await
        .unwrap();
    assert!(be.has_signal_state_for_user(user).await.unwrap());

    // A user that this one is a prefix of does not count.
    let other = env.backend(B);
    other
        .put_session("55119999900001@s.whatsapp.net", b"s")
        .await
        .unwrap();
    other
        .put_identity("55119999900002:3@s.whatsapp.net", [9; 32])
        .await
        .unwrap();
    assert!(!other.has_signal_state_for_user(user).await.unwrap());

    // A non-zero device (`user:dev@server`), and an identity alone, do.
    let dev = env.backend("01JCCCCCCCCCCCCCCCCCCCCCCC");
    dev.put_identity("5511999990000:5@s.whatsapp.net", [7; 32])
        .await
        .unwrap();
    assert!(dev.has_signal_state_for_user(user).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prekeys_store_load_remove_and_max_id() {
    let env = Env::new();
    let be = env.backend(A);
    assert_eq!(be.get_max_prekey_id().await.unwrap(), 0);
    be.store_prekey(5, b"five", false).await.unwrap();
    // Ids order numerically (256 > 5 although its first byte is smaller).
    be.store_prekeys_batch(
        &[
            (256, Bytes::from_static(b"two-five-six")),
            (70_000, Bytes::from_static(b"seventy-k")),
            (7, Bytes::from_static(b"seven")),
        ],
        true,
    )
    .await
    .unwrap();
    assert_eq!(be.get_max_prekey_id().await.unwrap(), 70_000);
    assert_eq!(be.load_prekey(5).await.unwrap().unwrap(), "five");
    assert!(be.load_prekey(6).await.unwrap().is_none());

    let got = be.load_prekeys_batch(&[7, 6, 256]).await.unwrap();
    assert_eq!(
        got,
        vec![
            (7, Bytes::from_static(b"seven")),
            (256, Bytes::from_static(b"two-five-six"))
        ],
        "only the keys that exist, in the order asked"
    );

    be.remove_prekey(70_000).await.unwrap();
    assert!(be.load_prekey(70_000).await.unwrap().is_none());
    assert_eq!(be.get_max_prekey_id().await.unwrap(), 256);

    // Another instance's larger ids do not leak into this one's maximum.
    env.backend(B)
        .store_prekey(u32::MAX, b"other", false)
        .await
        .unwrap();
    assert_eq!(be.get_max_prekey_id().await.unwrap(), 256);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marking_prekeys_uploaded_never_resurrects_a_consumed_key() {
    let env = Env::new();
    let be = env.backend(A);
    be.store_prekeys_batch(
        &[
            (1, Bytes::from_static(b"one")),
            (2, Bytes::from_static(b"two")),
        ],
        false,
    )
    .await
    .unwrap();
    be.remove_prekey(2).await.unwrap();
    be.mark_prekeys_uploaded(&[1, 2, 3]).await.unwrap();
    assert_eq!(be.load_prekey(1).await.unwrap().unwrap(), "one");
    assert!(be.load_prekey(2).await.unwrap().is_none());
    assert!(be.load_prekey(3).await.unwrap().is_none());
    be.mark_prekeys_uploaded(&[]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_prekeys_round_trip() {
    let env = Env::new();
    let be = env.backend(A);
    assert!(be.load_all_signed_prekeys().await.unwrap().is_empty());
    be.store_signed_prekey(2, b"two").await.unwrap();
    be.store_signed_prekey(1, b"one").await.unwrap();
    assert_eq!(be.load_signed_prekey(1).await.unwrap().unwrap(), b"one");
    let mut all = be.load_all_signed_prekeys().await.unwrap();
    all.sort();
    assert_eq!(all, vec![(1, b"one".to_vec()), (2, b"two".to_vec())]);
    be.remove_signed_prekey(1).await.unwrap();
    assert!(be.load_signed_prekey(1).await.unwrap().is_none());
    assert_eq!(be.load_all_signed_prekeys().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_keys_round_trip_and_batch() {
    let env = Env::new();
    let be = env.backend(A);
    let name = "120363000000000001@g.us:1555@s.whatsapp.net:0";
    be.put_sender_key(name, b"v1").await.unwrap();
    be.put_sender_keys_batch(&[
        (arc(name), Bytes::from_static(b"v2")),
        (arc("g2:x"), Bytes::from_static(b"other")),
    ])
    .await
    .unwrap();
    assert_eq!(be.get_sender_key(name).await.unwrap().unwrap(), b"v2");
    assert_eq!(be.get_sender_key("g2:x").await.unwrap().unwrap(), b"other");
    be.delete_sender_key(name).await.unwrap();
    assert!(be.get_sender_key(name).await.unwrap().is_none());
}

// --- AppSyncStore ------------------------------------------------------------------

fn mac(i: u8, v: u8) -> AppStateMutationMAC {
    AppStateMutationMAC {
        index_mac: vec![i; 32],
        value_mac: vec![v; 32],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_keys_and_the_latest_key_id() {
    let env = Env::new();
    let be = env.backend(A);
    assert!(be.get_latest_sync_key_id().await.unwrap().is_none());
    assert!(be.get_sync_key(b"k1").await.unwrap().is_none());
    let key = |n: u8| AppStateSyncKey {
        key_data: vec![n; 32],
        fingerprint: vec![n, n],
        timestamp: 1_700_000_000 + i64::from(n),
    };
    be.set_sync_key(b"\x00\x00\x02", key(2)).await.unwrap();
    be.set_sync_key(b"\x00\x00\x01", key(1)).await.unwrap();
    let got = be.get_sync_key(b"\x00\x00\x02").await.unwrap().unwrap();
    assert_eq!(
        (got.key_data, got.fingerprint, got.timestamp),
        (vec![2; 32], vec![2, 2], 1_700_000_002)
    );
    // The latest is the one stored last, as in the reference store.
    assert_eq!(
        be.get_latest_sync_key_id().await.unwrap().unwrap(),
        b"\x00\x00\x01"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_default_to_zero_and_round_trip() {
    let env = Env::new();
    let be = env.backend(A);
    let fresh = be.get_version("regular_high").await.unwrap();
    assert_eq!(fresh.version, 0);
    assert_eq!(fresh.hash, [0u8; 128]);

    let mut state = HashState {
        version: 42,
        hash: [7; 128],
        ..Default::default()
    };
    state
        .index_value_map
        .insert("aW5kZXg=".into(), vec![1, 2, 3]);
    be.set_version("regular_high", state).await.unwrap();
    let back = be.get_version("regular_high").await.unwrap();
    assert_eq!(back.version, 42);
    assert_eq!(back.hash, [7; 128]);
    assert_eq!(back.index_value_map.get("aW5kZXg="), Some(&vec![1, 2, 3]));
    assert_eq!(be.get_version("regular").await.unwrap().version, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutation_macs_put_get_delete() {
    let env = Env::new();
    let be = env.backend(A);
    be.put_mutation_macs("regular", 1, &[mac(1, 10), mac(2, 20), mac(3, 30)])
        .await
        .unwrap();
    assert_eq!(
        be.get_mutation_mac("regular", &[1; 32]).await.unwrap(),
        Some(vec![10; 32])
    );
    assert!(
        be.get_mutation_mac("critical", &[1; 32])
            .await
            .unwrap()
            .is_none(),
        "MACs are per collection"
    );
    let many = be
        .get_mutation_macs("regular", &[[2; 32], [9; 32], [3; 32]])
        .await
        .unwrap();
    assert_eq!(
        many,
        HashMap::from([([2; 32], vec![20; 32]), ([3; 32], vec![30; 32])])
    );
    be.delete_mutation_macs("regular", &[vec![2; 32], vec![8; 32]])
        .await
        .unwrap();
    assert!(
        be.get_mutation_mac("regular", &[2; 32])
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        be.get_mutation_mac("regular", &[3; 32])
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_mutation_macs_takes_only_the_named_collection() {
    let env = Env::new();
    let be = env.backend(A);
    be.put_mutation_macs("regular", 1, &[mac(1, 10)])
        .await
        .unwrap();
    // A collection whose name starts with the cleared one's.
    be.put_mutation_macs("regular_high", 1, &[mac(2, 20)])
        .await
        .unwrap();
    be.put_mutation_macs("critical", 1, &[mac(3, 30)])
        .await
        .unwrap();
    be.clear_mutation_macs("regular").await.unwrap();
    assert!(
        be.get_mutation_mac("regular", &[1; 32])
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        be.get_mutation_mac("regular_high", &[2; 32]).await.unwrap(),
        Some(vec![20; 32])
    );
    assert_eq!(
        be.get_mutation_mac("critical", &[3; 32]).await.unwrap(),
        Some(vec![30; 32])
    );
}

// --- ProtocolStore -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_key_device_tracking() {
    let env = Env::new();
    let be = env.backend(A);
    let (g1, g2) = ("120363000000000001@g.us", "120363000000000002@g.us");
    assert!(be.get_sender_key_devices(g1).await.unwrap().is_empty());
    be.set_sender_key_status(g1, &[("d1@lid", true), ("d2@lid", false)])
        .await
        .unwrap();
    be.set_sender_key_status(g1, &[("d2@lid", true)])
        .await
        .unwrap();
    be.set_sender_key_status(g2, &[("d1@lid", true), ("d3@lid", true)])
        .await
        .unwrap();
    let mut got = be.get_sender_key_devices(g1).await.unwrap();
    got.sort();
    assert_eq!(got, vec![("d1@lid".into(), true), ("d2@lid".into(), true)]);

    // d1 goes from every group; the others stay.
    be.delete_sender_key_device_rows(&["d1@lid"]).await.unwrap();
    assert_eq!(
        be.get_sender_key_devices(g1).await.unwrap(),
        vec![("d2@lid".into(), true)]
    );
    assert_eq!(
        be.get_sender_key_devices(g2).await.unwrap(),
        vec![("d3@lid".into(), true)]
    );

    be.clear_sender_key_devices(g1).await.unwrap();
    assert!(be.get_sender_key_devices(g1).await.unwrap().is_empty());
    assert_eq!(be.get_sender_key_devices(g2).await.unwrap().len(), 1);
    be.clear_all_sender_key_devices().await.unwrap();
    assert!(be.get_sender_key_devices(g2).await.unwrap().is_empty());
}

fn mapping(lid: &str, pn: &str, at: i64) -> LidPnMappingEntry {
    LidPnMappingEntry {
        lid: lid.into(),
        phone_number: pn.into(),
        created_at: at,
        updated_at: at,
        learning_source: "usync".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lid_mappings_by_lid_and_by_phone() {
    let env = Env::new();
    let be = env.backend(A);
    assert!(be.get_lid_mapping("100").await.unwrap().is_none());
    assert!(be.get_pn_mapping("5511").await.unwrap().is_none());
    be.put_lid_mapping(&mapping("100", "5511", 1))
        .await
        .unwrap();
    be.put_lid_mappings(&[mapping("200", "5522", 2), mapping("300", "5533", 3)])
        .await
        .unwrap();
    assert_eq!(
        be.get_lid_mapping("200")
            .await
            .unwrap()
            .unwrap()
            .phone_number,
        "5522"
    );
    assert_eq!(be.get_pn_mapping("5533").await.unwrap().unwrap().lid, "300");

    // The LID moves to another phone: the old phone no longer resolves to it.
    be.put_lid_mapping(&mapping("100", "5599", 4))
        .await
        .unwrap();
    assert!(be.get_pn_mapping("5511").await.unwrap().is_none());
    assert_eq!(be.get_pn_mapping("5599").await.unwrap().unwrap().lid, "100");

    // A phone re-learned under a newer LID resolves to the newer one.
    be.put_lid_mapping(&mapping("400", "5522", 5))
        .await
        .unwrap();
    assert_eq!(be.get_pn_mapping("5522").await.unwrap().unwrap().lid, "400");

    let mut all: Vec<String> = be
        .get_all_lid_mappings()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.lid)
        .collect();
    all.sort();
    assert_eq!(all, ["100", "200", "300", "400"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_keys_compare_and_delete() {
    let env = Env::new();
    let be = env.backend(A);
    let addr = "1555.0:1";
    assert!(!be.has_same_base_key(addr, "M1", b"k").await.unwrap());
    be.save_base_key(addr, "M1", b"k").await.unwrap();
    assert!(be.has_same_base_key(addr, "M1", b"k").await.unwrap());
    assert!(!be.has_same_base_key(addr, "M1", b"other").await.unwrap());
    assert!(!be.has_same_base_key(addr, "M2", b"k").await.unwrap());
    be.delete_base_key(addr, "M1").await.unwrap();
    assert!(!be.has_same_base_key(addr, "M1", b"k").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_lists_round_trip() {
    let env = Env::new();
    let be = env.backend(A);
    let record = |user: &str, devices: &[u32]| DeviceListRecord {
        user: user.into(),
        devices: devices
            .iter()
            .map(|d| DeviceInfo::new(*d, Some(*d)).with_hosting(*d == 99))
            .collect(),
        timestamp: 1_700_000_000,
        phash: Some("2:abc".into()),
        raw_id: Some(7),
    };
    be.update_device_list(record("1555", &[0, 1]))
        .await
        .unwrap();
    be.update_device_lists(vec![record("1556", &[0]), record("1555", &[0, 2, 99])])
        .await
        .unwrap();
    let got = be.get_devices("1555").await.unwrap().unwrap();
    assert_eq!(
        got.devices.iter().map(|d| d.device_id).collect::<Vec<_>>(),
        [0, 2, 99]
    );
    assert!(got.devices[2].is_hosted);
    assert_eq!((got.phash.as_deref(), got.raw_id), (Some("2:abc"), Some(7)));
    be.delete_devices("1555").await.unwrap();
    assert!(be.get_devices("1555").await.unwrap().is_none());
    assert!(be.get_devices("1556").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_metadata_round_trip() {
    let env = Env::new();
    let be = env.backend(A);
    let jid = "120363000000000001@g.us";
    assert!(be.get_group_metadata(jid).await.unwrap().is_none());
    be.put_group_metadata(jid, b"blob-v1").await.unwrap();
    be.put_group_metadata(jid, b"blob-v2").await.unwrap();
    assert_eq!(
        be.get_group_metadata(jid).await.unwrap().as_deref(),
        Some(&b"blob-v2"[..])
    );
    be.delete_group_metadata(jid).await.unwrap();
    assert!(be.get_group_metadata(jid).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tc_tokens_put_list_delete() {
    let env = Env::new();
    let be = env.backend(A);
    let entry = TcTokenEntry {
        token: vec![1, 2],
        token_timestamp: 10,
        sender_timestamp: Some(11),
    };
    be.put_tc_token("a@lid", &entry).await.unwrap();
    be.put_tc_token("b@lid", &entry).await.unwrap();
    let got = be.get_tc_token("a@lid").await.unwrap().unwrap();
    assert_eq!(
        (got.token, got.token_timestamp, got.sender_timestamp),
        (vec![1, 2], 10, Some(11))
    );
    let mut jids = be.get_all_tc_token_jids().await.unwrap();
    jids.sort();
    assert_eq!(jids, ["a@lid", "b@lid"]);
    be.delete_tc_token("a@lid").await.unwrap();
    assert!(be.get_tc_token("a@lid").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn touching_the_sender_time_keeps_a_real_token_and_only_advances() {
    let env = Env::new();
    let be = env.backend(A);
    be.touch_tc_token_sender_timestamp("u1", 1000)
        .await
        .unwrap();
    let placeholder = be.get_tc_token("u1").await.unwrap().unwrap();
    assert!(placeholder.token.is_empty());
    assert_eq!(placeholder.sender_timestamp, Some(1000));

    let real = TcTokenEntry {
        token: vec![7, 8, 9],
        token_timestamp: 2000,
        sender_timestamp: None,
    };
    be.put_tc_token("u1", &real).await.unwrap();
    be.touch_tc_token_sender_timestamp("u1", 3000)
        .await
        .unwrap();
    be.touch_tc_token_sender_timestamp("u1", 2500)
        .await
        .unwrap();
    let merged = be.get_tc_token("u1").await.unwrap().unwrap();
    assert_eq!(merged.token, vec![7, 8, 9], "touch keeps the real token");
    assert_eq!(merged.token_timestamp, 2000);
    assert_eq!(merged.sender_timestamp, Some(3000), "never moves back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_received_token_is_newer_wins_and_keeps_the_sender_time() {
    let env = Env::new();
    let be = env.backend(A);
    be.touch_tc_token_sender_timestamp("p", 9000).await.unwrap();
    // A placeholder never blocks the first real token, even an older one.
    be.store_received_tc_token("p", &[4, 4], 6000)
        .await
        .unwrap();
    let e = be.get_tc_token("p").await.unwrap().unwrap();
    assert_eq!(
        (e.token, e.token_timestamp, e.sender_timestamp),
        (vec![4, 4], 6000, Some(9000))
    );
    // An older real token does not replace a newer one; a newer one does.
    be.store_received_tc_token("p", &[5, 5], 5000)
        .await
        .unwrap();
    assert_eq!(be.get_tc_token("p").await.unwrap().unwrap().token, [4, 4]);
    be.store_received_tc_token("p", &[6, 6], 7000)
        .await
        .unwrap();
    let e = be.get_tc_token("p").await.unwrap().unwrap();
    assert_eq!(
        (e.token, e.token_timestamp, e.sender_timestamp),
        (vec![6, 6], 7000, Some(9000))
    );
    // No row before: no sender time.
    be.store_received_tc_token("fresh", &[1], 4000)
        .await
        .unwrap();
    assert_eq!(
        be.get_tc_token("fresh")
            .await
            .unwrap()
            .unwrap()
            .sender_timestamp,
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_tc_tokens_keeps_rows_with_any_live_window() {
    let env = Env::new();
    let be = env.backend(A);
    let put = |token: Vec<u8>, ts: i64, sender: Option<i64>| TcTokenEntry {
        token,
        token_timestamp: ts,
        sender_timestamp: sender,
    };
    be.touch_tc_token_sender_timestamp("recent_placeholder", 2500)
        .await
        .unwrap();
    be.touch_tc_token_sender_timestamp("stale_placeholder", 100)
        .await
        .unwrap();
    be.put_tc_token("expired_token_live_sender", &put(vec![1], 1, Some(2500)))
        .await
        .unwrap();
    be.put_tc_token("orphan_expired", &put(vec![2], 1, None))
        .await
        .unwrap();
    be.put_tc_token("fresh_token", &put(vec![3], 5000, None))
        .await
        .unwrap();
    // Another instance's stale row is not this instance's to prune.
    env.backend(B)
        .put_tc_token("orphan_expired", &put(vec![2], 1, None))
        .await
        .unwrap();

    assert_eq!(be.delete_expired_tc_tokens(1000, 2000).await.unwrap(), 2);
    let mut left = be.get_all_tc_token_jids().await.unwrap();
    left.sort();
    assert_eq!(
        left,
        [
            "expired_token_live_sender",
            "fresh_token",
            "recent_placeholder"
        ]
    );
    assert!(
        env.backend(B)
            .get_tc_token("orphan_expired")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_messages_are_taken_once_and_expire() {
    let env = Env::new();
    let be = env.backend(A);
    be.store_sent_message("chat@g.us", "M1", b"payload-1")
        .await
        .unwrap();
    be.store_sent_message("chat@g.us", "M2", b"payload-2")
        .await
        .unwrap();
    assert_eq!(
        be.take_sent_message("chat@g.us", "M1").await.unwrap(),
        Some(b"payload-1".to_vec())
    );
    assert_eq!(
        be.take_sent_message("chat@g.us", "M1").await.unwrap(),
        None,
        "a second retry receipt finds nothing"
    );
    assert_eq!(
        be.take_sent_message("other@g.us", "M2").await.unwrap(),
        None
    );

    let now = unix_now();
    assert_eq!(
        be.delete_expired_sent_messages(now - 3600).await.unwrap(),
        0,
        "a message stored just now is not older than an hour ago"
    );
    assert_eq!(be.delete_expired_sent_messages(now + 60).await.unwrap(), 1);
    assert_eq!(be.take_sent_message("chat@g.us", "M2").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_inbound_buffer() {
    let env = Env::new();
    let be = env.backend(A);
    be.store_pending_inbound("chat", "s1", "ID", b"one")
        .await
        .unwrap();
    // Ids are unique only within (chat, sender).
    be.store_pending_inbound_batch(&[
        PendingInboundRow {
            chat: "chat",
            sender: "s2",
            id: "ID",
            message: b"two",
        },
        PendingInboundRow {
            chat: "chat",
            sender: "s2",
            id: "ID2",
            message: b"three",
        },
    ])
    .await
    .unwrap();
    assert_eq!(
        be.get_pending_inbound("chat", "s1", "ID").await.unwrap(),
        Some(b"one".to_vec())
    );
    assert_eq!(
        be.get_pending_inbound("chat", "s2", "ID").await.unwrap(),
        Some(b"two".to_vec())
    );
    be.delete_pending_inbound("chat", "s1", "ID").await.unwrap();
    assert!(
        be.get_pending_inbound("chat", "s1", "ID")
            .await
            .unwrap()
            .is_none()
    );
    be.delete_pending_inbound_batch(&[PendingInboundKey {
        chat: "chat",
        sender: "s2",
        id: "ID",
    }])
    .await
    .unwrap();
    assert!(
        be.get_pending_inbound("chat", "s2", "ID")
            .await
            .unwrap()
            .is_none()
    );
    let now = unix_now();
    assert_eq!(
        be.delete_expired_pending_inbound(now - 60).await.unwrap(),
        0
    );
    assert_eq!(
        be.delete_expired_pending_inbound(now + 60).await.unwrap(),
        1
    );
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// --- MsgSecretStore ----------------------------------------------------------------

fn secret(chat: &str, sender: &str, id: &str, n: u8, expires_at: i64, ts: i64) -> MsgSecretEntry {
    MsgSecretEntry {
        chat: chat.into(),
        sender: sender.into(),
        msg_id: id.into(),
        secret: [n; 32],
        expires_at,
        message_ts: ts,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msg_secrets_are_keyed_by_chat_sender_and_id() {
    let env = Env::new();
    let be = env.backend(A);
    assert!(
        be.get_msg_secret("chatA", "senderX", "M1")
            .await
            .unwrap()
            .is_none()
    );
    be.put_msg_secret("chatA", "senderX", "M1", &[1; 32])
        .await
        .unwrap();
    be.put_msg_secret("chatA", "senderX", "M2", &[2; 32])
        .await
        .unwrap();
    be.put_msg_secret("chatA", "senderY", "M1", &[3; 32])
        .await
        .unwrap();
    be.put_msg_secret("chatB", "senderX", "M1", &[4; 32])
        .await
        .unwrap();
    for (chat, sender, id, n) in [
        ("chatA", "senderX", "M1", 1),
        ("chatA", "senderX", "M2", 2),
        ("chatA", "senderY", "M1", 3),
        ("chatB", "senderX", "M1", 4),
    ] {
        assert_eq!(
            be.get_msg_secret(chat, sender, id).await.unwrap(),
            Some(vec![n; 32]),
            "{chat}/{sender}/{id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msg_secret_batch_overwrites_and_merges_deadlines() {
    let env = Env::new();
    let be = env.backend(A);
    let stored = be
        .put_msg_secrets(vec![
            secret("c", "s", "M1", 1, 500, 0),
            secret("c", "s", "M2", 2, 0, 0),
            secret("c", "s", "M1", 9, 300, 0),
        ])
        .await
        .unwrap();
    assert_eq!(stored, 3);
    assert_eq!(
        be.get_msg_secret("c", "s", "M1").await.unwrap(),
        Some(vec![9; 32]),
        "the last write's secret wins"
    );
    // M1: deadline merged to the later one (500), so a cutoff of 400 keeps it.
    // Parent time: a known time is not clobbered by 0, a later one wins.
    be.put_msg_secrets(vec![secret("c", "s", "M3", 3, 100, 1_700)])
        .await
        .unwrap();
    be.put_msg_secrets(vec![secret("c", "s", "M3", 3, 0, 0)])
        .await
        .unwrap();
    assert_eq!(
        be.get_msg_secret_with_ts("c", "s", "M3").await.unwrap(),
        Some((vec![3; 32], 1_700))
    );
    be.put_msg_secrets(vec![secret("c", "s", "M3", 3, 0, 1_800)])
        .await
        .unwrap();
    assert_eq!(
        be.get_msg_secret_with_ts("c", "s", "M3")
            .await
            .unwrap()
            .unwrap()
            .1,
        1_800
    );
    // M3's deadline became 0 ("never") on the second put.
    assert_eq!(be.delete_expired_msg_secrets(400).await.unwrap(), 0);
    assert_eq!(be.delete_expired_msg_secrets(500).await.unwrap(), 1);
    assert!(be.get_msg_secret("c", "s", "M1").await.unwrap().is_none());
    assert!(be.get_msg_secret("c", "s", "M2").await.unwrap().is_some());
    assert!(be.get_msg_secret("c", "s", "M3").await.unwrap().is_some());
    assert_eq!(be.put_msg_secrets(Vec::new()).await.unwrap(), 0);
}

// --- DeviceStore -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_stores_a_device_with_keys_that_stay() {
    let env = Env::new();
    let be = env.backend(A);
    assert!(!be.exists().await.unwrap());
    assert!(be.load().await.unwrap().is_none());
    be.create().await.unwrap();
    assert!(be.exists().await.unwrap());
    let first = be.load().await.unwrap().unwrap();
    // A second create (a restart before pairing) keeps the keys already stored.
    be.create().await.unwrap();
    let again = be.load().await.unwrap().unwrap();
    assert_eq!(
        again.identity_key.public_key.serialize(),
        first.identity_key.public_key.serialize()
    );
    assert_eq!(again.registration_id, first.registration_id);
    assert_eq!(paired_jid(&env.store, A).await.unwrap(), None, "not paired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_device_loads_back_whole() {
    let env = Env::new();
    let be = env.backend(A);
    let mut device = Device::new();
    device.pn = Some("15550001111:7@s.whatsapp.net".parse().unwrap());
    device.lid = Some("100000012345678:7@lid".parse().unwrap());
    device.push_name = "Gateway".into();
    device.next_pre_key_id = 812;
    device.nct_salt = Some(vec![5; 16]);
    be.save(&device).await.unwrap();

    let back = be.load().await.unwrap().unwrap();
    assert_eq!(back.pn, device.pn);
    assert_eq!(back.lid, device.lid);
    assert_eq!(back.push_name, "Gateway");
    assert_eq!(back.registration_id, device.registration_id);
    assert_eq!(back.next_pre_key_id, 812);
    assert_eq!(back.nct_salt, Some(vec![5; 16]));
    assert_eq!(back.adv_secret_key, device.adv_secret_key);
    assert_eq!(
        back.signed_pre_key_signature,
        device.signed_pre_key_signature
    );
    for (got, want) in [
        (&back.identity_key, &device.identity_key),
        (&back.noise_key, &device.noise_key),
        (&back.signed_pre_key, &device.signed_pre_key),
    ] {
        assert_eq!(got.public_key.serialize(), want.public_key.serialize());
        assert_eq!(got.private_key.serialize(), want.private_key.serialize());
    }
    assert_eq!(
        paired_jid(&env.store, A).await.unwrap().as_deref(),
        Some("15550001111:7@s.whatsapp.net")
    );
}

/// The glue the adapter relies on: whatsapp-rust's own persistence manager creates
/// its device in the redb file and finds the same keys after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_persistence_manager_keeps_its_device_across_a_restart() {
    use whatsapp_rust::store::persistence_manager::PersistenceManager;
    let env = Env::new();
    let backend: Arc<dyn Backend> = Arc::new(env.backend(A));
    let pm = PersistenceManager::new(backend).await.unwrap();
    let identity = pm.get_device_snapshot().identity_key.public_key.serialize();
    pm.modify_device(|d| d.push_name = "Gateway".into()).await;
    pm.flush().await.unwrap();
    drop(pm);

    let env = env.reopen();
    let backend: Arc<dyn Backend> = Arc::new(env.backend(A));
    let pm = PersistenceManager::new(backend).await.unwrap();
    let device = pm.get_device_snapshot();
    assert_eq!(device.identity_key.public_key.serialize(), identity);
    assert_eq!(device.push_name, "Gateway");
}

// --- What a shared, durable store adds ---------------------------------------------

/// One of each kind of row, so isolation and wipe tests cover every table.
async fn fill(be: &RedbBackend, n: u8) {
    let mut device = Device::new();
    device.pn = Some(format!("155500{n:05}@s.whatsapp.net").parse().unwrap());
    be.save(&device).await.unwrap();
    be.put_identity("peer@s.whatsapp.net", [n; 32])
        .await
        .unwrap();
    be.put_session("peer@s.whatsapp.net", &[n]).await.unwrap();
    be.store_prekey(1, &[n], false).await.unwrap();
    be.store_signed_prekey(1, &[n]).await.unwrap();
    be.put_sender_key("g:peer", &[n]).await.unwrap();
    be.set_sync_key(b"key", AppStateSyncKey::default())
        .await
        .unwrap();
    be.set_version(
        "regular",
        HashState {
            version: u64::from(n),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    be.put_mutation_macs("regular", 1, &[mac(1, n)])
        .await
        .unwrap();
    be.set_sender_key_status("g@g.us", &[("peer@lid", true)])
        .await
        .unwrap();
    be.put_lid_mapping(&mapping("100", "5511", i64::from(n)))
        .await
        .unwrap();
    be.save_base_key("peer", "M", &[n]).await.unwrap();
    be.update_device_list(DeviceListRecord {
        user: "peer".into(),
        devices: vec![DeviceInfo::new(u32::from(n), None)],
        timestamp: 0,
        phash: None,
        raw_id: None,
    })
    .await
    .unwrap();
    be.put_group_metadata("g@g.us", &[n]).await.unwrap();
    be.touch_tc_token_sender_timestamp("peer@lid", i64::from(n))
        .await
        .unwrap();
    be.store_sent_message("peer@s.whatsapp.net", "M", &[n])
        .await
        .unwrap();
    be.store_pending_inbound("peer", "peer", "M", &[n])
        .await
        .unwrap();
    be.put_msg_secret("peer", "peer", "M", &[n; 32])
        .await
        .unwrap();
}

/// Reads back what [`fill`] wrote with `n`.
async fn assert_filled(be: &RedbBackend, n: u8) {
    let who = be.instance_id().to_string();
    let device = be.load().await.unwrap().expect("device");
    assert_eq!(
        device.pn.unwrap().to_string(),
        format!("155500{n:05}@s.whatsapp.net"),
        "{who}"
    );
    assert_eq!(
        be.load_identity("peer@s.whatsapp.net").await.unwrap(),
        Some([n; 32])
    );
    assert_eq!(
        be.get_session("peer@s.whatsapp.net")
            .await
            .unwrap()
            .unwrap()
            .as_ref(),
        [n]
    );
    assert_eq!(be.load_prekey(1).await.unwrap().unwrap().as_ref(), [n]);
    assert_eq!(be.load_signed_prekey(1).await.unwrap().unwrap(), [n]);
    assert_eq!(be.get_sender_key("g:peer").await.unwrap().unwrap(), [n]);
    assert!(be.get_sync_key(b"key").await.unwrap().is_some());
    assert_eq!(
        be.get_latest_sync_key_id().await.unwrap().as_deref(),
        Some(&b"key"[..])
    );
    assert_eq!(
        be.get_version("regular").await.unwrap().version,
        u64::from(n)
    );
    assert_eq!(
        be.get_mutation_mac("regular", &[1; 32]).await.unwrap(),
        Some(vec![n; 32])
    );
    assert_eq!(be.get_sender_key_devices("g@g.us").await.unwrap().len(), 1);
    assert_eq!(
        be.get_pn_mapping("5511").await.unwrap().unwrap().created_at,
        i64::from(n)
    );
    assert!(be.has_same_base_key("peer", "M", &[n]).await.unwrap());
    assert_eq!(
        be.get_devices("peer").await.unwrap().unwrap().devices[0].device_id,
        u32::from(n)
    );
    assert_eq!(be.get_group_metadata("g@g.us").await.unwrap().unwrap(), [n]);
    assert_eq!(
        be.get_tc_token("peer@lid")
            .await
            .unwrap()
            .unwrap()
            .sender_timestamp,
        Some(i64::from(n))
    );
    assert_eq!(
        be.get_pending_inbound("peer", "peer", "M").await.unwrap(),
        Some(vec![n])
    );
    assert_eq!(
        be.get_msg_secret("peer", "peer", "M").await.unwrap(),
        Some(vec![n; 32])
    );
    // Last: taking consumes it.
    assert_eq!(
        be.take_sent_message("peer@s.whatsapp.net", "M")
            .await
            .unwrap(),
        Some(vec![n])
    );
}

/// Nothing of the instance is readable through the backend.
async fn assert_empty(be: &RedbBackend) {
    assert!(!be.exists().await.unwrap());
    assert!(
        be.load_identity("peer@s.whatsapp.net")
            .await
            .unwrap()
            .is_none()
    );
    assert!(!be.has_session("peer@s.whatsapp.net").await.unwrap());
    assert_eq!(be.get_max_prekey_id().await.unwrap(), 0);
    assert!(be.load_all_signed_prekeys().await.unwrap().is_empty());
    assert!(be.get_sender_key("g:peer").await.unwrap().is_none());
    assert!(be.get_latest_sync_key_id().await.unwrap().is_none());
    assert_eq!(be.get_version("regular").await.unwrap().version, 0);
    assert!(be.get_all_lid_mappings().await.unwrap().is_empty());
    assert!(be.get_all_tc_token_jids().await.unwrap().is_empty());
    assert!(
        be.get_msg_secret("peer", "peer", "M")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_in_one_file_do_not_see_each_other() {
    let env = Env::new();
    let (a, b) = (env.backend(A), env.backend(B));
    fill(&a, 1).await;
    assert_empty(&b).await;
    fill(&b, 2).await;
    assert_filled(&a, 1).await;
    assert_filled(&b, 2).await;
    // An instance id that is a prefix of another's is still its own namespace.
    let short = env.backend(&A[..10]);
    assert_empty(&short).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wipe_removes_exactly_one_instances_keys() {
    let tmp_env = Env::new();
    let (a, b) = (tmp_env.backend(A), tmp_env.backend(B));
    fill(&a, 1).await;
    fill(&b, 2).await;
    let before = commits(&tmp_env.store);
    wipe(&tmp_env.store, A).await.unwrap();
    assert_eq!(commits(&tmp_env.store), before + 1, "one transaction");
    assert_empty(&a).await;
    assert_eq!(paired_jid(&tmp_env.store, A).await.unwrap(), None);
    assert_filled(&b, 2).await;
    // Wiping again, or an instance that never had keys, is fine.
    wipe(&tmp_env.store, A).await.unwrap();
    wipe(&tmp_env.store, "01JNEVERSEEN").await.unwrap();

    drop((a, b));
    let [keys_a, keys_b] = <[_; 2]>::try_from(tmp_env.close_and_read_keys(&[A, B])).unwrap();
    assert_eq!(keys_a, Vec::new(), "no key of A is left");
    let b_tables: std::collections::BTreeSet<String> = keys_b.into_iter().map(|(t, _)| t).collect();
    // B still has a row in every table but the sent messages (taken by assert_filled).
    assert_eq!(b_tables.len(), tables::WA_TABLES.len() - 1, "{b_tables:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_survives_closing_and_reopening_the_file() {
    let env = Env::new();
    fill(&env.backend(A), 3).await;
    let env = env.reopen();
    assert_filled(&env.backend(A), 3).await;
    assert_empty(&env.backend(B)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_one_commit_and_all_or_nothing() {
    let env = Env::new();
    let be = env.backend(A);

    // One commit for 100 pre-keys (and for 100 sessions).
    let keys: Vec<(u32, Bytes)> = (1..=100)
        .map(|i| (i, Bytes::from(vec![i as u8; 64])))
        .collect();
    let before = commits(&env.store);
    be.store_prekeys_batch(&keys, false).await.unwrap();
    assert_eq!(commits(&env.store), before + 1);
    let sessions: Vec<(Arc<str>, Bytes)> = (0..100)
        .map(|i| {
            (
                arc(&format!("1555{i:04}@s.whatsapp.net")),
                Bytes::from(vec![1; 200]),
            )
        })
        .collect();
    let before = commits(&env.store);
    be.put_sessions_batch(&sessions).await.unwrap();
    assert_eq!(commits(&env.store), before + 1);

    // A batch with one bad entry stores none of it.
    let err = be
        .set_sender_key_status("bad\0group", &[("d1@lid", true), ("d2@lid", true)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Validation(_)), "{err:?}");
    let err = be
        .put_msg_secrets(vec![
            secret("c", "s", "OK", 1, 0, 0),
            secret("c\0x", "s", "BAD", 2, 0, 0),
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Validation(_)), "{err:?}");
    assert!(
        be.get_msg_secret("c", "s", "OK").await.unwrap().is_none(),
        "the good half of a refused batch is not stored"
    );

    // A concurrent reader sees a batch entirely or not at all.
    let store = env.store.clone();
    let prefix = tables::wa_key(A, &[b"peer-"]).unwrap();
    let reader = tokio::task::spawn_blocking(move || {
        let mut seen = std::collections::BTreeSet::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let n = store
                .read(|tx| {
                    let t = tx.open_table(tables::WA_SESSIONS).unwrap();
                    let end = tables::prefix_end(&prefix);
                    Ok::<_, wagate::store::StoreError>(
                        t.range::<&[u8]>(prefix.as_slice()..end.as_slice())
                            .unwrap()
                            .count(),
                    )
                })
                .unwrap();
            seen.insert(n);
            if n == 500 {
                break;
            }
        }
        seen
    });
    let big: Vec<(Arc<str>, Bytes)> = (0..500)
        .map(|i| {
            (
                arc(&format!("peer-{i:04}@s.whatsapp.net")),
                Bytes::from(vec![2; 300]),
            )
        })
        .collect();
    be.put_sessions_batch(&big).await.unwrap();
    let seen = reader.await.unwrap();
    assert!(
        seen.iter().all(|n| *n == 0 || *n == 500),
        "partial batch visible: {seen:?}"
    );
    assert!(seen.contains(&500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_keys_and_ids_are_errors_not_panics() {
    let env = Env::new();
    let be = env.backend(A);
    // A NUL byte is refused where it could pose as a separator...
    assert!(matches!(
        be.get_sender_key_devices("g\0x").await,
        Err(StoreError::Validation(_))
    ));
    assert!(matches!(
        be.clear_mutation_macs("regular\0").await,
        Err(StoreError::Validation(_))
    ));
    // ...and allowed as the last part, where it cannot.
    be.put_session("odd\0address", b"s").await.unwrap();
    assert!(be.has_session("odd\0address").await.unwrap());
    assert!(!be.has_session("odd").await.unwrap());

    // An instance id with a NUL byte could reach into another instance's keys.
    let evil = env.backend(&format!("{A}\0g@g.us"));
    assert!(matches!(
        evil.exists().await,
        Err(StoreError::Validation(_))
    ));
    assert!(wipe(&env.store, &format!("{A}\0g@g.us")).await.is_err());
    assert!(wipe(&env.store, "").await.is_err());
}

/// Figures for BENCHMARKS-style notes; run with
/// `cargo test --test suite whatsapp_store:: -- --ignored --nocapture bench_`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn bench_prekey_and_session_writes() {
    let env = Env::new();
    let be = env.backend(A);
    let rounds = 50u32;

    let start = Instant::now();
    for r in 0..rounds {
        let keys: Vec<(u32, Bytes)> = (0..100)
            .map(|i| (r * 100 + i, Bytes::from(vec![1u8; 70])))
            .collect();
        be.store_prekeys_batch(&keys, false).await.unwrap();
    }
    let batch = start.elapsed();

    let start = Instant::now();
    for i in 0..200 {
        be.put_session(&format!("peer{i}@s.whatsapp.net"), &[3u8; 1200])
            .await
            .unwrap();
    }
    let single = start.elapsed();

    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..16 {
        let be = be.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                be.put_session(&format!("w{w}-{i}@s.whatsapp.net"), &[3u8; 1200])
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let concurrent = start.elapsed();

    println!(
        "prekey batches of 100: {:.2} ms/batch, {:.0} keys/s",
        batch.as_secs_f64() * 1000.0 / f64::from(rounds),
        f64::from(rounds * 100) / batch.as_secs_f64()
    );
    println!(
        "put_session one at a time: {:.2} ms/op, {:.0} ops/s",
        single.as_secs_f64() * 1000.0 / 200.0,
        200.0 / single.as_secs_f64()
    );
    println!(
        "put_session from 16 tasks (group commit): {:.0} ops/s",
        400.0 / concurrent.as_secs_f64()
    );
}
