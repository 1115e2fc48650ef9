//! The alert callback: the one delivery that is not an `{event, data}` envelope.

use alloc::string::String;

use super::lenient::{lenient_struct, payload};

lenient_struct! {
    /// A v2 alert callback (`content/docs/api-v2/alerts.mdx`): an alert rule fired.
    ///
    /// Sent as a flat JSON object with the rule's secret in `x-mb-alert-secret`
    /// ([`Scheme::Alert`](crate::Scheme::Alert)); 4 tries on 5xx and network errors. It parses into
    /// [`Event::Alert`](super::Event::Alert), whose kind is [`EventKind::Alert`](super::EventKind)
    /// and whose wire name is `alert`.
    pub struct Alert [issues] {
        /// The alert rule.
        alert_rule_id: Option<String> = "alert_rule_id",
        /// The rule's name.
        alert_rule_name: Option<String> = "alert_rule_name",
        /// What is watched, such as `bot_crash`.
        alert_type: Option<String> = "alert_type",
        /// `operational` or a threshold category.
        category: Option<String> = "category",
        /// When the rule fired (RFC 3339).
        triggered_at: Option<String> = "triggered_at",
        /// The value that reached the threshold.
        current_value: Option<f64> = "current_value",
        /// The rule's threshold.
        threshold_value: Option<f64> = "threshold_value",
        /// How many alerts of this rule were suppressed since the last one sent.
        suppressed_count: Option<u64> = "suppressed_count",
        /// A human-readable description.
        message: Option<String> = "message",
    }
}

payload! {
    Alert {}
}
