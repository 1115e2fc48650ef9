//! The one place rejections are logged (debug level, so forged traffic cannot flood an error log).

#[cfg(feature = "tracing")]
pub(crate) fn rejected(err: &dyn core::fmt::Display) {
    let message = crate::error::excerpt(alloc::format!("{err}"));
    tracing::debug!(target: "meetingbaas_webhooks", error = %message, "webhook delivery rejected");
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn rejected(_err: &dyn core::fmt::Display) {}
