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
    use alloc::string::String;
    use core::fmt::Write as _;
    let mut fields = String::new();
    for (index, issue) in event.issues().iter().take(8).enumerate() {
        if index > 0 {
            fields.push_str("; ");
        }
        let _ = write!(fields, "{issue}");
    }
    tracing::warn!(
        target: "meetingbaas_webhooks",
        event = event.name(),
        kind = event.kind().as_str(),
        issues = event.issues().len(),
        fields = %fields,
        "verified delivery did not fit its type: fields read as absent (values kept in Event::issues)"
    );
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn did_not_fit(_event: &crate::event::Event) {}
