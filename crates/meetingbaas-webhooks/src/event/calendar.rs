//! Payloads of calendar events: syncs, event changes, connections.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::codes::{
    CalendarEventType, CalendarPlatform, ConnectionStatus, InstanceStatus, MeetingPlatform,
};
use super::lenient::{null_as_default, payload};

/// v1 `calendar.sync_events`, v2 `calendar.events_synced` and `calendar.synced`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CalendarSynced {
    /// The calendar.
    pub calendar_id: Option<String>,
    /// When the calendar was last updated (v1, RFC 3339).
    pub last_updated_ts: Option<String>,
    /// The events that changed (v1).
    #[serde(deserialize_with = "null_as_default")]
    pub affected_event_uuids: Vec<String>,
    /// The events, with their instances (v2).
    #[serde(deserialize_with = "null_as_default")]
    pub events: Vec<CalendarEventSeries>,
    /// A bot, where one is named (product-description deliveries).
    pub bot_id: Option<String>,
    /// Metadata, where sent.
    pub extra: Option<Value>,
}

/// An event of a synced calendar, one-off or recurring.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CalendarEventSeries {
    /// One-off or recurring.
    pub event_type: Option<CalendarEventType>,
    /// The series, for recurring events.
    pub series_id: Option<String>,
    /// Whether a bot is scheduled for the whole series.
    pub series_bot_scheduled: Option<bool>,
    /// The occurrences.
    #[serde(deserialize_with = "null_as_default")]
    pub instances: Vec<CalendarInstance>,
}

/// v2 `calendar.event_created` / `_updated` / `_cancelled` and `event.added` / `.updated` /
/// `.deleted`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CalendarEventChange {
    /// The calendar.
    pub calendar_id: Option<String>,
    /// One-off or recurring.
    pub event_type: Option<CalendarEventType>,
    /// The series, for recurring events.
    pub series_id: Option<String>,
    /// Whether a bot is scheduled for the whole series.
    pub series_bot_scheduled: Option<bool>,
    /// Whether this change concerns an exception of a series (updates).
    pub is_exception: Option<bool>,
    /// The occurrences (created).
    #[serde(deserialize_with = "null_as_default")]
    pub instances: Vec<CalendarInstance>,
    /// The occurrences that changed (updated).
    #[serde(deserialize_with = "null_as_default")]
    pub affected_instances: Vec<CalendarInstance>,
    /// The occurrences that were cancelled (cancelled).
    #[serde(deserialize_with = "null_as_default")]
    pub cancelled_instances: Vec<CalendarInstance>,
    /// A bot, where one is named (product-description deliveries).
    pub bot_id: Option<String>,
    /// Metadata, where sent.
    pub extra: Option<Value>,
}

/// One occurrence of a calendar event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CalendarInstance {
    /// The occurrence.
    pub event_id: Option<String>,
    /// Start (RFC 3339).
    pub start: Option<String>,
    /// End (RFC 3339).
    pub end: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Confirmed, cancelled or tentative.
    pub status: Option<InstanceStatus>,
    /// Whether it lasts all day.
    pub is_all_day: Option<bool>,
    /// Whether it is an exception of its series.
    pub is_exception: Option<bool>,
    /// Whether a bot is scheduled for it.
    pub bot_scheduled: Option<bool>,
    /// The meeting link.
    pub meeting_url: Option<String>,
    /// Zoom, Meet or Teams.
    pub meeting_platform: Option<MeetingPlatform>,
}

/// v2 `calendar.connection_created` / `_updated` / `_deleted` / `_error`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CalendarConnection {
    /// The calendar.
    pub calendar_id: Option<String>,
    /// Google or Microsoft (`calendar_platform`). See [`CalendarConnection::platform`].
    pub calendar_platform: Option<CalendarPlatform>,
    /// Google or Microsoft (`platform`, in `calendar.connection_error`).
    pub platform: Option<CalendarPlatform>,
    /// The connected account.
    pub account_email: Option<String>,
    /// The connection's state.
    pub status: Option<ConnectionStatus>,
    /// What went wrong (`calendar.connection_error`; shape not documented: kept as JSON).
    pub error: Option<Value>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Update time.
    pub updated_at: Option<String>,
    /// Deletion time.
    pub deleted_at: Option<String>,
    /// A bot, where one is named.
    pub bot_id: Option<String>,
    /// Metadata, where sent.
    pub extra: Option<Value>,
}

impl CalendarConnection {
    /// The platform, whichever field carried it.
    pub fn platform(&self) -> Option<&CalendarPlatform> {
        self.calendar_platform.as_ref().or(self.platform.as_ref())
    }
}

payload!(CalendarSynced, CalendarEventChange, CalendarConnection);
