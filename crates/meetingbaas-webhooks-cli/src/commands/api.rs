//! The Meeting BaaS API commands: `resend`, `retry-callback`, `retry-webhook`, `webhook-url` and
//! `endpoints`, on the `meetingbaas-webhooks-api` client.
//!
//! Human output by default, one JSON object with `--json`. Exit status: 0 done, 1 failed
//! (network, timeout, refused key, 5xx, redirect, unexpected answer), 2 usage (bad bot id, bad
//! URL, no API key), 3 bot not found (404), 4 conflict (409: the bot is not completed or failed
//! yet, or has no callback configured), 5 rate limited (429, after the retries).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use meetingbaas_webhooks_api::{
    Accepted, BotId, CallbackMethod, CallbackTarget, Client, Error, RetryPolicy,
};
use serde_json::{Value, json};

use crate::failure::Failure;
use crate::output;

/// Exit status for 404.
pub(crate) const EXIT_NOT_FOUND: u8 = 3;
/// Exit status for 409.
pub(crate) const EXIT_CONFLICT: u8 = 4;
/// Exit status for 429.
pub(crate) const EXIT_RATE_LIMITED: u8 = 5;

/// The `--help` text on exit statuses, shared by every API command.
pub(crate) const EXIT_STATUS_HELP: &str = "\
Exit status: 0 done; 1 failed (network, timeout, API key refused, 5xx, redirect, unexpected
answer); 2 usage error (bad bot id or URL, no API key); 3 bot not found (404); 4 refused (409:
the bot is not completed or failed yet, or has no callback configured); 5 rate limited (429,
after the retries; the wait the API asked for is printed).
The API key comes from --api-key or MEETINGBAAS_API_KEY, the base URL from --api-url or
MEETINGBAAS_API_URL (default https://api.meetingbaas.com).";

/// How to reach the API: flags shared by every API command.
pub(crate) struct Connection {
    pub(crate) api_url: Option<String>,
    pub(crate) api_key: Option<String>,
    pub(crate) json: bool,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) ca_cert: Option<PathBuf>,
}

/// One API command.
pub(crate) enum Request {
    Resend {
        bot_id: String,
    },
    RetryCallback {
        bot_id: String,
        url: Option<String>,
        secret: Option<String>,
        method: Option<String>,
    },
    RetryWebhook {
        bot_uuid: String,
        webhook_url: Option<String>,
    },
    GetWebhookUrl,
    SetWebhookUrl {
        url: String,
    },
    Endpoints,
}

/// Checks the input (nothing is sent before it is valid), calls the API, prints the answer.
pub(crate) async fn run(request: Request, connection: Connection) -> Result<ExitCode, Failure> {
    let json = connection.json;
    let outcome = send(request, connection).await?;
    print(outcome, json)
}

/// Checks the input and calls the API: `Err` for input that cannot be sent (a bad bot id, no
/// key), `Ok` with what the API answered (the `--json` object and the human lines, or why it
/// failed).
pub(crate) async fn send(
    request: Request,
    connection: Connection,
) -> Result<Result<(Value, Vec<String>), Error>, Failure> {
    // Input first: a bad bot id is refused before the key is even looked for.
    let checked = Checked::from(request)?;
    let client = client(connection)?;
    Ok(checked.call(&client).await)
}

/// Prints what [`send`] answered, as JSON or lines, and maps a failure to its exit status.
pub(crate) fn print(
    outcome: Result<(Value, Vec<String>), Error>,
    json: bool,
) -> Result<ExitCode, Failure> {
    match outcome {
        Ok((value, lines)) => {
            if json {
                output::out(value.to_string());
            } else {
                lines.into_iter().for_each(output::out);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            if json {
                output::out(error_json(&err).to_string());
            }
            Err(failure(&err))
        }
    }
}

/// A request whose input was checked.
enum Checked {
    Resend(BotId),
    RetryCallback(BotId, Option<CallbackTarget>),
    RetryWebhook(BotId, Option<String>),
    GetWebhookUrl,
    SetWebhookUrl(String),
    Endpoints,
}

impl Checked {
    fn from(request: Request) -> Result<Checked, Failure> {
        let bot = |id: &str| BotId::new(id).map_err(|err| Failure::usage(err.to_string()));
        Ok(match request {
            Request::Resend { bot_id } => Checked::Resend(bot(&bot_id)?),
            Request::RetryCallback {
                bot_id,
                url,
                secret,
                method,
            } => {
                let bot = bot(&bot_id)?;
                let target = match (url, secret, method) {
                    (None, None, None) => None,
                    (Some(url), Some(secret), Some(method)) => {
                        let method: CallbackMethod = method.parse().map_err(usage)?;
                        Some(CallbackTarget::new(&url, secret, method).map_err(usage)?)
                    }
                    _ => {
                        return Err(Failure::usage(
                            "--url, --secret and --method go together: give all three or none",
                        ));
                    }
                };
                Checked::RetryCallback(bot, target)
            }
            Request::RetryWebhook {
                bot_uuid,
                webhook_url,
            } => Checked::RetryWebhook(bot(&bot_uuid)?, webhook_url),
            Request::GetWebhookUrl => Checked::GetWebhookUrl,
            Request::SetWebhookUrl { url } => Checked::SetWebhookUrl(url),
            Request::Endpoints => Checked::Endpoints,
        })
    }

    /// Calls the API; on success, the `--json` object and the human lines.
    async fn call(self, client: &Client) -> Result<(Value, Vec<String>), Error> {
        match self {
            Checked::Resend(bot) => {
                let accepted = client.resend_webhook(&bot).await?;
                Ok(accepted_output("resend-webhook", &bot, &accepted))
            }
            Checked::RetryCallback(bot, target) => {
                let accepted = client.retry_callback(&bot, target.as_ref()).await?;
                Ok(accepted_output("retry-callback", &bot, &accepted))
            }
            Checked::RetryWebhook(bot, url) => {
                let accepted = client.retry_webhook_v1(&bot, url.as_deref()).await?;
                Ok(accepted_output("retry_webhook", &bot, &accepted))
            }
            Checked::GetWebhookUrl => {
                let answer = client.webhook_url().await?;
                let line = format!(
                    "webhook_url: {}",
                    answer.webhook_url.as_deref().unwrap_or("(none set)")
                );
                Ok((
                    json!({"ok": true, "webhook_url": answer.webhook_url}),
                    vec![line],
                ))
            }
            Checked::SetWebhookUrl(url) => {
                let answer = client.set_webhook_url(&url).await?;
                let now = answer.webhook_url.as_deref().unwrap_or(&url);
                Ok((
                    json!({"ok": true, "webhook_url": answer.webhook_url}),
                    vec![format!("webhook_url set: {now}")],
                ))
            }
            Checked::Endpoints => {
                let endpoints = client.webhook_endpoints().await?;
                let urls = endpoints.urls();
                let lines = if urls.is_empty() {
                    vec![format!(
                        "no endpoint URL in the answer: {}",
                        shorten(&endpoints.raw().to_string(), 300)
                    )]
                } else {
                    urls.iter().map(|url| (*url).to_owned()).collect()
                };
                Ok((
                    json!({"ok": true, "urls": urls, "answer": endpoints.raw()}),
                    lines,
                ))
            }
        }
    }
}

fn usage(err: Error) -> Failure {
    Failure::usage(err.to_string())
}

/// The client, from flags and then the environment.
fn client(connection: Connection) -> Result<Client, Failure> {
    let mut builder = Client::builder()
        .timeout(connection.timeout)
        .retry(RetryPolicy::new(
            connection.retries,
            Duration::from_millis(500),
            Duration::from_secs(30),
        ))
        .user_agent(concat!(
            "meetingbaas-webhooks-cli/",
            env!("CARGO_PKG_VERSION")
        ));
    if let Some(key) = connection.api_key {
        builder = builder.api_key(key);
    }
    if let Some(url) = connection.api_url {
        builder = builder.base_url(url);
    }
    if let Some(path) = &connection.ca_cert {
        let pem = std::fs::read(path)
            .map_err(|err| Failure::usage(format!("--ca-cert {}: {err}", path.display())))?;
        builder = builder.add_root_certificate_pem(pem);
    }
    builder
        .env()
        .build()
        .map_err(|err| Failure::usage(err.to_string().replace("pass one", "pass --api-key")))
}

fn accepted_output(endpoint: &str, bot: &BotId, accepted: &Accepted) -> (Value, Vec<String>) {
    let line = format!(
        "{endpoint} {bot}: accepted ({}){}",
        accepted.status(),
        accepted
            .message()
            .map(|message| format!(": {}", shorten(message, 300)))
            .unwrap_or_default()
    );
    (
        json!({
            "ok": true,
            "bot_id": bot.as_str(),
            "status": accepted.status(),
            "message": accepted.message(),
            "answer": accepted.raw(),
        }),
        vec![line],
    )
}

/// The failure for an API error: its message and the documented exit status.
pub(crate) fn failure(err: &Error) -> Failure {
    let message = err.to_string();
    match err {
        Error::InvalidBotId(_) | Error::InvalidInput(_) | Error::Config(_) => {
            Failure::usage(message)
        }
        Error::BotNotFound(_) => Failure::Status(EXIT_NOT_FOUND, message),
        Error::Conflict(_) => Failure::Status(EXIT_CONFLICT, message),
        Error::RateLimited { .. } => Failure::Status(EXIT_RATE_LIMITED, message),
        _ => Failure::runtime(message),
    }
}

/// `{"ok": false, "error": code, "status", "message", "retry_after", "response": {...}}`.
pub(crate) fn error_json(err: &Error) -> Value {
    let response = err.response().map(|response| {
        json!({
            "success": response.success,
            "error": response.error,
            "code": response.code,
            "statusCode": response.status_code,
            "message": response.message,
            "details": response.details,
            "retryAfter": response.retry_after,
        })
    });
    json!({
        "ok": false,
        "error": err.code(),
        "status": err.status(),
        "message": err.to_string(),
        "retry_after": err.retry_after().map(|wait| wait.as_secs()),
        "response": response,
    })
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    text.chars().take(max).collect::<String>() + "..."
}
