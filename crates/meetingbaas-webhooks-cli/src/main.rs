//! `meetingbaas-webhooks`: see Meeting BaaS webhook deliveries work before Meeting BaaS ever calls
//! you, and test your own endpoint locally.
//!
//! - `demo`: no setup; runs a verifying receiver and sends it every sample event under every
//!   scheme, plus forged, tampered, stale, replayed and oversized deliveries; exits 0 only if every
//!   outcome was the expected one.
//! - `listen`: a local verifying receiver, one line per delivery, optionally forwarding.
//! - `trigger EVENT --url URL`: sends a correctly signed sample event.
//! - `sign` / `verify`: the headers for a body on stdin, and the check of a body plus headers.
//! - `resend`, `retry-callback`, `retry-webhook`, `webhook-url`, `endpoints`: Meeting BaaS's own
//!   API, to have a delivery sent again and to read or set where deliveries go.
//! - `parse [FILE|-]`: the typed event a handler would receive, as JSON.
//! - `inbox --store URL stats|list|show|redrive|forget|purge|backup`: look into a durable inbox and
//!   reprocess from it.
//!
//! Exit status: 0 success, 1 failure (for `verify`: not verified), 2 usage error; the API
//! commands add 3 (bot not found), 4 (409 conflict) and 5 (rate limited).
#![forbid(unsafe_code)]

mod client;
mod commands;
mod credentials;
mod failure;
mod input;
mod output;
mod receiver;
mod samples;
mod tls;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use meetingbaas_webhooks::Scheme;

use crate::failure::Failure;

/// The top-level `--help` epilogue: a first session, and where secrets come from.
const MAIN_EXAMPLES: &str = "\
Examples:
  meetingbaas-webhooks demo
  export MEETINGBAAS_SVIX_SECRET=whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD
  meetingbaas-webhooks listen --port 4000 &
  meetingbaas-webhooks trigger bot.completed --url http://127.0.0.1:4000/webhooks/meetingbaas

Secrets come from --secret or from the environment variables the examples read:
  MEETINGBAAS_SVIX_SECRET (svix), MEETINGBAAS_WEBHOOK_SECRET (signature),
  MEETINGBAAS_CALLBACK_SECRET (callback), MEETINGBAAS_API_KEY (api-key),
  MEETINGBAAS_ALERT_SECRET (alert);
  MEETINGBAAS_MAX_BODY_BYTES sets the body limit of `listen` and `verify`.
The API commands (resend, retry-callback, retry-webhook, webhook-url, endpoints) read
  MEETINGBAAS_API_KEY and MEETINGBAAS_API_URL.
Exit status: 0 success, 1 failure (`verify`: not verified), 2 usage error; the API commands
  also exit 3 (bot not found), 4 (409: bot not finished, or no callback) and 5 (rate limited).";

/// Try Meeting BaaS webhooks locally: a self-checking demo, a verifying receiver, signed sample
/// deliveries, and signing and verification of any body.
#[derive(Parser)]
#[command(name = "meetingbaas-webhooks", version, after_help = MAIN_EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a verifying receiver and send it every kind of delivery, good and bad (no setup).
    #[command(after_help = "\
Example:
  meetingbaas-webhooks demo

Starts a receiver on 127.0.0.1 (a free port) with a secret generated for each scheme, sends it
every sample event under every scheme, then forged, tampered, stale, replayed and oversized
deliveries, and prints one line per delivery. Exits 0 only if every outcome is the expected one.")]
    Demo,
    /// Run a local verifying receiver: one line per delivery.
    #[command(after_help = "\
Examples:
  MEETINGBAAS_SVIX_SECRET=whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD meetingbaas-webhooks listen --port 4000
  meetingbaas-webhooks listen --port 4000 --forward-to http://127.0.0.1:3000/webhooks/meetingbaas
  meetingbaas-webhooks listen --config endpoint.json --tls-cert cert.pem --tls-key key.pem

Accepts POST and PUT on any path (with --config: on `webhook_url`'s path only). The first line on stdout
is `listening on http://127.0.0.1:PORT` (`https://` with --tls-cert and --tls-key).
Answers 200 to a verified delivery, and the core's status and JSON error otherwise. With
--forward-to, a verified delivery is sent on (headers and body unchanged) and its answer is
relayed. Stop with Ctrl-C.")]
    Listen(ListenArgs),
    /// Send a correctly signed sample event to a receiver.
    #[command(after_help = trigger_help())]
    Trigger(TriggerArgs),
    /// Print the headers a sender adds to the body on stdin, one `Name: value` per line.
    #[command(after_help = "\
Examples:
  printf '%s' '{\"event\":\"bot.failed\",\"data\":{\"bot_id\":\"b-1\"}}' | meetingbaas-webhooks sign --secret whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD
  meetingbaas-webhooks sign --scheme signature < body.json

The body is taken byte for byte: `echo` adds a newline that becomes part of what is signed.
For the callback and api-key schemes the header carries the secret itself, so it is printed.")]
    Sign(SignArgs),
    /// Check a body on stdin against headers: exit 0 if verified, 1 (with the reason) if not.
    #[command(after_help = "\
Example:
  meetingbaas-webhooks verify --scheme svix \\
      -H 'svix-id: msg_27UH4WbU6Z5A5EzD8u03UvzRbpk' -H 'svix-timestamp: 1649367553' \\
      -H 'svix-signature: v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=' \\
      --secret whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD --now 1649367553 < body.json

Exit status: 0 verified (a summary of the event follows), 1 not verified (the reason follows),
2 usage error.")]
    Verify(VerifyArgs),
    /// Print the typed event a handler would receive for a body, as JSON (no verification).
    #[command(after_help = "\
Examples:
  meetingbaas-webhooks parse body.json
  printf '%s' '{\"event\":\"bot.failed\",\"data\":{\"bot_id\":\"b-1\"}}' | meetingbaas-webhooks parse

Prints the normalized form of the event (what `Event` serializes to): its wire name, kind,
generation, typed fields under their canonical names plus unknown fields, `extra`, and the
fields that did not fit their type (`issues`). Exit status: 0 parsed, 1 not a webhook body
(not JSON, or not an envelope or alert), 2 usage error.")]
    Parse(ParseArgs),
    /// Ask Meeting BaaS to deliver a bot's final v2 webhook again (POST /v2/bots/BOT_ID/resend-webhook).
    #[command(after_help = api_help("\
Examples:
  export MEETINGBAAS_API_KEY=...
  meetingbaas-webhooks resend 123e4567-e89b-12d3-a456-426614174000
  meetingbaas-webhooks resend 123e4567-e89b-12d3-a456-426614174000 --json

The bot must be completed or failed (409 otherwise). A v2 resend may carry the same svix-id as
the first delivery: a receiver that deduplicates will answer it as a duplicate unless the key is
forgotten first (see docs/inbox.md, \"Reprocess a delivery\")."))]
    Resend(ResendArgs),
    /// Ask Meeting BaaS to call a bot's v2 callback again, optionally somewhere else.
    #[command(after_help = api_help("\
Examples:
  meetingbaas-webhooks retry-callback 123e4567-e89b-12d3-a456-426614174000
  meetingbaas-webhooks retry-callback 123e4567-e89b-12d3-a456-426614174000 \\
      --url https://example.com/callbacks --secret \"$CALLBACK_SECRET\" --method POST

POST /v2/bots/BOT_ID/retry-callback. --url, --secret and --method go together (all three or
none); without them the bot's configured callback is used (409 if it has none)."))]
    RetryCallback(RetryCallbackArgs),
    /// Ask Meeting BaaS to send a bot's v1 webhook again (POST /bots/retry_webhook).
    #[command(after_help = api_help("\
Examples:
  meetingbaas-webhooks retry-webhook 123e4567-e89b-12d3-a456-426614174000
  meetingbaas-webhooks retry-webhook 123e4567-e89b-12d3-a456-426614174000 --webhook-url https://example.com/hook

Without --webhook-url the account's v1 webhook URL is used."))]
    RetryWebhook(RetryWebhookArgs),
    /// Read or set the account's v1 webhook URL (GET/POST /accounts/webhook_url).
    #[command(after_help = api_help("\
Examples:
  meetingbaas-webhooks webhook-url
  meetingbaas-webhooks webhook-url set https://example.com/webhooks/meetingbaas

v2 webhook endpoints are configured in the Meeting BaaS dashboard only."))]
    WebhookUrl(WebhookUrlArgs),
    /// List the account's webhook endpoints (GET /bots/webhooks/bot).
    #[command(after_help = api_help("\
Example:
  meetingbaas-webhooks endpoints --json

Prints every endpoint URL in the answer, one per line (--json: the whole answer)."))]
    Endpoints(EndpointsArgs),
    /// Look into a durable inbox and reprocess from it: stats, list, show, redrive, forget, purge,
    /// backup.
    #[command(after_help = "\
Examples:
  meetingbaas-webhooks inbox --store sqlite://inbox.db stats
  meetingbaas-webhooks inbox --store redis://127.0.0.1:6379 list --dead --kind bot.completed
  meetingbaas-webhooks inbox --store sqlite://inbox.db show 42
  meetingbaas-webhooks inbox --store sqlite://inbox.db redrive --all --kind bot.completed
  meetingbaas-webhooks inbox --store sqlite://inbox.db forget svix:id:msg_2abc
  meetingbaas-webhooks inbox --store sqlite://inbox.db purge --dead --older-than 7d
  meetingbaas-webhooks inbox --store sqlite://inbox.db backup --to inbox-2026-12-07.db

--store defaults to MEETINGBAAS_INBOX. `forget KEY` lets a deliberate resend (same Svix id or
body) be stored and handled again. --json prints one JSON value. Anything printed from a stored
body is escaped (control characters as \\u{..}).")]
    Inbox(InboxArgs),
}

/// `inbox redeliver --help`: what happens, in order, and the exit statuses.
const REDELIVER_HELP: &str = "\
In order: the delivery is read from the inbox (its bot id and key), its key is forgotten (a copy
sent again is stored again; the stored delivery stays), then Meeting BaaS is asked to deliver
the bot's webhook again. If the API call fails the key stays forgotten: a copy that arrives later
is stored and handled again, which is what was asked for.
Use it when a bot.completed was handled after its links expired (4 hours after it was sent), or
to run a delivery from Meeting BaaS's copy rather than the inbox's (`redrive` runs the inbox's).

Exit status: as the API commands (`meetingbaas-webhooks resend --help`); 1 also when the
delivery is not in the inbox or names no bot.";

/// An API command's examples followed by the exit statuses they share.
fn api_help(examples: &str) -> String {
    format!("{examples}\n\n{}", commands::api::EXIT_STATUS_HELP)
}

/// How to reach Meeting BaaS's API: flags shared by every API command.
#[derive(Args)]
struct ApiConnection {
    #[command(flatten)]
    reach: ApiReach,
    /// Print one JSON object (also on failure) instead of a readable line.
    #[arg(long)]
    json: bool,
}

/// Where the API is and how to call it (`inbox redeliver` takes `--json` from `inbox`).
#[derive(Args)]
struct ApiReach {
    /// The API's base URL (default: MEETINGBAAS_API_URL, else https://api.meetingbaas.com).
    /// Plain http:// is accepted for loopback addresses only.
    #[arg(long, value_name = "URL")]
    api_url: Option<String>,
    /// The API key (default: MEETINGBAAS_API_KEY). Prefer the variable: other local users can
    /// read command lines.
    #[arg(long, value_name = "KEY", allow_hyphen_values = true)]
    api_key: Option<String>,
    /// Seconds each try may take (connect, answer, body).
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=300))]
    timeout: u64,
    /// Retries after 429 or 5xx (the wait the API asks for is honoured, up to 30 s).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=10))]
    retries: u32,
    /// Also trust this root certificate (PEM file): a TLS-inspecting proxy, a test server.
    #[arg(long, value_name = "PEM_FILE")]
    ca_cert: Option<PathBuf>,
}

impl ApiConnection {
    fn into_connection(self) -> commands::api::Connection {
        self.reach.into_connection(self.json)
    }
}

impl ApiReach {
    fn into_connection(self, json: bool) -> commands::api::Connection {
        commands::api::Connection {
            api_url: self.api_url,
            api_key: self.api_key,
            json,
            timeout: Duration::from_secs(self.timeout),
            retries: self.retries,
            ca_cert: self.ca_cert,
        }
    }
}

#[derive(Args)]
struct ResendArgs {
    /// The bot's id (a UUID).
    #[arg(value_name = "BOT_ID")]
    bot_id: String,
    #[command(flatten)]
    api: ApiConnection,
}

#[derive(Args)]
struct RetryCallbackArgs {
    /// The bot's id (a UUID).
    #[arg(value_name = "BOT_ID")]
    bot_id: String,
    /// Call this URL instead of the bot's configured callback (needs --secret and --method).
    #[arg(long, value_name = "URL", requires_all = ["secret", "method"])]
    url: Option<String>,
    /// The secret Meeting BaaS sends in x-mb-secret to --url (needs --url and --method).
    #[arg(long, value_name = "SECRET", requires_all = ["url", "method"], allow_hyphen_values = true)]
    secret: Option<String>,
    /// POST or PUT (needs --url and --secret).
    #[arg(long, value_name = "METHOD", requires_all = ["url", "secret"])]
    method: Option<String>,
    #[command(flatten)]
    api: ApiConnection,
}

#[derive(Args)]
struct RetryWebhookArgs {
    /// The bot's id (a UUID).
    #[arg(value_name = "BOT_UUID")]
    bot_uuid: String,
    /// Send to this URL instead of the account's v1 webhook URL.
    #[arg(long, value_name = "URL")]
    webhook_url: Option<String>,
    #[command(flatten)]
    api: ApiConnection,
}

#[derive(Args)]
struct WebhookUrlArgs {
    /// `get` (the default) prints the URL; `set URL` sets it.
    #[arg(value_name = "ACTION", value_parser = ["get", "set"])]
    action: Option<String>,
    /// The new URL, for `set` (http:// or https://).
    #[arg(value_name = "URL")]
    url: Option<String>,
    #[command(flatten)]
    api: ApiConnection,
}

#[derive(Args)]
struct EndpointsArgs {
    #[command(flatten)]
    api: ApiConnection,
}

#[derive(Args)]
struct ParseArgs {
    /// The body: a file, or `-` (the default) for stdin.
    #[arg(value_name = "FILE", default_value = "-")]
    file: String,
}

/// `inbox`: the store and the action.
#[derive(Args)]
struct InboxArgs {
    /// The inbox: sqlite://PATH, redis://HOST:PORT or postgres://USER:PASS@HOST:PORT/DB (default: MEETINGBAAS_INBOX).
    #[arg(long, value_name = "URL", global = true)]
    store: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    action: InboxAction,
}

#[derive(Subcommand)]
enum InboxAction {
    /// Counts per state (queued, running, retrying, completed, dead) and the oldest pending age.
    Stats,
    /// Deliveries, newest first.
    List {
        /// Only dead letters.
        #[arg(long)]
        dead: bool,
        /// Only this kind (bot.completed, bot.failed, ... or a kind name: bot_completed).
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// One delivery: its body and every attempt (error, time, duration).
    Show {
        /// The delivery's id.
        id: String,
    },
    /// Run a delivery again, or every dead letter (of a kind) with --all.
    Redrive {
        /// The delivery's id.
        #[arg(conflicts_with = "all", required_unless_present = "all")]
        id: Option<String>,
        /// Every dead letter.
        #[arg(long)]
        all: bool,
        /// With --all: only this kind.
        #[arg(long, value_name = "KIND", requires = "all")]
        kind: Option<String>,
    },
    /// Forget an idempotency key, so that a delivery sent again with it is stored again.
    Forget {
        /// The key, as `show` prints it (`svix:id:msg_...`, or `callback:sha256:...` for the schemes
        /// without a message id).
        key: String,
    },
    /// Ask Meeting BaaS to deliver a stored delivery's bot again (fresh presigned links where
    /// the API rebuilds the payload), after forgetting the delivery's idempotency key so that
    /// the new copy is stored and handled, not answered as a duplicate.
    #[command(after_help = REDELIVER_HELP)]
    Redeliver {
        /// The stored delivery's id (its bot is asked for; `list` and `show` print ids).
        id: String,
        /// The API call: `resend` (POST /v2/bots/{id}/resend-webhook: the v2 webhook) or
        /// `retry-callback` (POST /v2/bots/{id}/retry-callback: the bot's callback).
        #[arg(long, value_name = "CALL", default_value = "resend", value_parser = ["resend", "retry-callback"])]
        via: String,
        #[command(flatten)]
        api: ApiReach,
    },
    /// Delete dead letters (or completed deliveries) for good.
    Purge {
        /// Dead letters.
        #[arg(
            long,
            required_unless_present = "completed",
            conflicts_with = "completed"
        )]
        dead: bool,
        /// Completed deliveries.
        #[arg(long)]
        completed: bool,
        /// Only those that ended longer ago than this (30s, 15m, 12h, 7d).
        #[arg(long, value_name = "DURATION")]
        older_than: Option<String>,
    },
    /// Serve the inbox's admin page (and its JSON API) until Ctrl-C or SIGTERM. Behind the token
    /// in MEETINGBAAS_ADMIN_TOKEN (`Authorization: Bearer TOKEN`, or the page's sign-in form);
    /// without one it serves loopback addresses only, behind a token made for the run and
    /// printed.
    Serve {
        /// Where to listen.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Show only: every action is refused.
        #[arg(long)]
        read_only: bool,
    },
    /// Copy a SQLite inbox to a new file while the service runs (SQLite's online backup API).
    /// To restore: stop the service, replace its file with the copy, and remove the `-wal` and
    /// `-shm` files beside it.
    Backup {
        /// The new file (must not exist).
        #[arg(long, value_name = "FILE")]
        to: std::path::PathBuf,
    },
}

/// The scheme and secret of `listen` and `verify`: one scheme from flags, or every scheme whose
/// environment variable is set.
#[derive(Args)]
struct AnySchemes {
    /// Accept only this scheme (default: every scheme whose environment variable is set).
    #[arg(long, value_name = "SCHEME", value_parser = credentials::scheme_parser())]
    scheme: Option<Scheme>,
    /// The secret of --scheme (default: that scheme's environment variable). Prefer the variable:
    /// other local users can read command lines.
    #[arg(
        long,
        value_name = "SECRET",
        requires = "scheme",
        allow_hyphen_values = true
    )]
    secret: Option<String>,
}

/// The scheme and secret of `trigger` and `sign`: exactly one scheme.
#[derive(Args)]
struct OneScheme {
    /// The scheme to sign with.
    #[arg(long, value_name = "SCHEME", default_value = "svix", value_parser = credentials::scheme_parser())]
    scheme: Scheme,
    /// The secret of --scheme (default: that scheme's environment variable). Prefer the variable:
    /// other local users can read command lines.
    #[arg(long, value_name = "SECRET", allow_hyphen_values = true)]
    secret: Option<String>,
}

#[derive(Args)]
struct ListenArgs {
    /// The port to listen on, on 127.0.0.1 (0: any free port).
    #[arg(long, short, default_value_t = 3000)]
    port: u16,
    #[command(flatten)]
    schemes: AnySchemes,
    /// Print one JSON object per delivery instead of a readable line.
    #[arg(long)]
    json: bool,
    /// Send every verified delivery on to this http:// or https:// URL and relay its answer.
    #[arg(long, value_name = "URL")]
    forward_to: Option<String>,
    /// The endpoint JSON of the product description: `webhook_url`'s path is the only path
    /// served, `events` the events handled (others answered `ignored`), `secret` and the other
    /// schemes' secrets, `enabled`, `max_body_bytes`. MEETINGBAAS_* variables override it.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["scheme", "secret"])]
    config: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM file; with --tls-key).
    #[arg(long, value_name = "PEM_FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM file).
    #[arg(long, value_name = "PEM_FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

#[derive(Args)]
struct TriggerArgs {
    /// The wire name of the event to send (see the list below).
    #[arg(
        value_name = "EVENT",
        required_unless_present_any = ["all", "data"],
        conflicts_with_all = ["all", "data"]
    )]
    event: Option<String>,
    /// The receiver's URL (http:// or https://).
    #[arg(long, value_name = "URL")]
    url: String,
    /// Send one sample of every event.
    #[arg(long, conflicts_with = "data")]
    all: bool,
    /// Send this body instead of a sample, byte for byte: a file, or `-` for stdin.
    #[arg(long, value_name = "FILE|-")]
    data: Option<PathBuf>,
    /// Put this bot id in the samples instead of the built-in one.
    #[arg(long, value_name = "BOT_ID", conflicts_with = "data")]
    bot_id: Option<String>,
    #[command(flatten)]
    scheme: OneScheme,
    /// Seconds to wait for each answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    timeout: u64,
}

#[derive(Args)]
struct SignArgs {
    #[command(flatten)]
    scheme: OneScheme,
    /// The Svix message id (default: a fresh one).
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// The Svix timestamp, Unix seconds (default: now).
    #[arg(long, value_name = "UNIX_SECONDS", value_parser = clap::value_parser!(i64).range(0..))]
    timestamp: Option<i64>,
}

#[derive(Args)]
struct VerifyArgs {
    /// A request header, `Name: value`; repeat for each header.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    headers: Vec<String>,
    #[command(flatten)]
    schemes: AnySchemes,
    /// How far a Svix timestamp may be from now, in seconds (default: 300).
    #[arg(long, value_name = "SECONDS")]
    tolerance: Option<u64>,
    /// Check the timestamp against this time (Unix seconds) instead of now, to verify a
    /// recorded delivery.
    #[arg(long, value_name = "UNIX_SECONDS", value_parser = clap::value_parser!(i64).range(0..))]
    now: Option<i64>,
}

fn trigger_help() -> String {
    format!(
        "\
Examples:
  meetingbaas-webhooks trigger bot.completed --url http://127.0.0.1:3000/webhooks/meetingbaas
  meetingbaas-webhooks trigger --all --scheme callback --url http://127.0.0.1:3000/webhooks/meetingbaas
  meetingbaas-webhooks trigger bot.completed --bot-id 9f0c1d2e-0000-4000-8000-000000000001 --url https://my-app.example/webhooks
  meetingbaas-webhooks trigger --data recorded.json --scheme signature --url http://127.0.0.1:3000/webhooks/meetingbaas
  printf '%s' '{{\"event\":\"bot.failed\",\"data\":{{}}}}' | meetingbaas-webhooks trigger --data - --url http://127.0.0.1:3000/hook

Events: {}.
--data sends any body (taken byte for byte, signed under --scheme); --bot-id rewrites the samples'
bot id. Redirects are not followed.
An https:// receiver with a self-made certificate: set MEETINGBAAS_CA_CERT to its CA (PEM file).
The secret comes from --secret or the scheme's variable (MEETINGBAAS_SVIX_SECRET for svix).
Prints each answer's status and body; exits 0 if every answer was 2xx, 1 otherwise.",
        samples::wire_names().join(", ")
    )
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return command_line_error(&err),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            output::err(format!("error: cannot start the runtime: {err}"));
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(run(cli));
    // Do not wait for connections still open (a receiver's): the command is done.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(failure) => {
            output::err(format!("error: {failure}"));
            failure.exit_code()
        }
    }
}

/// Help and version as clap prints them; any other command-line error on one line, exit 2.
fn command_line_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let code = ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return code;
    }
    // clap's message is several lines (details, usage, a tip): keep the first paragraph.
    let rendered = err.render().to_string();
    let first = rendered.split("\n\n").next().unwrap_or_default();
    let line = first.split_whitespace().collect::<Vec<_>>().join(" ");
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    output::err(format!("error: {line} (see --help)"));
    code
}

async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Demo => commands::demo::run().await,
        Command::Listen(args) => {
            commands::listen::run(commands::listen::Options {
                port: args.port,
                scheme: args.schemes.scheme,
                secret: args.schemes.secret,
                json: args.json,
                forward_to: args.forward_to,
                config: args.config,
                tls: args.tls_cert.zip(args.tls_key),
            })
            .await
        }
        Command::Trigger(args) => {
            commands::trigger::run(commands::trigger::Options {
                event: args.event,
                all: args.all,
                data: args.data,
                bot_id: args.bot_id,
                url: args.url,
                scheme: args.scheme.scheme,
                secret: args.scheme.secret,
                timeout: std::time::Duration::from_secs(args.timeout),
            })
            .await
        }
        Command::Sign(args) => commands::sign::run(commands::sign::Options {
            scheme: args.scheme.scheme,
            secret: args.scheme.secret,
            id: args.id,
            timestamp: args.timestamp,
        }),
        Command::Parse(args) => commands::parse::run(&args.file),
        Command::Inbox(args) => {
            use commands::inbox::Action;
            let action = match args.action {
                InboxAction::Stats => Action::Stats,
                InboxAction::List { dead, kind, limit } => Action::List { dead, kind, limit },
                InboxAction::Show { id } => Action::Show { id },
                InboxAction::Redrive { id, all, kind } => Action::Redrive { id, all, kind },
                InboxAction::Forget { key } => Action::Forget { key },
                InboxAction::Purge {
                    dead,
                    completed,
                    older_than,
                } => Action::Purge {
                    dead,
                    completed,
                    older_than,
                },
                InboxAction::Backup { to } => Action::Backup { to },
                InboxAction::Serve { listen, read_only } => Action::Serve { listen, read_only },
                InboxAction::Redeliver { id, via, api } => Action::Redeliver {
                    id,
                    callback: via == "retry-callback",
                    api: api.into_connection(args.json),
                },
            };
            commands::inbox::run(commands::inbox::Options {
                store: args.store,
                json: args.json,
                action,
            })
            .await
        }
        Command::Verify(args) => commands::verify::run(commands::verify::Options {
            headers: args.headers,
            scheme: args.schemes.scheme,
            secret: args.schemes.secret,
            tolerance: args.tolerance,
            now: args.now,
        }),
        Command::Resend(args) => {
            let request = commands::api::Request::Resend {
                bot_id: args.bot_id,
            };
            commands::api::run(request, args.api.into_connection()).await
        }
        Command::RetryCallback(args) => {
            let request = commands::api::Request::RetryCallback {
                bot_id: args.bot_id,
                url: args.url,
                secret: args.secret,
                method: args.method,
            };
            commands::api::run(request, args.api.into_connection()).await
        }
        Command::RetryWebhook(args) => {
            let request = commands::api::Request::RetryWebhook {
                bot_uuid: args.bot_uuid,
                webhook_url: args.webhook_url,
            };
            commands::api::run(request, args.api.into_connection()).await
        }
        Command::WebhookUrl(args) => {
            let request = match (args.action.as_deref(), args.url) {
                (None | Some("get"), None) => commands::api::Request::GetWebhookUrl,
                (Some("set"), Some(url)) => commands::api::Request::SetWebhookUrl { url },
                (Some("set"), None) => {
                    return Err(Failure::usage("`webhook-url set` needs the new URL"));
                }
                _ => {
                    return Err(Failure::usage("`webhook-url` takes `get`, or `set URL`"));
                }
            };
            commands::api::run(request, args.api.into_connection()).await
        }
        Command::Endpoints(args) => {
            commands::api::run(
                commands::api::Request::Endpoints,
                args.api.into_connection(),
            )
            .await
        }
    }
}
