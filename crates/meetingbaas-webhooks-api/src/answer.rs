//! Meeting BaaS's successful answers, typed.

use serde_json::Value;

/// A successful re-delivery request: `{"success": true, "data": {"message": ...}}` for the v2
/// endpoints; whatever JSON (or nothing) v1 `retry_webhook` answers.
#[derive(Clone, Debug, PartialEq)]
pub struct Accepted {
    status: u16,
    message: Option<String>,
    raw: Value,
}

impl Accepted {
    pub(crate) fn from_answer(status: u16, body: &[u8]) -> Accepted {
        let raw = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(body).unwrap_or_else(|_| {
                Value::String(String::from_utf8_lossy(&body[..body.len().min(4096)]).into_owned())
            })
        };
        let message = raw
            .pointer("/data/message")
            .or_else(|| raw.get("message"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        Accepted {
            status,
            message,
            raw,
        }
    }

    /// The HTTP status (200 or another 2xx).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// `data.message` (or a top-level `message`), as sent.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The whole answer as JSON (`null` for an empty body; a non-JSON body as a string).
    pub fn raw(&self) -> &Value {
        &self.raw
    }
}

/// The v1 account webhook URL: `{"webhook_url": string | null}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct WebhookUrl {
    /// The URL v1 deliveries go to; `None` when none is set.
    pub webhook_url: Option<String>,
}

/// The answer of `GET /bots/webhooks/bot` ("list webhook endpoints"). Its shape is not
/// documented, so it is kept as JSON; [`WebhookEndpoints::urls`] collects every string that
/// looks like an endpoint URL.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookEndpoints {
    raw: Value,
}

impl WebhookEndpoints {
    pub(crate) fn new(raw: Value) -> WebhookEndpoints {
        WebhookEndpoints { raw }
    }

    /// The answer as sent.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Every `http://` or `https://` string in the answer, in document order, without repeats.
    pub fn urls(&self) -> Vec<&str> {
        let mut found = Vec::new();
        collect_urls(&self.raw, &mut found);
        let mut seen = std::collections::HashSet::new();
        found.retain(|url| seen.insert(*url));
        found
    }
}

fn collect_urls<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::String(s) if s.starts_with("https://") || s.starts_with("http://") => found.push(s),
        Value::Array(items) => items.iter().for_each(|item| collect_urls(item, found)),
        Value::Object(fields) => fields.values().for_each(|item| collect_urls(item, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_v2_message_is_read() {
        let accepted = Accepted::from_answer(
            200,
            br#"{"success":true,"data":{"message":"Webhook resent"}}"#,
        );
        assert_eq!(accepted.message(), Some("Webhook resent"));
        assert_eq!(Accepted::from_answer(200, b"").raw(), &Value::Null);
    }

    #[test]
    fn endpoint_urls_are_collected_once_each() {
        let endpoints = WebhookEndpoints::new(serde_json::json!({
            "webhooks": [{"url": "https://a.example/h"}, {"url": "https://a.example/h"}],
            "account": "http://b.example/", "name": "not a url"
        }));
        assert_eq!(endpoints.urls().len(), 2);
    }
}
