//! Core operations on a real redb file through the library: the big instance delete,
//! concurrent deletes, and what stays on disk.

use std::sync::Arc;

use redb::{
    MultimapTableHandle, ReadableDatabase, ReadableMultimapTable, ReadableTable,
    ReadableTableMetadata, TableHandle,
};
use wagate::config::{Config, LinkKind};
use wagate::core::Core;
use wagate::core::model::{CoreError, InstanceRef, Principal};
use wagate::whatsapp::Inbound;
use wagate::whatsapp::real::store::RedbBackend;
use whatsapp_rust::wacore::store::traits::SignalStore;

use crate::common::postgres;

/// Where a test's core keeps its state: a data folder, and with
/// `WAGATE_TEST_STORE=postgres` a fresh PostgreSQL database too.
struct Place {
    data: std::path::PathBuf,
    pg: Option<String>,
}

impl Place {
    fn new(data: &std::path::Path) -> Place {
        Place {
            data: data.to_path_buf(),
            pg: postgres::selected().then(|| postgres::shared().fresh_database()),
        }
    }

    /// Core on the place's store. A store closed a moment ago may still be in use
    /// (its writer thread lets go after the last handle): that is waited out.
    async fn core(&self) -> Arc<Core> {
        let mut config = Config {
            data: self.data.clone(),
            link: LinkKind::Sim,
            ..Config::default()
        };
        config.store.url = self.pg.clone();
        config.sim.pair_delay_ms = 0;
        for _ in 0..200 {
            match wagate::run::open_core(&config).await {
                Ok(core) => return core,
                Err(e) if format!("{e:#}").contains("in use") => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await
                }
                Err(e) => panic!("opening core: {e:#}"),
            }
        }
        panic!("the store stayed in use");
    }

    /// The place's store alone, as core would open it.
    fn store(&self) -> wagate::store::Store {
        match &self.pg {
            Some(url) => wagate::store::Store::open_postgres(url, &self.data).unwrap(),
            None => wagate::store::Store::open(&self.data).unwrap(),
        }
    }

    /// Every stored key that mentions `needle`, as (table, key), read behind the
    /// gateway's back once its core is gone.
    fn keys_containing(&self, needle: &str) -> Vec<(String, String)> {
        match &self.pg {
            Some(url) => pg_keys_containing(url, needle),
            None => keys_containing(&self.data.join("wagate.redb"), needle),
        }
    }
}

/// [`keys_containing`] on PostgreSQL: keys of every table and multimap, and the values
/// of the two name tables (whose values are ids), as the redb scan reads them.
fn pg_keys_containing(url: &str, needle: &str) -> Vec<(String, String)> {
    assert!(needle.chars().all(|c| c.is_ascii_alphanumeric()));
    let out = postgres::shared().query(
        postgres::Postgres::database_of(url),
        &format!(
            "select tbl, encode(k, 'escape') from wagate_kv \
               where position('{needle}'::bytea in k) > 0 \
                  or (tbl in ('org_names', 'instance_names') and position('{needle}'::bytea in v) > 0) \
             union all \
             select tbl, encode(k, 'escape') from wagate_kv_multi \
               where position('{needle}'::bytea in k) > 0"
        ),
    );
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (t, k) = l.split_once('|').unwrap();
            (t.to_string(), k.to_string())
        })
        .collect()
}

async fn core_on(dir: &std::path::Path) -> Arc<Core> {
    Place::new(dir).core().await
}

async fn connected(core: &Core, p: &Principal, name: &str) -> String {
    let created = core.create_instance(p, name).await.unwrap();
    let which = InstanceRef::Name(name.into());
    core.connect(p, &which, None).await.unwrap();
    for _ in 0..500 {
        if core.connection_state(p, &which).await.unwrap()
            == wagate::core::model::ConnectionState::Open
        {
            return created.instance.id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    panic!("never paired");
}

fn inbound(n: usize, chat: &str, with_media: bool) -> Inbound {
    Inbound {
        id: format!("3EB0{n:016X}"),
        chat_jid: chat.into(),
        sender: chat.into(),
        sender_alt: None,
        chat_jid_alt: None,
        from_me: false,
        timestamp: 1_700_000_000_000 + n as u64,
        text: Some(format!("message {n}")),
        media: with_media.then(|| wagate::whatsapp::InboundMedia {
            info: wagate::core::model::MediaInfo {
                kind: wagate::core::model::MediaKind::Image,
                mimetype: "image/jpeg".into(),
                size: 64,
                sha256: String::new(),
                file_name: None,
                duration_secs: None,
                width: None,
                height: None,
                stored: false,
            },
            bytes: Some(vec![7u8; 64].into()),
            downloading: false,
        }),
        push_name: None,
        sender_is_business: false,
        content: None,
        poll_secret: None,
        poll_votes: Vec::new(),
    }
}

/// Every key of every table that contains `needle`, as (table, key) pairs.
fn keys_containing(db_path: &std::path::Path, needle: &str) -> Vec<(String, String)> {
    // The writer thread closes the file once the last handle of core is gone.
    let mut tries = 0;
    let db = loop {
        match redb::Database::open(db_path) {
            Ok(db) => break db,
            Err(e) if tries < 100 => {
                tries += 1;
                let _ = e;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("database still open: {e}"),
        }
    };
    let tx = db.begin_read().unwrap();
    let mut hits = Vec::new();
    // The WhatsApp key tables (`wa_*`, byte keys `instance \0 ...`) are read by the
    // first branch below; check they are all there, so none is left out by a rename.
    let names: Vec<String> = tx
        .list_tables()
        .unwrap()
        .map(|h| h.name().to_string())
        .collect();
    for table in wagate::store::tables::WA_TABLES {
        assert!(names.iter().any(|n| n == table.name()), "{}", table.name());
    }
    for handle in tx.list_tables().unwrap() {
        let name = handle.name().to_string();
        // Keys of every table are either strings or bytes (the outbox's are u64 sequence
        // numbers and cannot name an instance).
        if let Ok(t) = tx.open_table(redb::TableDefinition::<&[u8], &[u8]>::new(&name)) {
            for row in t.iter().unwrap() {
                let (k, _) = row.unwrap();
                if String::from_utf8_lossy(k.value()).contains(needle) {
                    hits.push((
                        name.clone(),
                        String::from_utf8_lossy(k.value()).into_owned(),
                    ));
                }
            }
        } else if let Ok(t) = tx.open_table(redb::TableDefinition::<&str, &[u8]>::new(&name)) {
            for row in t.iter().unwrap() {
                let (k, _) = row.unwrap();
                if k.value().contains(needle) {
                    hits.push((name.clone(), k.value().to_string()));
                }
            }
        } else if let Ok(t) = tx.open_table(redb::TableDefinition::<&str, &str>::new(&name)) {
            for row in t.iter().unwrap() {
                let (k, v) = row.unwrap();
                if k.value().contains(needle) || v.value().contains(needle) {
                    hits.push((name.clone(), k.value().to_string()));
                }
            }
        } else if let Ok(t) = tx.open_table(redb::TableDefinition::<&str, ()>::new(&name)) {
            assert!(t.len().unwrap() < 1_000_000);
            for row in t.iter().unwrap() {
                let (k, _) = row.unwrap();
                if k.value().contains(needle) {
                    hits.push((name.clone(), k.value().to_string()));
                }
            }
        } else {
            // A table none of the above can open would be skipped silently and could
            // hide an instance's keys: only these two, whose keys are a name and a
            // sequence number, may be.
            assert!(
                ["meta", "outbox"].contains(&name.as_str()),
                "the key scan cannot read table {name}: teach it the table's key type"
            );
        }
    }
    for handle in tx.list_multimap_tables().unwrap() {
        let name = handle.name().to_string();
        // Multimap values are byte strings (credential hashes) or strings (webhook ids).
        if let Ok(t) =
            tx.open_multimap_table(redb::MultimapTableDefinition::<&str, &[u8]>::new(&name))
        {
            for row in t.iter().unwrap() {
                let (k, _) = row.unwrap();
                if k.value().contains(needle) {
                    hits.push((name.clone(), k.value().to_string()));
                }
            }
        } else {
            let t = tx
                .open_multimap_table(redb::MultimapTableDefinition::<&str, &str>::new(&name))
                .unwrap();
            for row in t.iter().unwrap() {
                let (k, _) = row.unwrap();
                if k.value().contains(needle) {
                    hits.push((name.clone(), k.value().to_string()));
                }
            }
        }
    }
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_instance_with_10000_messages_leaves_nothing_of_it() {
    let tmp = tempfile::tempdir().unwrap();
    let place = Place::new(&tmp.path().join("data"));
    let core = place.core().await;
    let org = core.create_org("acme").await.unwrap();
    let admin = Core::admin_principal(&org.id);
    let doomed = connected(&core, &admin, "doomed").await;
    let spec = wagate::core::model::WebhookSpec {
        // Never delivered here; a reserved name (RFC 2606) the outbound guard lets be set.
        url: "http://hooks.invalid:9/hook".into(),
        enabled: true,
        ..Default::default()
    };
    core.set_webhooks(
        &admin,
        &InstanceRef::Name("doomed".into()),
        "core",
        vec![spec],
    )
    .await
    .unwrap();
    let kept = connected(&core, &admin, "kept").await;
    // Socket.IO settings for both: the doomed instance's go with it.
    for name in ["doomed", "kept"] {
        core.set_socketio(
            &admin,
            &InstanceRef::Name(name.into()),
            wagate::core::socketio::SocketIoSettings {
                enabled: true,
                events: vec!["message_upsert".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    // An integration and plugin storage for both: the doomed instance's go with it.
    let mut inbound_secrets = Vec::new();
    for (name, id) in [("doomed", &doomed), ("kept", &kept)] {
        let integration = core
            .set_integration(
                &admin,
                &InstanceRef::Name(name.into()),
                wagate::core::model::IntegrationSpec {
                    sink: "chatwoot".into(),
                    url: "http://chat.invalid:9/".into(),
                    settings: "{}".into(),
                    secret_headers: Some(vec![("api_access_token".into(), "t".into())]),
                    enabled: true,
                },
            )
            .await
            .unwrap();
        inbound_secrets.push(integration.inbound_secret);
        core.storage_set("chatwoot", id, "conversation:1", b"42".to_vec())
            .await
            .unwrap();
        // WhatsApp session keys (as the whatsapp link stores them): deleted with the
        // instance even when no link session runs (an offline `instance delete`).
        let keys = RedbBackend::new(core.store().clone(), id);
        keys.put_session("5511999990000@s.whatsapp.net", b"session")
            .await
            .unwrap();
        keys.put_identity("5511999990000@s.whatsapp.net", [7; 32])
            .await
            .unwrap();
        // A stored group (issue 16): its row goes with the instance.
        core.create_group(
            &admin,
            &InstanceRef::Name(name.into()),
            wagate::core::groups::GroupCreate {
                subject: format!("{name}'s group"),
                participants: vec!["5511999990001".into()],
                description: None,
            },
        )
        .await
        .unwrap();
        // A sent poll (issue 17): its secret, kept apart for the votes, goes too.
        core.send_content(
            &admin,
            &InstanceRef::Name(name.into()),
            // The chat the kept instance has anyway (below), so it keeps one chat.
            "5511000000001",
            wagate::core::model::Content::Poll(wagate::core::model::Poll {
                question: "Stay?".into(),
                options: vec!["yes".into(), "no".into()],
                selectable: 1,
            }),
            None,
        )
        .await
        .unwrap();
    }

    // Message brokers (issue 21): a per-instance destination for both, and a global
    // broker, whose destinations the fan-out creates at each instance's first event.
    core.set_broker_names([("events".to_string(), "nats".to_string())].into());
    wagate::core::brokers::store_globals(
        core.store(),
        vec![wagate::core::brokers::GlobalBroker {
            name: "everything".into(),
            dialect: "core".into(),
            events: Vec::new(),
        }],
    )
    .await
    .unwrap();
    for name in ["doomed", "kept"] {
        core.set_broker(
            &admin,
            &InstanceRef::Name(name.into()),
            "core",
            wagate::core::brokers::BrokerSpec {
                broker: "events".into(),
                events: Vec::new(),
                enabled: true,
            },
        )
        .await
        .unwrap();
    }

    // 10,000 messages over 20 chats, every tenth with a media file; ingested
    // concurrently so the writer's group commit keeps this quick.
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let core = core.clone();
        let doomed = doomed.clone();
        tasks.push(tokio::spawn(async move {
            for n in (worker..10_000).step_by(16) {
                let chat = format!("55119{:08}@s.whatsapp.net", n % 20);
                core.ingest_message(&doomed, inbound(n, &chat, n % 10 == 0))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    core.ingest_message(&kept, inbound(1, "5511000000001@s.whatsapp.net", true))
        .await
        .unwrap();
    // A LID sender with its phone beside it (issue 16): the learned pair goes with the
    // instance too.
    for id in [&doomed, &kept] {
        let lid = "190000000000009@lid";
        core.ingest_message(
            id,
            Inbound {
                sender_alt: Some("5511000000009@s.whatsapp.net".into()),
                chat_jid_alt: Some("5511000000009@s.whatsapp.net".into()),
                ..inbound(20_000, lid, false)
            },
        )
        .await
        .unwrap();
    }
    // Chat labels (issue 18): a label and a labelled chat for both; the doomed
    // instance's go with it.
    for id in [&doomed, &kept] {
        core.ingest_label_edit(
            id,
            wagate::core::labels::LabelEdit {
                id: "5".into(),
                name: Some("Paid".into()),
                color: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        core.ingest_label_association(
            id,
            wagate::core::labels::LabelAssociation {
                label_id: "5".into(),
                chat_jid: "5511000000001@s.whatsapp.net".into(),
                labeled: true,
                timestamp: 1,
            },
        )
        .await
        .unwrap();
    }
    let media_dir = place.data.join("media").join(&doomed);
    let files = walk(&media_dir);
    assert_eq!(files, 1_000, "media files written");
    let extra = core
        .create_credential(
            &org.id,
            wagate::core::records::CredentialKind::api_key(),
            None,
            Some("doomed"),
            None,
        )
        .await
        .unwrap();

    // Two deletes at once: one wins, the other is told a delete is running.
    let which = InstanceRef::Name("doomed".into());
    let (a, b) = tokio::join!(
        core.delete_instance(&admin, &which),
        core.delete_instance(&admin, &which)
    );
    let outcomes = [a.is_ok(), b.is_ok()];
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "{a:?} {b:?}");
    let loser = if a.is_ok() { b } else { a };
    assert!(
        matches!(
            loser,
            Err(CoreError::Conflict(_)) | Err(CoreError::NotFound(..))
        ),
        "{loser:?}"
    );

    assert!(
        core.resolve_credential(&extra.token).await.is_none(),
        "bound credential wiped"
    );
    assert!(
        core.resolve_inbound_credential(&inbound_secrets[0])
            .await
            .is_none(),
        "the integration's inbound secret wiped"
    );
    assert!(
        core.resolve_inbound_credential(&inbound_secrets[1])
            .await
            .is_some()
    );
    // An inbound secret is no credential anywhere but at its inbound route.
    assert!(core.resolve_credential(&inbound_secrets[1]).await.is_none());
    assert_eq!(
        core.storage_get("chatwoot", &doomed, "conversation:1")
            .unwrap(),
        None
    );
    assert_eq!(
        core.storage_get("chatwoot", &kept, "conversation:1")
            .unwrap(),
        Some(b"42".to_vec())
    );
    assert!(core.integration_of(&kept, "chatwoot").unwrap().is_some());
    // The delete's inline pass has a 3 s budget; on a loaded machine the background
    // collector (started with the core) finishes what it left in the journal.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while media_dir.exists() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!media_dir.exists(), "media folder removed");
    assert_eq!(
        walk(&place.data.join("media").join(&kept)),
        1,
        "other instance's media untouched"
    );
    let (s, _) = (
        core.list_chats(&admin, &InstanceRef::Name("kept".into()))
            .await
            .unwrap()
            .len(),
        (),
    );
    // Its media message's chat and the LID sender's (filed under the phone behind it).
    assert_eq!(s, 2);
    // The same name can be created again at once, with no broker destination.
    core.create_instance(&admin, "doomed").await.unwrap();
    assert!(
        core.list_brokers(&admin, &InstanceRef::Name("doomed".into()))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        core.list_brokers(&admin, &InstanceRef::Name("kept".into()))
            .await
            .unwrap()
            .len(),
        1
    );
    drop(core);

    let hits = place.keys_containing(&doomed);
    assert!(
        hits.is_empty(),
        "keys of the deleted instance remain: {:?}",
        &hits[..hits.len().min(5)]
    );
    let live = place.keys_containing(&kept);
    assert!(!live.is_empty(), "the scan does find live keys");
    assert!(
        live.iter().any(|(table, _)| table == "groups"),
        "the scan reads the groups table: {live:?}"
    );
    assert!(
        live.iter().any(|(table, _)| table == "socketio"),
        "the scan reads the socketio table: {live:?}"
    );
    assert!(
        live.iter().any(|(table, _)| table == "contacts"),
        "the scan reads the contacts table: {live:?}"
    );
    assert!(
        live.iter().any(|(table, _)| table == "jid_alts"),
        "the scan reads the LID <-> phone table: {live:?}"
    );
    assert!(
        live.iter().any(|(table, _)| table == "poll_secrets"),
        "the scan reads the poll_secrets table: {live:?}"
    );
    for table in ["labels", "chat_labels"] {
        assert!(
            live.iter().any(|(t, _)| t == table),
            "the scan reads the {table} table: {live:?}"
        );
    }
}

fn walk(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() { walk(&p) } else { 1 }
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_removal_is_finished_after_a_crash_between_commit_and_unlink() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("media/01ORPHAN/x")).unwrap();
    std::fs::write(data.join("media/01ORPHAN/x/file.jpg"), b"x").unwrap();
    // Simulate the state a crash leaves: the removal committed, the files still there.
    let place = Place::new(&data);
    let store = place.store();
    store
        .write(|tx| {
            tx.open_table(wagate::store::tables::MEDIA_GC)
                .map_err(wagate::store::internal)?
                .insert("media/01ORPHAN", ())
                .map_err(wagate::store::internal)?;
            Ok::<_, wagate::store::StoreError>(())
        })
        .await
        .unwrap();
    drop(store);
    // The media collector's first pass (core start) finishes it, in the background.
    let core = place.core().await;
    for _ in 0..500 {
        if !data.join("media/01ORPHAN").exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(!data.join("media/01ORPHAN").exists());
    drop(core);
}

/// Receipts from WhatsApp move a stored message's status forward only, in one commit;
/// receipts for messages the gateway never stored are skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_move_a_message_status_forward_only() {
    use wagate::core::model::DeliveryStatus;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let core = core_on(&data).await;
    let org = core.create_org("acme").await.unwrap();
    let admin = Core::admin_principal(&org.id);
    let id = connected(&core, &admin, "receipts").await;
    let chat = "5511000000009@s.whatsapp.net";
    let stored = core
        .ingest_message(&id, inbound(1, chat, false))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, None);

    let status_of = |core: &Core| core.find_message(&id, &stored.id).unwrap().unwrap().status;
    let ids = vec![stored.id.clone(), "3EB0NEVERSTORED".to_string()];
    let changed = core
        .record_receipts(&id, ids.clone(), DeliveryStatus::Delivered)
        .await
        .unwrap();
    assert_eq!(changed, 1, "the unknown id is skipped");
    assert_eq!(status_of(&core), Some(DeliveryStatus::Delivered));
    core.record_receipts(&id, ids.clone(), DeliveryStatus::Read)
        .await
        .unwrap();
    // A late `delivered` after `read` changes nothing.
    let changed = core
        .record_receipts(&id, ids, DeliveryStatus::Delivered)
        .await
        .unwrap();
    assert_eq!(changed, 0);
    assert_eq!(status_of(&core), Some(DeliveryStatus::Read));

    // What a reader of the chat sees.
    let page = core
        .list_messages(
            &admin,
            &InstanceRef::Name("receipts".into()),
            chat,
            10,
            None,
        )
        .await
        .unwrap();
    assert_eq!(page.messages[0].status, Some(DeliveryStatus::Read));
    assert_eq!(
        serde_json::to_value(&page.messages[0]).unwrap()["status"],
        "read"
    );

    // The receipt types (wire names, which the whatsapp link maps before core sees
    // them) map onto these.
    for (kind, want) in [
        ("delivery", Some(DeliveryStatus::Delivered)),
        ("read", Some(DeliveryStatus::Read)),
        ("read-self", Some(DeliveryStatus::Read)),
        ("played-self", Some(DeliveryStatus::Played)),
        ("retry", None),
        ("server-error", None),
    ] {
        assert_eq!(
            wagate::whatsapp::real::convert::receipt_status(kind),
            want,
            "{kind}"
        );
    }
}

/// A history-sync chunk is stored in one commit as a backfill: no `message-upsert`
/// events (webhooks and Chatwoot must not see the backlog as new traffic) but
/// `history_sync` events of at most 100 messages each, in the same commit, carrying
/// only the new messages (ids already stored are skipped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_one_commit_with_bounded_history_events() {
    use wagate::core::model::EventPayload;
    let tmp = tempfile::tempdir().unwrap();
    let core = core_on(&tmp.path().join("data")).await;
    let org = core.create_org("acme").await.unwrap();
    let admin = Core::admin_principal(&org.id);
    let id = connected(&core, &admin, "history").await;
    let chat = "5511000000010@s.whatsapp.net";
    let live = core
        .ingest_message(&id, inbound(1, chat, false))
        .await
        .unwrap()
        .unwrap();

    let outbox_len = |core: &Core| {
        core.store()
            .read(|tx| wagate::core::outbox::read_after(tx, 0, 100_000))
            .unwrap()
            .len()
    };
    let events_before = outbox_len(&core);
    let commits = core.store().commits();
    let commits_before = *commits.borrow();
    let chunk: Vec<Inbound> = (1..=5).map(|n| inbound(n, chat, false)).collect();
    let new = core.ingest_history(&id, chunk).await.unwrap();
    assert_eq!(new, 4, "the live message (n=1) is already stored");
    assert_eq!(
        *commits.borrow(),
        commits_before + 1,
        "one commit for the chunk"
    );
    let events = core
        .store()
        .read(|tx| wagate::core::outbox::read_after(tx, 0, 100_000))
        .unwrap();
    assert_eq!(events.len(), events_before + 1, "one history event");
    match &events.last().unwrap().1.payload {
        EventPayload::HistorySync(ms) => {
            assert_eq!(ms.len(), 4);
            assert!(ms.iter().all(|m| m.id != live.id), "only the new messages");
        }
        other => panic!("not a history event: {other:?}"),
    }

    let page = core
        .list_messages(&admin, &InstanceRef::Name("history".into()), chat, 50, None)
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 5);
    assert!(page.messages.iter().any(|m| m.id == live.id));

    // A large chunk is reported in batches of 100.
    let big: Vec<Inbound> = (100..350).map(|n| inbound(n, chat, false)).collect();
    assert_eq!(core.ingest_history(&id, big).await.unwrap(), 250);
    let events = core
        .store()
        .read(|tx| wagate::core::outbox::read_after(tx, 0, 100_000))
        .unwrap();
    let sizes: Vec<usize> = events[events_before + 1..]
        .iter()
        .map(|(_, e)| match &e.payload {
            EventPayload::HistorySync(ms) => ms.len(),
            other => panic!("not a history event: {other:?}"),
        })
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
}

/// The real link reports inbound media without bytes and downloads them later: the
/// message is stored `stored: false` (its media not served), then `MediaDownloaded`
/// puts the bytes in the media store, marks it stored and emits `message_media` in one
/// commit; `MediaFailed` changes nothing; a download for a message deleted meanwhile
/// leaves no file behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_downloaded_later_is_stored_announced_and_served() {
    use wagate::core::model::EventPayload;
    use wagate::whatsapp::LinkEvent;
    let dir = tempfile::tempdir().unwrap();
    let core = core_on(dir.path()).await;
    let org = core.create_org("acme").await.unwrap();
    let admin = Core::admin_principal(&org.id);
    let id = connected(&core, &admin, "shop").await;
    let chat = "5511999999999@s.whatsapp.net";
    let which = InstanceRef::Id(id.clone());
    let mut pending = inbound(1, chat, true);
    pending.media.as_mut().unwrap().bytes = None;
    let m = core.ingest_message(&id, pending).await.unwrap().unwrap();
    assert!(!m.media.as_ref().unwrap().stored);
    assert!(matches!(
        core.get_media(&admin, &which, &m.id).await,
        Err(CoreError::NotFound(..))
    ));
    let outbox = |core: &Core| {
        core.store()
            .read(|tx| wagate::core::outbox::read_after(tx, 0, 100_000))
            .unwrap()
    };
    let before = outbox(&core).len();
    core.handle_link_event(LinkEvent::MediaFailed {
        instance_id: id.clone(),
        chat_jid: chat.into(),
        message_id: m.id.clone(),
        reason: "expired".into(),
    })
    .await
    .unwrap();
    assert_eq!(outbox(&core).len(), before);
    let bytes = bytes::Bytes::from_static(b"\xff\xd8\xff\xe0 a jpeg");
    core.handle_link_event(LinkEvent::MediaDownloaded {
        instance_id: id.clone(),
        chat_jid: chat.into(),
        message_id: m.id.clone(),
        bytes: bytes.clone(),
    })
    .await
    .unwrap();
    let (served, info) = core.get_media(&admin, &which, &m.id).await.unwrap();
    assert_eq!(served, bytes);
    assert!(info.stored);
    assert_eq!(info.size, bytes.len() as u64);
    let events = outbox(&core);
    assert_eq!(events.len(), before + 1);
    match &events.last().unwrap().1.payload {
        EventPayload::MessageMedia(msg) => {
            assert_eq!(msg.id, m.id);
            assert!(msg.media.as_ref().unwrap().stored);
        }
        other => panic!("{other:?}"),
    }
    // A download for a message deleted meanwhile stores nothing.
    let mut gone = inbound(2, chat, true);
    gone.media.as_mut().unwrap().bytes = None;
    let g = core.ingest_message(&id, gone).await.unwrap().unwrap();
    core.delete_message(&admin, &which, &g.id, false)
        .await
        .unwrap();
    core.handle_link_event(LinkEvent::MediaDownloaded {
        instance_id: id.clone(),
        chat_jid: chat.into(),
        message_id: g.id.clone(),
        bytes,
    })
    .await
    .unwrap();
    let path = dir.path().join("media").join(&id).join(chat).join(&g.id);
    assert!(!path.exists(), "{}", path.display());
}

/// `set_socketio`/`get_socketio` (issue 18): validated kinds, kept per instance with
/// their first-stored time, and only within the caller's org and rights.
#[tokio::test]
async fn socketio_settings_are_validated_and_kept_per_instance() {
    use wagate::core::model::Capabilities;
    use wagate::core::socketio::SocketIoSettings;
    let tmp = tempfile::tempdir().unwrap();
    let core = core_on(&tmp.path().join("data")).await;
    let org = core.create_org("acme").await.unwrap();
    let admin = Core::admin_principal(&org.id);
    core.create_instance(&admin, "shop").await.unwrap();
    let shop = InstanceRef::Name("shop".into());
    let wanted = |events: &[&str]| SocketIoSettings {
        enabled: true,
        events: events.iter().map(|e| e.to_string()).collect(),
        ..Default::default()
    };

    assert_eq!(core.get_socketio(&admin, &shop).await.unwrap(), None);
    let err = core
        .set_socketio(&admin, &shop, wanted(&["message_upsert", "nope"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CoreError::Invalid(m) if m.contains("`nope`")),
        "{err:?}"
    );
    assert_eq!(core.get_socketio(&admin, &shop).await.unwrap(), None);

    let first = core
        .set_socketio(&admin, &shop, wanted(&["message_upsert"]))
        .await
        .unwrap();
    assert!(first.created_at > 0 && first.updated_at == first.created_at);
    assert!(first.emits("message_upsert") && !first.emits("connection_update"));
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = core.set_socketio(&admin, &shop, wanted(&[])).await.unwrap();
    assert_eq!(second.created_at, first.created_at);
    assert!(second.updated_at > first.updated_at);
    assert!(second.emits("connection_update"), "no kinds: every kind");
    assert_eq!(
        core.get_socketio(&admin, &shop).await.unwrap(),
        Some(second)
    );

    // Read-only: may read, may not set. Another org: no such instance.
    let reader = Principal {
        caps: Capabilities {
            read: true,
            send: false,
            manage: false,
            admin: false,
        },
        ..admin.clone()
    };
    assert!(core.get_socketio(&reader, &shop).await.unwrap().is_some());
    assert!(matches!(
        core.set_socketio(&reader, &shop, wanted(&[])).await,
        Err(CoreError::Forbidden(_))
    ));
    let other = core.create_org("other").await.unwrap();
    let stranger = Core::admin_principal(&other.id);
    assert!(matches!(
        core.get_socketio(&stranger, &shop).await,
        Err(CoreError::NotFound(..))
    ));
    assert!(matches!(
        core.set_socketio(&stranger, &shop, wanted(&[])).await,
        Err(CoreError::NotFound(..))
    ));
}

/// `Store::credential_changes` (what reused auth outcomes are checked against) counts
/// every commit that touched the credentials (an instance's token minted or removed with
/// it), before the call that made it returns, and nothing else.
#[tokio::test]
async fn credential_changes_count_only_commits_that_touch_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let core = core_on(&tmp.path().join("data")).await;
    let changes = || core.store().credential_changes().expect("not cluster mode");
    let org = core.create_org("acme").await.unwrap();
    let admin = Core::admin_principal(&org.id);
    let start = changes();

    core.create_instance(&admin, "shop").await.unwrap();
    let after_create = changes();
    assert!(after_create > start, "its token was minted");

    let shop = InstanceRef::Name("shop".into());
    core.set_socketio(&admin, &shop, Default::default())
        .await
        .unwrap();
    assert_eq!(
        changes(),
        after_create,
        "a settings write leaves credentials alone"
    );

    core.delete_instance(&admin, &shop).await.unwrap();
    assert!(changes() > after_create, "its token was removed with it");
}
