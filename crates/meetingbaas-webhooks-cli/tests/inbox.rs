//! `meetingbaas-webhooks inbox` against a real SQLite file, a real `redis-server` and a real
//! Postgres server.

mod common;

use std::process::Output;
use std::time::Duration;

use meetingbaas_webhooks::{Bytes, EventKind, Verifier};
use meetingbaas_webhooks_conformance::postgres_server::PostgresServer;
use meetingbaas_webhooks_conformance::redis_server::RedisServer;
use meetingbaas_webhooks_inbox::{Enqueued, HandlerError, Inbox, Job};
use meetingbaas_webhooks_receiver::EventLabel;

fn inbox_command(store: &str, args: &[&str]) -> Output {
    common::command(&["inbox", "--store", store])
        .args(args)
        .output()
        .expect("running the binary")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("{err}: {output:?}"))
}

async fn store(inbox: &Inbox, body: &[u8]) -> String {
    let delivery = Verifier::builder()
        .callback_secret("s")
        .build()
        .unwrap()
        .verify(&[("x-mb-secret", "s")], Bytes::copy_from_slice(body))
        .unwrap();
    let label = match delivery.parse_event() {
        Ok(event) => EventLabel::new(Some(event.kind()), Some(event.name().to_string())),
        Err(_) => EventLabel::default(),
    };
    match inbox.intake().enqueue(&delivery, label).await.unwrap() {
        Enqueued::Stored { id } => id,
        Enqueued::Duplicate => panic!("duplicate"),
    }
}

/// Three deliveries: one handled, one refused as permanent, one unreadable (with an escape
/// sequence in its body). Returns their ids.
async fn populate(inbox: &Inbox) -> [String; 3] {
    let done = store(
        inbox,
        br#"{"event":"bot.completed","data":{"bot_id":"b-1"}}"#,
    )
    .await;
    let refused = store(inbox, br#"{"event":"bot.failed","data":{"bot_id":"b-2"}}"#).await;
    let evil = store(inbox, b"\x1b[2J\x1b]0;pwned\x07 not json").await;
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(20))
        .on(EventKind::BotFailed, |_job: Job| async {
            Err(HandlerError::permanent("refused"))
        })
        .fallback(|_job: Job| async { Ok(()) })
        .build()
        .spawn();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while inbox.stats().await.unwrap().dead < 2 || inbox.stats().await.unwrap().completed < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker never finished"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.shutdown().await;
    [done, refused, evil]
}

async fn every_command(url: &str, inbox: &Inbox) {
    let [done, refused, evil] = populate(inbox).await;

    let stats = json(&inbox_command(url, &["stats", "--json"]));
    assert_eq!(stats["completed"], 1);
    assert_eq!(stats["dead"], 2);
    assert_eq!(stats["queued"], 0);
    assert!(stats["oldest_pending_age_secs"].is_null());
    assert!(stdout(&inbox_command(url, &["stats"])).contains("dead       2"));

    let dead = json(&inbox_command(url, &["list", "--dead", "--json"]));
    assert_eq!(dead.as_array().unwrap().len(), 2);
    let failed = stdout(&inbox_command(
        url,
        &["list", "--dead", "--kind", "bot_failed"],
    ));
    assert_eq!(failed.lines().count(), 1, "{failed}");
    assert!(failed.contains("reason: refused"), "{failed}");
    // `--kind` takes the wire names `list` prints, in every spelling, as well as kind names...
    for kind in ["bot.failed", "failed", "meeting.failed"] {
        let listed = stdout(&inbox_command(url, &["list", "--dead", "--kind", kind]));
        assert_eq!(listed, failed, "--kind {kind}");
    }
    // ...and refuses anything else with the names there are (exit 2), rather than match nothing.
    for args in [
        &["list", "--kind", "bot_complete"][..],
        &["redrive", "--all", "--kind", "bot.complete"][..],
    ] {
        let refused = inbox_command(url, args);
        assert_eq!(refused.status.code(), Some(2), "{refused:?}");
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(
            err.contains("not an event kind")
                && err.contains("bot_completed, complete, bot.completed"),
            "{err}"
        );
    }

    // The body's escape sequences never reach the terminal.
    let shown = inbox_command(url, &["show", &evil]);
    assert!(shown.status.success());
    let text = stdout(&shown);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains("\\u{1b}[2J"), "{text}");
    assert!(text.contains("unreadable"), "{text}");
    // One key each: `attempt_count` (a number) and `attempts` (the list).
    let raw = stdout(&inbox_command(url, &["show", &done, "--json"]));
    assert_eq!(raw.matches("\"attempts\":").count(), 1, "{raw}");
    assert_eq!(raw.matches("\"attempt_count\":").count(), 1, "{raw}");
    let shown = json(&inbox_command(url, &["show", &done, "--json"]));
    assert_eq!(shown["attempt_count"], 1);
    assert_eq!(shown["body_base64"], false);
    assert_eq!(shown["state"], "completed");
    assert_eq!(shown["attempts"].as_array().unwrap().len(), 1);
    assert!(shown["body"].as_str().unwrap().contains("b-1"));
    let missing = inbox_command(url, &["show", "999999"]);
    assert_eq!(missing.status.code(), Some(1));

    assert_eq!(
        json(&inbox_command(url, &["redrive", &refused, "--json"]))["redriven"],
        1
    );
    assert_eq!(inbox.stats().await.unwrap().queued, 1);
    assert_eq!(
        json(&inbox_command(url, &["redrive", "--all", "--json"]))["redriven"],
        1
    );
    assert_eq!(inbox.stats().await.unwrap().queued, 2);
    // Refused again: `show` tells the runs apart (each redrive starts one).
    inbox
        .worker()
        .on(EventKind::BotFailed, |_job: Job| async {
            Err(HandlerError::permanent("refused again"))
        })
        .build()
        .run_until_idle()
        .await;
    let text = stdout(&inbox_command(url, &["show", &refused]));
    assert!(
        text.contains("attempts:   2 in 2 runs (run 1: 1, run 2: 1)"),
        "{text}"
    );
    assert!(
        text.contains("dead:       refused again (in run 2)"),
        "{text}"
    );
    assert!(text.contains("  run 2 #2 "), "{text}");
    let shown = json(&inbox_command(url, &["show", &refused, "--json"]));
    assert_eq!(shown["runs"], 2);
    assert_eq!(shown["attempts"][1]["run"], 2);

    let key = inbox.show(&done).await.unwrap().summary.key;
    let forgot = inbox_command(url, &["forget", &key]);
    assert!(forgot.status.success(), "{forgot:?}");
    assert_eq!(inbox_command(url, &["forget", &key]).status.code(), Some(1));

    assert_eq!(
        json(&inbox_command(
            url,
            &["purge", "--dead", "--older-than", "1h", "--json"]
        ))["purged"],
        0
    );
    let usage = inbox_command(url, &["purge", "--dead", "--older-than", "soon"]);
    assert_eq!(usage.status.code(), Some(2));

    // A body that is not UTF-8: base64 in JSON (with the flag) and in text, byte for byte.
    let binary = store(inbox, b"\xff\xfe\x00binary").await;
    let shown = json(&inbox_command(url, &["show", &binary, "--json"]));
    assert_eq!(shown["body_base64"], true);
    assert_eq!(shown["body"], "//4AYmluYXJ5");
    let text = stdout(&inbox_command(url, &["show", &binary]));
    assert!(
        text.contains("not UTF-8; base64") && text.contains("//4AYmluYXJ5"),
        "{text}"
    );

    // A completed delivery whose body was dropped: said, and its redrive refused.
    let worker = inbox
        .worker()
        .poll_interval(Duration::from_millis(20))
        .keep_bodies(Some(Duration::ZERO))
        .fallback(|_job: Job| async { Ok(()) })
        .build()
        .spawn();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !inbox.show(&done).await.unwrap().body_dropped {
        assert!(tokio::time::Instant::now() < deadline, "never dropped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.shutdown().await;
    let text = stdout(&inbox_command(url, &["show", &done]));
    assert!(
        text.contains("body:       dropped after completion"),
        "{text}"
    );
    let shown = json(&inbox_command(url, &["show", &done, "--json"]));
    assert_eq!(shown["body_dropped"], true);
    assert_eq!(shown["body"], "");
    let refused = inbox_command(url, &["redrive", &done]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("its body was dropped"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_against_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
    let inbox = Inbox::open(&url).await.unwrap();
    every_command(&url, &inbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_against_redis() {
    let server = RedisServer::start();
    let inbox = Inbox::open(&server.url()).await.unwrap();
    every_command(&server.url(), &inbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_against_postgres() {
    let server = PostgresServer::start();
    let url = server.new_database();
    let inbox = Inbox::open(&url).await.unwrap();
    every_command(&url, &inbox).await;
}

#[test]
fn a_missing_store_is_an_error_not_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let output = inbox_command(&format!("sqlite://{}", path.display()), &["stats"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no inbox at"));
    assert!(!path.exists());
    let output = common::command(&["inbox", "stats"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// `stats`, `list` and `show` on a read-only mount of a healthy inbox file: they open it
/// read-only (`mode=ro`) and exit 0; a command that writes says the store is read-only. Needs
/// root to mount (as on CI); skipped with a message otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_commands_work_on_a_read_only_mount() {
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(dir.path())
        .output()
        .unwrap();
    if !mounted.status.success() {
        println!(
            "skipped: cannot mount tmpfs (needs root): {}",
            String::from_utf8_lossy(&mounted.stderr).trim()
        );
        return;
    }
    let unmount = Unmount(dir.path().to_path_buf());
    let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
    let ids = {
        let inbox = Inbox::open(&url).await.unwrap();
        let ids = populate(&inbox).await;
        drop(inbox);
        ids
    };
    // Let the store's threads close the file, then make the mount read-only.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let remounted = std::process::Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(remounted.success(), "remount read-only");

    let stats = json(&inbox_command(&url, &["stats", "--json"]));
    assert_eq!(
        (stats["completed"].clone(), stats["dead"].clone()),
        (1.into(), 2.into())
    );
    let listed = json(&inbox_command(&url, &["list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 3);
    let shown = inbox_command(&url, &["show", &ids[0]]);
    assert!(shown.status.success(), "{shown:?}");
    let redrive = inbox_command(&url, &["redrive", &ids[1]]);
    assert_eq!(redrive.status.code(), Some(1), "{redrive:?}");
    drop(unmount);
}

/// Unmounts on drop (a failed assertion still cleans up).
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// `backup --to FILE` while deliveries keep arriving: exit 0, and the copy is an inbox holding
/// every delivery stored before the backup began (a consistent snapshot: each one readable),
/// that a service can open; an existing FILE is never overwritten; a Redis store is a usage
/// error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_copies_a_live_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
    let inbox = Inbox::open(&url).await.unwrap();
    let mut before = Vec::new();
    for n in 0..200 {
        let body = format!(r#"{{"event":"bot.completed","data":{{"bot_id":"before-{n}"}}}}"#);
        before.push(store(&inbox, body.as_bytes()).await);
    }
    // A writer that keeps going during the backup.
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let inbox = inbox.clone();
        let writing = writing.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while writing.load(std::sync::atomic::Ordering::Relaxed) {
                let body =
                    format!(r#"{{"event":"bot.completed","data":{{"bot_id":"during-{n}"}}}}"#);
                store(&inbox, body.as_bytes()).await;
                n += 1;
            }
            n
        })
    };
    let to = dir.path().join("backup.db");
    let to_arg = to.display().to_string();
    let output = tokio::task::spawn_blocking({
        let url = url.clone();
        let to_arg = to_arg.clone();
        move || inbox_command(&url, &["backup", "--to", &to_arg, "--json"])
    })
    .await
    .unwrap();
    writing.store(false, std::sync::atomic::Ordering::Relaxed);
    let during = writer.await.unwrap();
    let report = json(&output);
    assert!(report["pages"].as_u64().unwrap() > 0, "{report}");
    assert!(
        !dir.path().join("backup.db-wal").exists(),
        "the copy is one file"
    );

    // The copy is an inbox: every delivery stored before the backup, each readable.
    let copy_url = format!("sqlite://{to_arg}");
    let copy = Inbox::open_read_only(&copy_url).await.unwrap();
    let stats = copy.stats().await.unwrap();
    assert!(
        stats.queued >= 200 && stats.queued <= 200 + during as u64,
        "{stats:?} ({during} written during the backup)"
    );
    for id in &before {
        let shown = copy.show(id).await.unwrap();
        assert!(shown.body.starts_with(b"{\"event\":\"bot.completed\""));
    }
    drop(copy);
    // A service can open it (the restore).
    let restored = Inbox::open(&copy_url).await.unwrap();
    assert_eq!(restored.stats().await.unwrap().queued, stats.queued);
    drop(restored);

    // Never over an existing file.
    let size = std::fs::metadata(&to).unwrap().len();
    let again = inbox_command(&url, &["backup", "--to", &to_arg]);
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    assert_eq!(std::fs::metadata(&to).unwrap().len(), size);
    // Redis: a usage error naming the way.
    let redis = inbox_command("redis://127.0.0.1:1", &["backup", "--to", "x.db"]);
    assert_eq!(redis.status.code(), Some(2), "{redis:?}");
    assert!(String::from_utf8_lossy(&redis.stderr).contains("sqlite://"));
}

/// `inbox serve`: the admin page of a store over TCP (on loopback behind a token made for the
/// run and printed; elsewhere refused without `MEETINGBAAS_ADMIN_TOKEN`), stopped by SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_serve_serves_the_admin_page_and_needs_a_token_off_loopback() {
    use std::io::{BufRead, BufReader, Read, Write};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.db");
    let inbox = Inbox::sqlite(&path).unwrap();
    let [done, ..] = populate(&inbox).await;
    drop(inbox);
    let store = format!("sqlite://{}", path.display());

    let refused = inbox_command(&store, &["serve", "--listen", "0.0.0.0:0"]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("MEETINGBAAS_ADMIN_TOKEN"));

    let mut child = common::command(&[
        "inbox",
        "--store",
        &store,
        "serve",
        "--listen",
        "127.0.0.1:0",
    ])
    .stdout(std::process::Stdio::piped())
    .spawn()
    .expect("running the binary");
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let mut sign_in = String::new();
    stdout.read_line(&mut sign_in).unwrap();
    let token = sign_in
        .split("token ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no token in {sign_in:?}"))
        .to_string();
    assert_eq!(token.len(), 64, "{sign_in}");
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    let get = |authorization: &str| {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        write!(
            stream,
            "GET / HTTP/1.1\r\nHost: {address}\r\n{authorization}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    let refused = get("");
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    assert!(!refused.contains("/deliveries/"), "{refused}");
    let answer = get(&format!("Authorization: Bearer {token}\r\n"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(&format!("/deliveries/{done}")), "{answer}");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
