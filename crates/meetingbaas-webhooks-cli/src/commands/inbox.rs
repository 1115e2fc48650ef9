//! `inbox`: look into a durable inbox (SQLite file or Redis Streams) and reprocess from it.
//!
//! Everything printed from a stored delivery (its body, its key, an error message) is escaped:
//! control characters and bidirectional overrides are written as `\u{..}`, never sent to the
//! terminal as they are.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use meetingbaas_webhooks_inbox::{
    EventKind, Inbox, ListQuery, State, Stats, StoredDelivery, Summary, now_ms,
};
use serde_json::json;

use crate::failure::Failure;
use crate::output;

/// What `inbox` was asked.
pub(crate) struct Options {
    pub(crate) store: Option<String>,
    pub(crate) json: bool,
    pub(crate) action: Action,
}

/// One inbox action.
pub(crate) enum Action {
    Stats,
    List {
        dead: bool,
        kind: Option<String>,
        limit: usize,
    },
    Show {
        id: String,
    },
    Redrive {
        id: Option<String>,
        all: bool,
        kind: Option<String>,
    },
    Forget {
        key: String,
    },
    Purge {
        dead: bool,
        completed: bool,
        older_than: Option<String>,
    },
    Backup {
        to: std::path::PathBuf,
    },
    Serve {
        listen: std::net::SocketAddr,
        read_only: bool,
    },
    Redeliver {
        id: String,
        /// `retry-callback` rather than `resend-webhook`.
        callback: bool,
        api: crate::commands::api::Connection,
    },
}

pub(crate) async fn run(options: Options) -> Result<ExitCode, Failure> {
    let Options {
        store,
        json,
        action,
    } = options;
    let store = store
        .or_else(|| std::env::var(meetingbaas_webhooks_inbox::INBOX_ENV_VAR).ok())
        .filter(|store| !store.trim().is_empty())
        .ok_or_else(|| {
            Failure::usage("no store: give --store sqlite://PATH, redis://HOST:PORT or postgres://USER:PASS@HOST:PORT/DB (or set MEETINGBAAS_INBOX)")
        })?;
    // Reading an inbox must never create one: a mistyped path is an error, not a new file.
    if let Some(path) = store.trim().strip_prefix("sqlite://")
        && !std::path::Path::new(path).exists()
    {
        return Err(Failure::runtime(format!("no inbox at {}", printable(path))));
    }
    if let Action::Backup { to } = action {
        return backup(&store, to, json).await;
    }
    if let Action::Serve { listen, read_only } = action {
        return serve(&store, listen, read_only).await;
    }
    // A kind given wrongly is refused before the store is opened.
    if let Action::List {
        kind: Some(kind), ..
    }
    | Action::Redrive {
        kind: Some(kind), ..
    } = &action
    {
        stored_kind(kind)?;
    }
    // Reading never writes: `stats`, `list` and `show` open a SQLite file read-only, so they
    // work on a full disk or a read-only mount, beside a running service.
    let reads_only = matches!(
        action,
        Action::Stats | Action::List { .. } | Action::Show { .. }
    );
    let opened = if reads_only {
        Inbox::open_read_only(&store).await
    } else {
        Inbox::open(&store).await
    };
    let inbox = opened.map_err(|err| Failure::runtime(printable(&err.to_string())))?;
    let failed =
        |err: meetingbaas_webhooks_inbox::Error| Failure::runtime(printable(&err.to_string()));
    match action {
        Action::Stats => {
            let stats = inbox.stats().await.map_err(failed)?;
            print_stats(&stats, json);
        }
        Action::List { dead, kind, limit } => {
            let query = ListQuery {
                state: dead.then_some(State::Dead),
                kind: kind.as_deref().map(stored_kind).transpose()?,
                limit,
                ..ListQuery::default()
            };
            let listed = inbox.list(query).await.map_err(failed)?;
            if json {
                output::out(serde_json::to_string(&listed).unwrap_or_default());
            } else if listed.is_empty() {
                output::out("no deliveries");
            } else {
                for summary in &listed {
                    output::out(list_line(summary));
                }
            }
        }
        Action::Show { id } => {
            let shown = inbox.show(&id).await.map_err(failed)?;
            if json {
                output::out(serde_json::to_string(&shown).unwrap_or_default());
            } else {
                print_delivery(&shown);
            }
        }
        Action::Redrive { id, all, kind } => {
            let count = match (id, all) {
                (Some(id), false) => {
                    if kind.is_some() {
                        return Err(Failure::usage("--kind goes with --all, not with an ID"));
                    }
                    inbox.redrive(&id).await.map_err(failed)?;
                    1
                }
                (None, true) => {
                    let kind = kind.as_deref().map(stored_kind).transpose()?;
                    inbox.redrive_dead(kind.as_deref()).await.map_err(failed)?
                }
                _ => return Err(Failure::usage("redrive takes an ID or --all")),
            };
            if json {
                output::out(json!({ "redriven": count }));
            } else {
                output::out(format!("redriven: {count}"));
            }
        }
        Action::Forget { key } => {
            let forgotten = inbox.forget(&key).await.map_err(failed)?;
            if json {
                output::out(json!({ "forgotten": forgotten }));
            } else if forgotten {
                output::out(format!(
                    "forgotten: {} (a delivery sent again with it is stored again)",
                    printable(&key)
                ));
            } else {
                output::out(format!("unknown key: {}", printable(&key)));
            }
            if !forgotten {
                return Ok(ExitCode::from(1));
            }
        }
        Action::Backup { to } => return backup(&store, to, json).await,
        Action::Serve { listen, read_only } => return serve(&store, listen, read_only).await,
        Action::Redeliver { id, callback, api } => {
            return redeliver(&inbox, &id, callback, api, json).await;
        }
        Action::Purge {
            dead,
            completed,
            older_than,
        } => {
            let state = match (dead, completed) {
                (true, false) => State::Dead,
                (false, true) => State::Completed,
                _ => return Err(Failure::usage("purge takes --dead or --completed")),
            };
            let older_than = match older_than {
                Some(text) => parse_duration(&text).ok_or_else(|| {
                    Failure::usage(format!(
                        "--older-than {} is not a duration like 30s, 15m, 12h or 7d",
                        printable(&text)
                    ))
                })?,
                None => Duration::ZERO,
            };
            let purged = inbox.purge(state, older_than).await.map_err(failed)?;
            if json {
                output::out(json!({ "purged": purged }));
            } else {
                output::out(format!("purged: {purged}"));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `redeliver ID`: forgets the delivery's key, then asks Meeting BaaS to deliver its bot again.
async fn redeliver(
    inbox: &Inbox,
    id: &str,
    callback: bool,
    api: crate::commands::api::Connection,
    json: bool,
) -> Result<ExitCode, Failure> {
    use crate::commands::api::{self, Request};
    let shown = inbox
        .show(id)
        .await
        .map_err(|err| Failure::runtime(printable(&err.to_string())))?;
    let Some(bot_id) = shown.summary.bot_id.clone() else {
        return Err(Failure::runtime(format!(
            "delivery {} names no bot: there is nothing to ask Meeting BaaS for",
            printable(id)
        )));
    };
    // Checked before anything is written: a bot id the API would refuse forgets nothing.
    meetingbaas_webhooks_api::BotId::new(&bot_id)
        .map_err(|err| Failure::runtime(printable(&err.to_string())))?;
    let request = if callback {
        Request::RetryCallback {
            bot_id,
            url: None,
            secret: None,
            method: None,
        }
    } else {
        Request::Resend { bot_id }
    };
    // The key first: a copy that arrives before this command has printed must be stored.
    let key = shown.summary.key;
    let forgotten = inbox
        .forget(&key)
        .await
        .map_err(|err| Failure::runtime(printable(&err.to_string())))?;
    let before = if forgotten {
        format!("forgot key {}", printable(&key))
    } else {
        format!("key {} was forgotten already", printable(&key))
    };
    let outcome = api::send(request, api).await;
    if !json {
        output::out(before);
    }
    let outcome = outcome?;
    if json {
        // One object: what the inbox did, and the API's answer (or its error).
        let answer = match &outcome {
            Ok((value, _)) => value.clone(),
            Err(err) => api::error_json(err),
        };
        output::out(
            json!({ "id": id, "key": printable(&key), "forgotten": forgotten, "api": answer }),
        );
        return match outcome {
            Ok(_) => Ok(ExitCode::SUCCESS),
            Err(err) => Err(api::failure(&err)),
        };
    }
    api::print(outcome, false)
}

/// `backup --to FILE`: a SQLite inbox copied through the online backup API, beside a running
/// service, read-only on the inbox itself.
async fn backup(store: &str, to: std::path::PathBuf, json: bool) -> Result<ExitCode, Failure> {
    let Some(path) = store.trim().strip_prefix("sqlite://") else {
        return Err(Failure::usage(
            "backup is for sqlite:// inboxes; back a Redis inbox up with Redis itself (its \
             append-only file, or BGSAVE and a copy of the dump)",
        ));
    };
    let path = path.to_owned();
    let report = tokio::task::spawn_blocking(move || {
        meetingbaas_webhooks_inbox::SqliteReader::open(&path)?.backup_to(&to)
    })
    .await
    .map_err(|err| Failure::runtime(err.to_string()))?
    .map_err(|err| Failure::runtime(printable(&err.to_string())))?;
    let shown = printable(&report.path.display().to_string());
    if json {
        output::out(json!({ "backup": shown, "pages": report.pages, "bytes": report.bytes }));
    } else {
        output::out(format!(
            "backed up to {shown}: {} pages, {} bytes, quick_check ok",
            report.pages, report.bytes
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// The kind name the store records for `--kind NAME`: a kind name (`bot_completed`) or any of
/// its wire names (`bot.completed`, `complete`...), as `list` prints them. Anything else is a
/// usage error listing the names there are, rather than a filter that matches nothing.
fn stored_kind(name: &str) -> Result<String, Failure> {
    if let Some(kind) = EventKind::from_name(name.trim()) {
        return Ok(kind.as_str().to_owned());
    }
    // One line (errors are printed on one): kinds apart with `;`, each kind's names with `,`.
    let valid: Vec<String> = EventKind::ALL
        .iter()
        .map(|kind| kind.names().collect::<Vec<_>>().join(", "))
        .collect();
    Err(Failure::usage(format!(
        "--kind {} is not an event kind; one of: {}",
        printable(name),
        valid.join("; ")
    )))
}

fn print_stats(stats: &Stats, json: bool) {
    if json {
        output::out(serde_json::to_string(stats).unwrap_or_default());
        return;
    }
    output::out(format!("queued     {}", stats.queued));
    output::out(format!("running    {}", stats.running));
    output::out(format!("retrying   {}", stats.retrying));
    output::out(format!("completed  {}", stats.completed));
    if stats.stale > 0 {
        output::out(format!(
            "  stale    {} (statuses older than one of their bot already handled)",
            stats.stale
        ));
    }
    output::out(format!("dead       {}", stats.dead));
    output::out(format!(
        "oldest pending: {}",
        stats
            .oldest_pending_age_secs
            .map_or_else(|| "none".to_string(), |secs| format!("{secs}s ago"))
    ));
}

fn list_line(summary: &Summary) -> String {
    let mut line = format!(
        "{}  {:<9}  {:<28}  attempts {}  received {}",
        printable(&summary.id),
        if summary.stale {
            "stale"
        } else {
            summary.state.as_str()
        },
        printable(summary.event.as_deref().unwrap_or("(not an event)")),
        summary.attempts,
        age(summary.received_ms),
    );
    if let Some(reason) = &summary.dead_reason {
        let _ = write!(line, "  reason: {}", printable(reason));
    }
    line
}

fn print_delivery(shown: &StoredDelivery) {
    let summary = &shown.summary;
    output::out(format!("id:         {}", printable(&summary.id)));
    if summary.stale {
        output::out(format!(
            "state:      {} (stale: older than a delivery of its bot already handled)",
            summary.state
        ));
    } else {
        output::out(format!("state:      {}", summary.state));
    }
    output::out(format!(
        "key:        {}{}",
        printable(&summary.key),
        if summary.forgotten {
            " (forgotten)"
        } else {
            ""
        }
    ));
    output::out(format!(
        "event:      {} ({})",
        printable(summary.event.as_deref().unwrap_or("(not an event)")),
        printable(summary.kind.as_deref().unwrap_or("no kind"))
    ));
    output::out(format!("scheme:     {}", printable(&summary.scheme)));
    if let Some(id) = &summary.message_id {
        output::out(format!("message id: {}", printable(id)));
    }
    output::out(format!("received:   {}", age(summary.received_ms)));
    let runs = summary.runs.max(1);
    if let Some(reason) = &summary.dead_reason {
        let run = if runs > 1 {
            format!(" (in run {runs})")
        } else {
            String::new()
        };
        output::out(format!("dead:       {}{run}", printable(reason)));
    }
    if runs > 1 {
        // Each redrive starts a run whose attempts count from 1 again: say how many each had.
        let per_run: Vec<String> = (1..=runs)
            .map(|run| {
                let count = shown.attempts.iter().filter(|a| a.run == run).count();
                format!("run {run}: {count}")
            })
            .collect();
        output::out(format!(
            "attempts:   {} in {runs} runs ({})",
            shown.attempts.len(),
            per_run.join(", ")
        ));
    } else {
        output::out(format!("attempts:   {}", shown.attempts.len()));
    }
    for attempt in &shown.attempts {
        let run = if runs > 1 {
            format!("run {} ", attempt.run)
        } else {
            String::new()
        };
        output::out(format!(
            "  {run}#{} {} for {} ms: {}",
            attempt.number,
            age(attempt.started_ms),
            attempt.duration_ms,
            attempt
                .error
                .as_deref()
                .map_or_else(|| "ok".to_string(), printable)
        ));
    }
    if shown.body_dropped {
        output::out("body:       dropped after completion (keep_bodies)");
        return;
    }
    match std::str::from_utf8(&shown.body) {
        Ok(text) => {
            output::out(format!("body ({} bytes):", shown.body.len()));
            output::out(printable(text));
        }
        Err(_) => {
            // Not text: shown byte for byte as base64 rather than with replacement characters.
            use base64::Engine as _;
            output::out(format!(
                "body ({} bytes, not UTF-8; base64):",
                shown.body.len()
            ));
            output::out(base64::engine::general_purpose::STANDARD.encode(&shown.body));
        }
    }
}

/// How long ago `ms` (Unix milliseconds) was, roughly.
fn age(ms: i64) -> String {
    let secs = (now_ms() - ms).max(0) / 1000;
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86_400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

/// `text` safe for a terminal: control characters (escape sequences, carriage returns, ...) and
/// bidirectional overrides as `\u{..}`; everything else as it is.
pub(crate) fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}');
        if c.is_control() || bidi {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// `30s`, `15m`, `12h`, `7d` (or plain seconds).
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: u64 = number.parse().ok()?;
    let secs = match unit {
        "s" => number,
        "m" => number.checked_mul(60)?,
        "h" => number.checked_mul(3600)?,
        "d" => number.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// 32 random bytes as hex, from the system's randomness (`None` where there is none).
fn random_token() -> Option<String> {
    use std::io::Read as _;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// `inbox serve`: the admin page of the store, on `listen`, until a signal.
async fn serve(
    store: &str,
    listen: std::net::SocketAddr,
    read_only: bool,
) -> Result<ExitCode, Failure> {
    use meetingbaas_webhooks_admin::{Admin, Guard};
    let token = std::env::var("MEETINGBAAS_ADMIN_TOKEN")
        .ok()
        .map(|token| token.trim().to_string())
        .filter(|token| !token.is_empty());
    let mut generated = None;
    let guard = match token {
        Some(token) if token.chars().count() < 16 => {
            return Err(Failure::usage(
                "MEETINGBAAS_ADMIN_TOKEN is shorter than 16 characters: give a long random token",
            ));
        }
        Some(token) => Guard::token(token),
        None if listen.ip().is_loopback() => {
            // Never unguarded: another local user, or a web page rebinding its name to
            // 127.0.0.1, could reach it. A token for this run only, printed below.
            let token = random_token().ok_or_else(|| {
                Failure::usage("set MEETINGBAAS_ADMIN_TOKEN (no randomness for a token here)")
            })?;
            generated = Some(token.clone());
            Guard::token(token)
        }
        None => {
            return Err(Failure::usage(format!(
                "set MEETINGBAAS_ADMIN_TOKEN to serve on {listen}: without a token the admin \
                 serves loopback addresses only"
            )));
        }
    };
    let opened = if read_only {
        Inbox::open_read_only(store).await
    } else {
        Inbox::open(store).await
    };
    let inbox = opened.map_err(|err| Failure::runtime(printable(&err.to_string())))?;
    let admin = Admin::new(inbox, guard).read_only(read_only);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|err| Failure::runtime(format!("cannot listen on {listen}: {err}")))?;
    let address = listener
        .local_addr()
        .map_err(|err| Failure::runtime(err.to_string()))?;
    let shutdown = meetingbaas_webhooks_server::Shutdown::on_signals(Duration::ZERO)
        .map_err(|err| Failure::runtime(format!("cannot install the signal handlers: {err}")))?;
    output::out(format!("inbox admin on http://{address}/ (Ctrl-C stops)"));
    if let Some(token) = generated {
        output::out(format!(
            "sign in with the token {token} (made for this run; set MEETINGBAAS_ADMIN_TOKEN to choose one)"
        ));
    }
    meetingbaas_webhooks_server::serve(
        listener,
        admin,
        &meetingbaas_webhooks_server::Limits::default(),
        None,
        &shutdown,
    )
    .await;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_bidi_overrides_are_escaped() {
        assert_eq!(printable("a\u{1b}[31mb\r\n"), "a\\u{1b}[31mb\\u{d}\\u{a}");
        assert_eq!(printable("x\u{202E}y"), "x\\u{202e}y");
        assert_eq!(printable("plain é"), "plain é");
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("5y"), None);
    }
}
