//! A damaged inbox file: one page of stored bodies overwritten. The deliveries on it are
//! dead-lettered on their own (`unreadable_row`) and the rest of the queue keeps moving.

use std::io::{Seek, SeekFrom, Write};
use std::time::Duration;

use meetingbaas_webhooks_inbox::testing::stored;
use meetingbaas_webhooks_inbox::{Inbox, Job, ListQuery, SqliteBackend, State, Verdict};

const DELIVERIES: usize = 400;

/// `Inbox::ready` once the background integrity check has found damage (it is `Ok` while the
/// check runs), or `Ok` when the check passed.
async fn ready_after_the_check(
    inbox: &Inbox,
    backend: &SqliteBackend,
) -> Result<(), meetingbaas_webhooks_inbox::Error> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ready = inbox.ready().await;
        if ready.is_err() || backend.integrity_checked() {
            return ready;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the check never ended"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A healthy file is ready at once, and still once its check has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_file_is_ready_during_and_after_its_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.db");
    let inbox = Inbox::with_store(SqliteBackend::open(&path).unwrap());
    for n in 0..50 {
        stored(&inbox, body(n)).await;
    }
    drop(inbox);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let backend = SqliteBackend::open(&path).unwrap();
    let inbox = Inbox::with_store(backend.clone());
    inbox.ready().await.expect("ready while the check runs");
    ready_after_the_check(&inbox, &backend)
        .await
        .expect("a healthy file");
    assert!(backend.integrity_checked());
}

fn body(n: usize) -> String {
    // About 900 bytes each: four or so to a 4 KiB page.
    format!(
        r#"{{"event":"bot.completed","data":{{"bot_id":"b-{n}","pad":"body-{n:04}-{}"}}}}"#,
        "x".repeat(850)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_page_dead_letters_its_deliveries_and_the_queue_keeps_moving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.db");
    {
        let inbox = Inbox::with_store(SqliteBackend::open(&path).unwrap());
        for n in 0..DELIVERIES {
            stored(&inbox, body(n)).await;
        }
    }
    // The store's threads close the file and fold its log in: a page damaged before that
    // would be replaced by its newer copy in the log.
    meetingbaas_webhooks_inbox::testing::log_folded(&path).await;

    // Overwrite the page holding one delivery's body.
    let bytes = std::fs::read(&path).unwrap();
    let page_size = match u16::from_be_bytes([bytes[16], bytes[17]]) {
        1 => 65_536,
        size => usize::from(size),
    };
    // Only in the body (the bot id is kept in the deliveries' own table too).
    let marker = b"body-0200-";
    let at = bytes
        .windows(marker.len())
        .position(|window| window == marker)
        .expect("the body is in the file, not only in its log");
    let page = at / page_size;
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.seek(SeekFrom::Start((page * page_size) as u64))
        .unwrap();
    file.write_all(&vec![0xA5; page_size]).unwrap();
    drop(file);

    let _logs =
        tracing::subscriber::set_default(tracing_subscriber::fmt().with_test_writer().finish());
    let backend = SqliteBackend::open(&path).expect("opens: the damage is in a body");
    let inbox = Inbox::with_store(backend.clone());
    // The integrity check after start finds the damage: never ready.
    let found = ready_after_the_check(&inbox, &backend)
        .await
        .unwrap_err()
        .to_string();
    assert!(found.contains("is damaged"), "{found}");
    let run = inbox
        .worker()
        .concurrency(8)
        .fallback(|_job: Job| async { Ok(()) })
        .build()
        .run_until_idle();
    // Bounded: a queue the damage stops would retry its claim for ever.
    let attempts = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the queue kept moving past the damaged page");
    let stats = inbox.stats().await.unwrap();
    assert_eq!(stats.completed + stats.dead, DELIVERIES as u64, "{stats:?}");
    // Still not ready once the damaged deliveries are dead letters: the file stays damaged.
    assert!(inbox.ready().await.is_err());
    assert_eq!(
        (stats.queued, stats.retrying, stats.running),
        (0, 0, 0),
        "{stats:?}"
    );
    assert!(stats.dead >= 1, "the damaged page's deliveries: {stats:?}");
    assert!(stats.dead < 20, "only those on the page: {stats:?}");
    let dead = inbox
        .list(ListQuery {
            state: Some(State::Dead),
            ..ListQuery::default()
        })
        .await
        .unwrap();
    for summary in &dead {
        let reason = summary.dead_reason.as_deref().unwrap_or_default();
        assert!(reason.starts_with("unreadable_row"), "{reason}");
    }
    let completed = attempts
        .iter()
        .filter(|a| a.verdict == Verdict::Complete)
        .count();
    assert_eq!(completed as u64, stats.completed);
}
