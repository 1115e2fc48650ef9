//! The pages: the list with the counts, one delivery, the body as a download, the login form,
//! and the actions (a form posts, then is sent back to the page it came from).

use std::fmt::Write as _;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use meetingbaas_webhooks_inbox::{
    Error, EventKind, ListQuery, State, Stats, StoredDelivery, Summary, now_ms,
};

use crate::auth::COOKIE;
use crate::html::{self, escape, page, see_other, text};
use crate::{Inner, api, plain};

/// The most deliveries one page lists.
pub(crate) const MAX_LIMIT: usize = 10_000;

/// The list's filters, from the query string.
pub(crate) struct Filters {
    pub(crate) state: Option<State>,
    pub(crate) kind: Option<String>,
    pub(crate) bot_id: Option<String>,
    pub(crate) key: Option<String>,
    pub(crate) before: Option<String>,
    pub(crate) limit: usize,
    /// What an action did (`done=CODE&n=COUNT`), shown once above the list: a code, never
    /// text from the query (a link from elsewhere cannot put words in the page).
    pub(crate) notice: Option<(Notice, u64)>,
}

impl Filters {
    pub(crate) fn parse(query: &str) -> Filters {
        let mut filters = Filters {
            state: None,
            kind: None,
            bot_id: None,
            key: None,
            before: None,
            limit: 100,
            notice: None,
        };
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*name {
                "state" => filters.state = State::from_name(&value),
                "kind" => {
                    filters.kind = EventKind::ALL
                        .iter()
                        .find(|kind| kind.as_str() == value)
                        .map(|kind| kind.as_str().to_string());
                }
                "bot" => filters.bot_id = non_empty(&value, 256),
                "key" => filters.key = non_empty(&value, 512),
                "before" => {
                    filters.before = value.trim().parse::<u64>().ok().map(|id| id.to_string());
                }
                "limit" => {
                    if let Ok(limit) = value.parse::<usize>() {
                        filters.limit = limit.clamp(1, MAX_LIMIT);
                    }
                }
                "done" => filters.notice = Notice::from_code(&value).map(|n| (n, 0)),
                "n" => {
                    if let (Some((_, count)), Ok(n)) = (&mut filters.notice, value.parse()) {
                        *count = n;
                    }
                }
                _ => {}
            }
        }
        filters
    }

    pub(crate) fn query(&self) -> ListQuery {
        ListQuery {
            state: self.state,
            kind: self.kind.clone(),
            bot_id: self.bot_id.clone(),
            key: self.key.clone(),
            before: self.before.clone(),
            limit: self.limit,
        }
    }

    /// The query string of these filters with another `before` (the next page).
    fn page_after(&self, before: &str) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(state) = self.state {
            query.append_pair("state", state.as_str());
        }
        for (name, value) in [
            ("kind", &self.kind),
            ("bot", &self.bot_id),
            ("key", &self.key),
        ] {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        query.append_pair("limit", &self.limit.to_string());
        query.append_pair("before", before);
        query.finish()
    }
}

/// What an action did, as the page after it says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Notice {
    Redriven,
    RedrivenDead,
    Forgotten,
    UnknownKey,
    Purged,
}

impl Notice {
    const ALL: [(Notice, &'static str); 5] = [
        (Notice::Redriven, "redriven"),
        (Notice::RedrivenDead, "redriven-dead"),
        (Notice::Forgotten, "forgotten"),
        (Notice::UnknownKey, "unknown-key"),
        (Notice::Purged, "purged"),
    ];

    fn from_code(code: &str) -> Option<Notice> {
        Notice::ALL
            .iter()
            .find(|(_, name)| *name == code)
            .map(|(notice, _)| *notice)
    }

    fn code(self) -> &'static str {
        Notice::ALL
            .iter()
            .find(|(notice, _)| *notice == self)
            .map_or("", |(_, name)| name)
    }

    /// The words for it, with `n` (a count).
    pub(crate) fn words(self, n: u64) -> String {
        match self {
            Notice::Redriven => "Queued again.".to_string(),
            Notice::RedrivenDead => format!("{n} dead letters queued again."),
            Notice::Forgotten => "Key forgotten: a copy sent now is stored again.".to_string(),
            Notice::UnknownKey => "No delivery has that key.".to_string(),
            Notice::Purged => format!("{n} dead letters deleted."),
        }
    }
}

/// `value` trimmed, `None` when empty or longer than `max` bytes.
fn non_empty(value: &str, max: usize) -> Option<String> {
    let value = value.trim();
    (!value.is_empty() && value.len() <= max).then(|| value.to_string())
}

/// An inbox error, escaped, as a 500 page (a missing delivery: 404).
pub(crate) fn failed(inner: &Inner, err: &Error) -> Response<Full<Bytes>> {
    let status = match err {
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Running(_) | Error::BodyDropped(_) => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut response = page(
        "Error",
        &format!("<h1>Error</h1><p>{}</p>", text(&err.to_string(), false)),
        &inner.base,
    );
    *response.status_mut() = status;
    response
}

/// How long ago `ms` was, in words.
fn ago(ms: i64) -> String {
    let secs = (now_ms().saturating_sub(ms) / 1000).max(0);
    match secs {
        0..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

fn state_badge(summary: &Summary) -> String {
    let name = if summary.stale {
        "stale"
    } else {
        summary.state.as_str()
    };
    format!("<span class=\"state state-{name}\">{name}</span>")
}

fn counts(stats: &Stats) -> String {
    let mut out = String::from("<div class=\"counts\">");
    for (name, count) in [
        ("queued", stats.queued),
        ("running", stats.running),
        ("retrying", stats.retrying),
        ("completed", stats.completed),
        ("stale", stats.stale),
        ("dead", stats.dead),
    ] {
        let _ = write!(
            out,
            "<div class=\"count\"><b>{count}</b><span class=\"muted\">{name}</span></div>"
        );
    }
    let oldest = stats
        .oldest_pending_age_secs
        .map_or_else(|| "none".to_string(), |secs| format!("{secs} s"));
    let _ = write!(
        out,
        "<div class=\"count\"><b>{oldest}</b><span class=\"muted\">oldest pending</span></div></div>"
    );
    out
}

/// The list page: counts, filters, deliveries newest first, and the actions on many.
pub(crate) async fn list(inner: &Inner, query: &str) -> Response<Full<Bytes>> {
    let filters = Filters::parse(query);
    let stats = match inner.inbox.stats().await {
        Ok(stats) => stats,
        Err(err) => return failed(inner, &err),
    };
    let listed = match inner.inbox.list(filters.query()).await {
        Ok(listed) => listed,
        Err(err) => return failed(inner, &err),
    };
    let base = escape(&inner.base);
    let mut main = String::from("<h1>Deliveries</h1>");
    if let Some((notice, n)) = filters.notice {
        let _ = write!(main, "<p class=\"notice\">{}</p>", escape(&notice.words(n)));
    }
    main.push_str(&counts(&stats));
    let _ = write!(
        main,
        "<form class=\"filters\" method=\"get\" action=\"{base}/\"><label>state<select name=\"state\">\
         <option value=\"\">any</option>"
    );
    for state in State::ALL {
        let selected = if filters.state == Some(state) {
            " selected"
        } else {
            ""
        };
        let _ = write!(main, "<option{selected}>{}</option>", state.as_str());
    }
    main.push_str(
        "</select></label><label>kind<select name=\"kind\"><option value=\"\">any</option>",
    );
    for kind in EventKind::ALL {
        let selected = if filters.kind.as_deref() == Some(kind.as_str()) {
            " selected"
        } else {
            ""
        };
        let _ = write!(main, "<option{selected}>{}</option>", kind.as_str());
    }
    let _ = write!(
        main,
        "</select></label><label>bot id<input name=\"bot\" value=\"{}\"></label>\
         <label>idempotency key<input name=\"key\" value=\"{}\"></label>\
         <label>at most<input name=\"limit\" type=\"number\" min=\"1\" max=\"{MAX_LIMIT}\" value=\"{}\"></label>\
         <button type=\"submit\">Show</button></form>",
        text(filters.bot_id.as_deref().unwrap_or(""), false),
        text(filters.key.as_deref().unwrap_or(""), false),
        filters.limit
    );
    main.push_str(
        "<table><thead><tr><th>id</th><th>event</th><th>bot</th><th>state</th>\
         <th class=\"num\">attempts</th><th>received</th><th>finished</th></tr></thead><tbody>",
    );
    for summary in &listed {
        let id = escape(&summary.id);
        let _ = write!(
            main,
            "<tr><td><a href=\"{base}/deliveries/{id}\">{id}</a></td><td>{}</td><td><code>{}</code></td>\
             <td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            text(summary.event.as_deref().unwrap_or("(not an event)"), false),
            text(summary.bot_id.as_deref().unwrap_or(""), false),
            state_badge(summary),
            summary.attempts,
            ago(summary.received_ms),
            summary.finished_ms.map(ago).unwrap_or_default(),
        );
    }
    if listed.is_empty() {
        main.push_str("<tr><td colspan=\"7\" class=\"muted\">none</td></tr>");
    }
    main.push_str("</tbody></table>");
    if let Some(last) = listed.last().filter(|_| listed.len() >= filters.limit) {
        let _ = write!(
            main,
            "<p><a class=\"older\" href=\"{base}/?{}\">Older deliveries</a></p>",
            escape(&filters.page_after(&last.id))
        );
    }
    if inner.guard.has_login() {
        let _ = write!(
            main,
            "<form class=\"inline\" method=\"post\" action=\"{base}/logout\">\
             <button type=\"submit\">Sign out</button></form>"
        );
    }
    if !inner.read_only {
        let _ = write!(
            main,
            "<h2>Actions</h2><div class=\"actions\">\
             <form method=\"post\" action=\"{base}/redrive-dead\"><label>kind (empty: all)<input name=\"kind\"></label>\
             <button type=\"submit\">Redrive dead letters</button></form>\
             <form method=\"post\" action=\"{base}/forget\"><label>idempotency key<input name=\"key\" required></label>\
             <button type=\"submit\">Forget key</button></form>\
             <form method=\"post\" action=\"{base}/purge-dead\"><label>older than (days)<input name=\"days\" type=\"number\" min=\"0\" value=\"30\"></label>\
             <button class=\"danger\" type=\"submit\">Purge dead letters</button></form></div>"
        );
    }
    page("Deliveries", &main, &inner.base)
}

/// One delivery: its summary, its body (pretty-printed, cut at 64 KiB), its attempts.
pub(crate) async fn delivery(inner: &Inner, id: &str) -> Response<Full<Bytes>> {
    let shown = match inner.inbox.show(id).await {
        Ok(shown) => shown,
        Err(err) => return failed(inner, &err),
    };
    page(
        &format!("Delivery {}", shown.summary.id),
        &delivery_html(inner, &shown),
        &inner.base,
    )
}

fn delivery_html(inner: &Inner, shown: &StoredDelivery) -> String {
    let summary = &shown.summary;
    let base = escape(&inner.base);
    let id = escape(&summary.id);
    let mut main = format!("<h1>Delivery {id} {}</h1><table>", state_badge(summary));
    let rows: [(&str, String); 10] = [
        (
            "event",
            text(summary.event.as_deref().unwrap_or("(not an event)"), false),
        ),
        ("kind", text(summary.kind.as_deref().unwrap_or(""), false)),
        ("bot", text(summary.bot_id.as_deref().unwrap_or(""), false)),
        (
            "idempotency key",
            format!(
                "<code>{}</code>{}",
                text(&summary.key, false),
                if summary.forgotten {
                    " (forgotten)"
                } else {
                    ""
                }
            ),
        ),
        ("scheme", text(&summary.scheme, false)),
        (
            "message id",
            text(summary.message_id.as_deref().unwrap_or(""), false),
        ),
        ("received", ago(summary.received_ms)),
        ("finished", summary.finished_ms.map(ago).unwrap_or_default()),
        (
            "attempts",
            format!("{} in {} run(s)", summary.attempts, summary.runs),
        ),
        (
            "dead reason",
            text(summary.dead_reason.as_deref().unwrap_or(""), false),
        ),
    ];
    for (name, value) in rows {
        let _ = write!(main, "<tr><th>{name}</th><td>{value}</td></tr>");
    }
    main.push_str("</table>");
    if !inner.read_only && summary.state != State::Running && !shown.body_dropped {
        let _ = write!(
            main,
            "<div class=\"actions\"><form method=\"post\" action=\"{base}/deliveries/{id}/redrive\">\
             <button type=\"submit\">Redrive</button></form></div>"
        );
    }
    main.push_str(
        "<h2>Attempts</h2><table><thead><tr><th>#</th><th>run</th><th>started</th>\
                   <th class=\"num\">duration</th><th>error</th></tr></thead><tbody>",
    );
    for attempt in &shown.attempts {
        let _ = write!(
            main,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{} ms</td><td>{}</td></tr>",
            attempt.number,
            attempt.run,
            ago(attempt.started_ms),
            attempt.duration_ms,
            text(attempt.error.as_deref().unwrap_or(""), false)
        );
    }
    if shown.attempts.is_empty() {
        main.push_str("<tr><td colspan=\"5\" class=\"muted\">none yet</td></tr>");
    }
    main.push_str("</tbody></table><h2>Body</h2>");
    if shown.body_dropped {
        main.push_str("<p class=\"muted\">dropped after completion (keep_bodies)</p>");
    } else {
        let (body, cut) = html::body(&shown.body);
        if cut {
            let _ = write!(
                main,
                "<p class=\"notice\">The first 64 KiB of {} bytes: \
                 <a href=\"{base}/deliveries/{id}/body\">download it whole</a>.</p>",
                shown.body.len()
            );
        } else {
            let _ = write!(
                main,
                "<p class=\"muted\">{} bytes · <a href=\"{base}/deliveries/{id}/body\">download</a></p>",
                shown.body.len()
            );
        }
        let _ = write!(main, "<pre>{body}</pre>");
    }
    main
}

/// The stored body, whole, as a file to save (never rendered by the browser).
pub(crate) async fn body_download(inner: &Inner, id: &str) -> Response<Full<Bytes>> {
    let shown = match inner.inbox.show(id).await {
        Ok(shown) => shown,
        Err(err) => return failed(inner, &err),
    };
    let mut response = Response::new(Full::new(shown.body.clone()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    let name = format!(
        "attachment; filename=\"delivery-{}.json\"",
        shown
            .summary
            .id
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    if let Ok(value) = HeaderValue::from_str(&name) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    html::security_headers(&mut response);
    response
}

/// The login form (token guard).
pub(crate) fn login(inner: &Inner, wrong: Option<()>) -> Response<Full<Bytes>> {
    let base = escape(&inner.base);
    let mut main = String::from("<h1>Sign in</h1>");
    if wrong.is_some() {
        main.push_str("<p class=\"notice\">That is not the token.</p>");
    }
    let _ = write!(
        main,
        "<form class=\"filters\" method=\"post\" action=\"{base}/login\">\
         <label>admin token<input name=\"token\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\">Sign in</button></form>"
    );
    let mut response = page("Sign in", &main, &inner.base);
    if wrong.is_some() {
        *response.status_mut() = StatusCode::UNAUTHORIZED;
    }
    response
}

/// The login form posted: the cookie and back to the list, or the form again (401).
pub(crate) fn log_in(inner: &Inner, form: &[(String, String)]) -> Response<Full<Bytes>> {
    let token = field(form, "token").unwrap_or_default();
    if !inner.guard.token_matches(token) {
        return login(inner, Some(()));
    }
    let Some(value) = inner.guard.cookie_value() else {
        return plain(StatusCode::NOT_FOUND, "not found");
    };
    let mut response = see_other(&format!("{}/", inner.base));
    let path = if inner.base.is_empty() {
        "/"
    } else {
        &inner.base
    };
    // Twelve hours, then sign in again; changing the token signs everyone out at once.
    let cookie = format!("{COOKIE}={value}; Path={path}; HttpOnly; SameSite=Strict; Max-Age=43200");
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// An action (already past the guard, the same-origin check and read-only): done, then back to
/// the page it came from with what happened; JSON for `/api/...`.
pub(crate) async fn act(
    inner: &Inner,
    path: &str,
    form: &[(String, String)],
    api: bool,
) -> Response<Full<Bytes>> {
    let path = path.strip_prefix("/api").unwrap_or(path);
    let inbox = &inner.inbox;
    let (done, back): (Result<(Notice, u64), Error>, String) = if let Some(id) = path
        .strip_prefix("/deliveries/")
        .and_then(|p| p.strip_suffix("/redrive"))
    {
        let back = format!("{}/deliveries/{}", inner.base, id);
        (
            inbox.redrive(id).await.map(|()| (Notice::Redriven, 1)),
            back,
        )
    } else {
        let back = format!("{}/", inner.base);
        let outcome = match path {
            "/redrive-dead" => {
                let kind = field(form, "kind").map(str::trim).filter(|k| !k.is_empty());
                inbox
                    .redrive_dead(kind)
                    .await
                    .map(|n| (Notice::RedrivenDead, n))
            }
            "/forget" => match field(form, "key").map(str::trim).filter(|k| !k.is_empty()) {
                Some(key) => inbox.forget(key).await.map(|known| {
                    let notice = if known {
                        Notice::Forgotten
                    } else {
                        Notice::UnknownKey
                    };
                    (notice, u64::from(known))
                }),
                None => return plain(StatusCode::BAD_REQUEST, "no key given"),
            },
            "/purge-dead" => {
                let Some(days) = field(form, "days").and_then(|d| d.trim().parse::<u64>().ok())
                else {
                    return plain(StatusCode::BAD_REQUEST, "days: a whole number");
                };
                let older_than = Duration::from_secs(days.min(36_500) * 86_400);
                inbox
                    .purge(State::Dead, older_than)
                    .await
                    .map(|n| (Notice::Purged, n))
            }
            _ => return plain(StatusCode::NOT_FOUND, "not found"),
        };
        (outcome, back)
    };
    match done {
        Ok((notice, n)) if api => api::json(
            StatusCode::OK,
            &serde_json::json!({ "done": notice.code(), "count": n, "message": notice.words(n) }),
        ),
        Ok((notice, n)) => {
            let separator = if back.contains('?') { '&' } else { '?' };
            see_other(&format!("{back}{separator}done={}&n={n}", notice.code()))
        }
        Err(err) if api => api::error(&err),
        Err(err) => failed(inner, &err),
    }
}

/// Signs out: the cookie cleared, back to the sign-in form.
pub(crate) fn log_out(inner: &Inner) -> Response<Full<Bytes>> {
    let mut response = see_other(&format!("{}/login", inner.base));
    let path = if inner.base.is_empty() {
        "/"
    } else {
        &inner.base
    };
    let cookie = format!("{COOKIE}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}
