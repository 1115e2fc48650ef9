//! The one place rejections are logged (debug level, so forged traffic cannot flood an error log),
//! and verified deliveries that did not fit their types (warn level).

#[cfg(feature = "tracing")]
pub(crate) fn rejected(err: &dyn core::fmt::Display) {
    let message = crate::error::excerpt(alloc::format!("{err}"));
    tracing::debug!(target: "meetingbaas_webhooks", error = %message, "webhook delivery rejected");
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn rejected(_err: &dyn core::fmt::Display) {}

/// A verified delivery whose fields did not all fit their types: one warn line per delivery, with
/// the paths and expected types (never the values).
#[cfg(feature = "tracing")]
pub(crate) fn did_not_fit(event: &crate::event::Event) {
    tracing::warn!(
        target: "meetingbaas_webhooks",
        event = event.name(),
        kind = event.kind().as_str(),
        issues = event.issues().len(),
        fields = %paths(event.issues()),
        "verified delivery did not fit its type: fields read as absent (values kept in Event::issues)"
    );
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn did_not_fit(_event: &crate::event::Event) {}

/// A lazy field, read on access, did not all fit its type: one warn line per reading.
#[cfg(feature = "tracing")]
pub(crate) fn lazy_did_not_fit(issues: &[crate::event::ParseIssue]) {
    tracing::warn!(
        target: "meetingbaas_webhooks",
        issues = issues.len(),
        fields = %paths(issues),
        "a delivery's field, read on first access, did not fit its type: values read as absent (kept in Lazy::issues)"
    );
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn lazy_did_not_fit(_issues: &[crate::event::ParseIssue]) {}

/// The first eight issues: paths and expected types, never values.
#[cfg(feature = "tracing")]
fn paths(issues: &[crate::event::ParseIssue]) -> alloc::string::String {
    use core::fmt::Write as _;
    let mut fields = alloc::string::String::new();
    for (index, issue) in issues.iter().take(8).enumerate() {
        if index > 0 {
            fields.push_str("; ");
        }
        let _ = write!(fields, "{issue}");
    }
    fields
}
