//! Payloads of calendar events: syncs, event changes, connections.

use alloc::string::String;
use alloc::vec::Vec;

use serde_json::Value;

use super::codes::{
    CalendarEventType, CalendarPlatform, ConnectionStatus, InstanceStatus, MeetingPlatform,
};
use super::lenient::{lenient_struct, payload};

lenient_struct! {
    /// v1 `calendar.sync_events`, v2 `calendar.events_synced` and `calendar.synced`.
    pub struct CalendarSynced [issues] {
        /// The calendar.
        calendar_id: Option<String> = "calendar_id",
        /// When the calendar was last updated (v1, RFC 3339).
        last_updated_ts: Option<String> = "last_updated_ts",
        /// The events that changed (v1).
        affected_event_uuids: Vec<String> = "affected_event_uuids",
        /// The events, with their instances (v2).
        events: Vec<CalendarEventSeries> = "events",
        /// How many events were synchronised (prose docs).
        events_synced: Option<u64> = "events_synced",
        /// Which kind of sync ran (prose docs).
        sync_type: Option<String> = "sync_type",
        /// A bot, where one is named (product-description deliveries).
        bot_id: Option<String> = "bot_id",
        /// Metadata, where sent.
        extra: Option<Value> = "extra",
    }
}

lenient_struct! {
    /// An event of a synced calendar, one-off or recurring.
    pub struct CalendarEventSeries {
        /// One-off or recurring.
        event_type: Option<CalendarEventType> = "event_type",
        /// The series, for recurring events.
        series_id: Option<String> = "series_id",
        /// Whether a bot is scheduled for the whole series.
        series_bot_scheduled: Option<bool> = "series_bot_scheduled",
        /// The occurrences.
        instances: Vec<CalendarInstance> = "instances",
    }
}

lenient_struct! {
    /// v2 `calendar.event_created` / `_updated` / `_cancelled` and `event.added` / `.updated` /
    /// `.deleted`.
    pub struct CalendarEventChange [issues] {
        /// The calendar.
        calendar_id: Option<String> = "calendar_id",
        /// One-off or recurring.
        event_type: Option<CalendarEventType> = "event_type",
        /// The series, for recurring events.
        series_id: Option<String> = "series_id",
        /// Whether a bot is scheduled for the whole series.
        series_bot_scheduled: Option<bool> = "series_bot_scheduled",
        /// Whether this change concerns an exception of a series (updates).
        is_exception: Option<bool> = "is_exception",
        /// The occurrences (created).
        instances: Vec<CalendarInstance> = "instances",
        /// The occurrences that changed (updated).
        affected_instances: Vec<CalendarInstance> = "affected_instances",
        /// The occurrences that were cancelled (cancelled).
        cancelled_instances: Vec<CalendarInstance> = "cancelled_instances",
        /// A bot, where one is named (product-description deliveries).
        bot_id: Option<String> = "bot_id",
        /// Metadata, where sent.
        extra: Option<Value> = "extra",
    }
}

lenient_struct! {
    /// One occurrence of a calendar event.
    pub struct CalendarInstance {
        /// The occurrence.
        event_id: Option<String> = "event_id",
        /// Start, RFC 3339 (`start`, or the prose docs' `start_time`).
        start: Option<String> = "start" | "start_time",
        /// End, RFC 3339 (`end`, or the prose docs' `end_time`).
        end: Option<String> = "end" | "end_time",
        /// Title.
        title: Option<String> = "title",
        /// Confirmed, cancelled or tentative.
        status: Option<InstanceStatus> = "status",
        /// Whether it lasts all day.
        is_all_day: Option<bool> = "is_all_day",
        /// Whether it is an exception of its series.
        is_exception: Option<bool> = "is_exception",
        /// Whether a bot is scheduled for it.
        bot_scheduled: Option<bool> = "bot_scheduled",
        /// The bot scheduled for it, where sent (cancelled instances).
        bot_id: Option<String> = "bot_id",
        /// The meeting link.
        meeting_url: Option<String> = "meeting_url",
        /// Zoom, Meet or Teams.
        meeting_platform: Option<MeetingPlatform> = "meeting_platform",
    }
}

lenient_struct! {
    /// v2 `calendar.connection_created` / `_updated` / `_deleted` / `_error`.
    pub struct CalendarConnection [issues] {
        /// The calendar.
        calendar_id: Option<String> = "calendar_id",
        /// Google or Microsoft (`calendar_platform`, or `platform` in the prose docs and
        /// `calendar.connection_error`).
        calendar_platform: Option<CalendarPlatform> = "calendar_platform" | "platform",
        /// The calendar's name (prose docs).
        calendar_name: Option<String> = "calendar_name",
        /// The connected account.
        account_email: Option<String> = "account_email",
        /// The connection's state.
        status: Option<ConnectionStatus> = "status",
        /// What went wrong (`calendar.connection_error`; shape not documented: kept as JSON).
        error: Option<Value> = "error",
        /// Creation time.
        created_at: Option<String> = "created_at",
        /// Update time.
        updated_at: Option<String> = "updated_at",
        /// Deletion time.
        deleted_at: Option<String> = "deleted_at",
        /// A bot, where one is named.
        bot_id: Option<String> = "bot_id",
        /// Metadata, where sent.
        extra: Option<Value> = "extra",
    }
}

impl CalendarConnection {
    /// The platform, whichever field carried it.
    pub fn platform(&self) -> Option<&CalendarPlatform> {
        self.calendar_platform.as_ref()
    }
}

payload! {
    CalendarSynced { bot_id, extra }
    CalendarEventChange { bot_id, extra }
    CalendarConnection { bot_id, extra }
}
