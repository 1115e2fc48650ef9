//! HTML: escaping (every value from a sender goes through [`text`]), the page layout, the
//! stylesheet, and the headers every answer carries.

use std::fmt::Write as _;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;

/// How much of a body a page shows.
pub(crate) const BODY_SHOWN: usize = 64 * 1024;

/// `value` escaped for HTML text and attribute values (`&`, `<`, `>`, `"`, `'`).
pub(crate) fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A value from a sender, for a page: its control characters (terminal escapes among them) and
/// bidirectional overrides shown as `\u{1b}`, `\u{202e}`, except line breaks and tabs when
/// `multiline`, then escaped.
pub(crate) fn text(value: &str, multiline: bool) -> String {
    let mut shown = String::with_capacity(value.len());
    for c in value.chars() {
        let hidden = c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if hidden && !(multiline && matches!(c, '\n' | '\t')) {
            let _ = write!(shown, "\\u{{{:x}}}", u32::from(c));
        } else {
            shown.push(c);
        }
    }
    escape(&shown)
}

/// A stored body for a page: pretty-printed when it is JSON, at most [`BODY_SHOWN`] bytes of it;
/// whether it was cut.
pub(crate) fn body(bytes: &[u8]) -> (String, bool) {
    // Only a body that fits is parsed to be pretty-printed: a large one would cost many times
    // its size in memory at every view; its first 64 KiB are shown as sent.
    let pretty = (bytes.len() <= BODY_SHOWN)
        .then(|| serde_json::from_slice::<serde_json::Value>(bytes).ok())
        .flatten()
        .and_then(|value| serde_json::to_string_pretty(&value).ok());
    let whole = pretty.unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned());
    if whole.len() <= BODY_SHOWN {
        return (text(&whole, true), false);
    }
    let mut end = BODY_SHOWN;
    while !whole.is_char_boundary(end) {
        end -= 1;
    }
    (text(&whole[..end], true), true)
}

/// A whole page: `title` (escaped here) and `main`, already HTML.
pub(crate) fn page(title: &str, main: &str, base: &str) -> Response<Full<Bytes>> {
    let base = escape(base);
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · inbox</title>\
         <link rel=\"stylesheet\" href=\"{base}/assets/admin.css\"></head>\
         <body><header><a class=\"home\" href=\"{base}/\">Meeting BaaS inbox</a></header>\
         <main>{main}</main></body></html>\n",
        title = escape(title),
    );
    let mut response = Response::new(Full::new(Bytes::from(html)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    security_headers(&mut response);
    response
}

/// A redirect after an action (303: the browser then GETs `to`).
pub(crate) fn see_other(to: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    security_headers(&mut response);
    response
}

/// The stylesheet, embedded in the crate.
pub(crate) fn stylesheet() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(include_bytes!("admin.css"))));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    security_headers(&mut response);
    response
}

/// No script, no outside resource, no framing, nothing cached, no sniffing, no referrer sent
/// to another site.
pub(crate) fn security_headers<B>(response: &mut Response<B>) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: under `no-referrer` Chromium sends `Origin: null` with
    // the page's own form posts, which the same-origin check would then refuse.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_terminal_escapes_are_neutralised() {
        let shown = text("<script>alert(1)</script></textarea>\u{1b}[31m'\"&", false);
        assert_eq!(
            shown,
            "&lt;script&gt;alert(1)&lt;/script&gt;&lt;/textarea&gt;\\u{1b}[31m&#39;&quot;&amp;"
        );
        assert_eq!(text("a\nb\tc\r", true), "a\nb\tc\\u{d}");
        assert_eq!(text("a\nb", false), "a\\u{a}b");
        assert_eq!(text("x\u{202e}y", false), "x\\u{202e}y");
    }

    #[test]
    fn a_large_body_is_cut_on_a_character_boundary() {
        let big = format!("\"{}\"", "é".repeat(BODY_SHOWN));
        let (shown, cut) = body(big.as_bytes());
        assert!(cut);
        assert!(shown.len() <= BODY_SHOWN + 16);
        let (shown, cut) = body(br#"{"a":"<b>"}"#);
        assert!(!cut);
        assert!(shown.contains("&lt;b&gt;") && shown.contains('\n'));
    }
}
