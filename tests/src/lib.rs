//! The cross-adapter conformance suite.
//!
//! Every adapter's example server must answer every case of the contract of docs/receiving.md
//! identically. The cases are written once, here; each example package plugs in with one line in
//! its `tests/conformance.rs`:
//!
//! ```text
//! meetingbaas_webhooks_conformance::conformance_suite!(env!("CARGO_BIN_EXE_meetingbaas-example-axum"));
//! ```
//!
//! That expands into one `#[test]` per case. Each case starts the example binary on an ephemeral
//! loopback port (`PORT=0`; the example prints `listening on http://127.0.0.1:<port>`), configures
//! it through the examples' environment variables, drives it with real HTTP/1.1 over TCP (written
//! by hand, so that `Content-Length`, chunked, truncated and slow bodies are exactly what the case
//! says), and stops it when the case ends.

/// The README's Rust examples, compiled (and the core one run) as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// The Rust examples of `docs/`, compiled (and the quick ones run) as doc tests, one item per page.
#[cfg(doctest)]
#[doc = include_str!("../../docs/README.md")]
struct DocsIndexDoctests;

#[cfg(doctest)]
#[doc = include_str!("../../docs/receiving.md")]
struct DocsReceivingDoctests;

#[cfg(doctest)]
#[doc = include_str!("../../docs/inbox.md")]
struct DocsInboxDoctests;

#[cfg(doctest)]
#[doc = include_str!("../../docs/operations.md")]
struct DocsOperationsDoctests;

#[cfg(doctest)]
#[doc = include_str!("../../docs/security.md")]
struct DocsSecurityDoctests;

#[cfg(doctest)]
#[doc = include_str!("../../docs/cli.md")]
struct DocsCliDoctests;

#[cfg(doctest)]
#[doc = include_str!("../../docs/development.md")]
struct DocsDevelopmentDoctests;

pub mod admin_cases;
pub mod cases;
pub mod client;
pub mod config_cases;
pub mod dedupe_cases;
pub mod deliveries;
pub mod hostile_cases;
pub mod inbox_cases;
pub mod inbox_fault_cases;
pub mod order_cases;
pub mod postgres_server;
pub mod rate_limit_cases;
pub mod redis_server;
pub mod server;
pub mod shutdown_cases;
pub mod tls;
pub mod tls_cases;

/// Expands into one `#[test]` per endpoint configuration case (`MEETINGBAAS_CONFIG` with the
/// product description's endpoint JSON, and bad files), each run against the example binary at
/// `$binary`.
#[macro_export]
macro_rules! endpoint_config_suite {
    ($binary:expr) => {
        $crate::endpoint_config_suite!(@cases $binary;
            product_description_config_drives_the_server,
            disabled_endpoint_is_503_with_retry_after,
            the_route_is_the_webhook_url_path,
            the_environment_overrides_the_config_file,
            bad_config_files_exit_non_zero_with_one_line,
            a_secret_rotated_with_sighup_takes_effect_without_a_restart,
        );
    };
    (@cases $binary:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::config_cases::$case($binary);
            }
        )*
    };
}

/// Expands into one `#[test]` per HTTPS case, each run against the example binary at `$binary`
/// with a certificate the test makes: the basic contract cases once over TLS (in a module
/// `over_tls`), a plain-HTTP client on the TLS port, a stalled handshake, bad certificate and
/// key files.
#[macro_export]
macro_rules! tls_suite {
    ($binary:expr) => {
        $crate::tls_suite!(@tls $binary;
            plain_http_on_the_tls_port_is_closed,
            stalled_tls_handshake_is_closed,
            bad_tls_files_exit_non_zero_with_one_line,
        );
        mod over_tls {
            $crate::tls_suite!(@over_tls $binary;
                every_fixture_is_accepted_under_every_scheme,
                every_wire_name_and_an_unknown_one_reach_the_handler,
                missing_credentials_is_401,
                wrong_secret_is_401_for_every_scheme,
                tampered_body_is_401,
                malformed_and_truncated_signatures_are_401,
                content_length_over_limit_is_413_before_the_body_is_sent,
                chunked_body_over_limit_is_413,
                chunked_body_under_limit_is_accepted,
                body_of_exactly_the_limit_is_accepted,
                slow_body_is_accepted,
                unreadable_json_is_400,
                alert_callbacks_are_accepted_under_the_alert_scheme,
            );
            #[test]
            fn product_description_config_drives_the_server() {
                $crate::server::over_tls(|| {
                    $crate::config_cases::product_description_config_drives_the_server($binary)
                });
            }
        }
    };
    (@tls $binary:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::tls_cases::$case($binary);
            }
        )*
    };
    (@over_tls $binary:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::server::over_tls(|| $crate::cases::$case($binary));
            }
        )*
    };
}

/// Expands into one `#[test]` per idempotency case (`MEETINGBAAS_DEDUPE`, with a real
/// `redis-server` started per case), each run against the example binary at `$binary`.
#[macro_export]
macro_rules! idempotency_suite {
    ($binary:expr) => {
        $crate::idempotency_suite!(@cases $binary;
            retry_of_a_handled_delivery_is_a_duplicate,
            a_failed_delivery_is_processed_on_retry,
            two_replicas_sharing_redis_see_each_others_deliveries,
            fifty_concurrent_copies_run_the_handler_once,
            redis_outage_is_503_and_recovers,
            a_bad_dedupe_setting_exits_non_zero,
        );
    };
    (@cases $binary:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::dedupe_cases::$case($binary);
            }
        )*
    };
}

/// Expands into one `#[test]` per inbox case (`MEETINGBAAS_INBOX`, a real SQLite file in a
/// temporary directory or a real `redis-server` started per case), each run against the example
/// binary at `$binary`.
#[macro_export]
macro_rules! inbox_suite {
    ($binary:expr) => {
        $crate::inbox_suite!(@cases $binary;
            stored_deliveries_are_answered_202_and_handled_once,
            kill_9_with_deliveries_in_flight_loses_none_sqlite,
            kill_9_and_a_redis_restart_lose_none_redis,
            an_inbox_that_cannot_be_opened_exits_non_zero,
            an_unreachable_redis_inbox_is_503_and_recovers,
            the_fault_switch_makes_chosen_bots_fail_panic_or_hang,
            a_redis_restart_is_retried_and_a_lost_queue_is_loud,
            a_damaged_file_is_never_ready_and_its_queue_keeps_moving,
            a_log_that_does_not_belong_is_never_a_silent_ready,
        );
        #[test]
        fn statuses_run_in_bot_order_sqlite() {
            $crate::order_cases::statuses_run_in_bot_order_sqlite($binary);
        }
        #[test]
        fn sigterm_with_handlers_running_loses_nothing_sqlite() {
            $crate::shutdown_cases::sigterm_with_handlers_running_loses_nothing_sqlite($binary);
        }
        #[test]
        fn a_full_disk_is_503_and_recovers_sqlite() {
            $crate::inbox_fault_cases::a_full_disk_is_503_and_recovers_sqlite($binary);
        }
        #[test]
        fn a_full_disk_is_503_and_recovers_redis() {
            $crate::inbox_fault_cases::a_full_disk_is_503_and_recovers_redis($binary);
        }
    };
    (@cases $binary:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::inbox_cases::$case($binary);
            }
        )*
    };
}

/// Expands into the `#[test]` of the three-replica inbox case
/// ([`inbox_fault_cases::three_replicas_on_one_redis_lose_none`]): three example processes on one
/// `redis-server` with its append-only file, 1 000 deliveries, a replica and Redis killed and
/// restarted meanwhile. `$binary` is the first replica; the other two are other examples built
/// next to it (by the same `cargo test --workspace`), or `$binary` again where they are missing.
/// One example plugs it in (axum): it already runs three adapters, and takes about 30 s.
#[macro_export]
macro_rules! inbox_replicas_suite {
    ($binary:expr) => {
        #[test]
        fn statuses_run_in_bot_order_two_replicas_redis() {
            $crate::order_cases::statuses_run_in_bot_order_two_replicas_redis($binary);
        }

        #[test]
        fn statuses_run_in_bot_order_two_replicas_postgres() {
            $crate::order_cases::statuses_run_in_bot_order_two_replicas_postgres($binary);
        }

        /// The full tier: `scripts/test --full` (CI) runs these.
        mod full_tier {
            #[test]
            #[ignore = "full tier: scripts/test --full"]
            fn a_killed_replicas_bot_waits_for_the_lease_then_runs_in_order_redis() {
                $crate::order_cases::a_killed_replicas_bot_waits_for_the_lease_then_runs_in_order(
                    $binary,
                    $crate::order_cases::Shared::Redis,
                );
            }

            #[test]
            #[ignore = "full tier: scripts/test --full"]
            fn a_killed_replicas_bot_waits_for_the_lease_then_runs_in_order_postgres() {
                $crate::order_cases::a_killed_replicas_bot_waits_for_the_lease_then_runs_in_order(
                    $binary,
                    $crate::order_cases::Shared::Postgres,
                );
            }

            #[test]
            #[ignore = "full tier: scripts/test --full"]
            fn three_replicas_on_one_redis_lose_none() {
                $crate::inbox_fault_cases::three_replicas_on_one_redis_lose_none($binary);
            }

            #[test]
            #[ignore = "full tier: scripts/test --full"]
            fn three_replicas_on_one_postgres_lose_none() {
                $crate::inbox_fault_cases::three_replicas_on_one_postgres_lose_none($binary);
            }

            #[test]
            #[ignore = "full tier: scripts/test --full"]
            fn a_frozen_replicas_delivery_is_taken_over_and_completed_once() {
                $crate::inbox_fault_cases::a_frozen_replicas_delivery_is_taken_over_and_completed_once(
                    $binary,
                );
            }
        }
    };
}

/// Expands into the admin page's case ([`admin_cases`]) against an example that mounts it.
#[macro_export]
macro_rules! admin_suite {
    ($binary:expr) => {
        #[test]
        fn the_admin_page_is_guarded_escaped_and_refuses_cross_site_posts() {
            $crate::admin_cases::the_admin_page_is_guarded_escaped_and_refuses_cross_site_posts(
                $binary,
            );
        }
    };
}

/// Expands into one `#[test]` per conformance case, each run against the example binary at
/// `$binary` (usually `env!("CARGO_BIN_EXE_<name>")`).
#[macro_export]
macro_rules! conformance_suite {
    ($binary:expr) => {
        $crate::conformance_suite!(@cases $binary;
            every_fixture_is_accepted_under_every_scheme,
            every_wire_name_and_an_unknown_one_reach_the_handler,
            standard_webhooks_header_names_are_accepted,
            missing_credentials_is_401,
            wrong_secret_is_401_for_every_scheme,
            tampered_body_is_401,
            malformed_and_truncated_signatures_are_401,
            stale_and_future_timestamps_are_401,
            disabled_scheme_is_401,
            content_length_over_limit_is_413_before_the_body_is_sent,
            chunked_body_over_limit_is_413,
            a_sender_still_writing_after_a_413_is_not_reset,
            chunked_body_under_limit_is_accepted,
            body_of_exactly_the_limit_is_accepted,
            slow_body_is_accepted,
            unreadable_json_is_400,
            known_event_with_bad_data_is_accepted,
            alert_callbacks_are_accepted_under_the_alert_scheme,
            put_callbacks_are_accepted_and_other_methods_are_405,
            the_same_body_gets_the_same_answer_from_every_adapter,
            metrics_are_served_on_their_own_listener,
            client_closing_mid_body_leaves_the_server_answering,
            garbage_request_leaves_the_server_answering,
            concurrent_valid_and_forged_deliveries_each_get_their_answer,
            no_secret_configured_exits_non_zero_with_one_line,
        );
        $crate::hostile_suite!($binary);
        #[test]
        fn ready_until_sigterm_then_a_drain_and_exit_0() {
            $crate::shutdown_cases::ready_until_sigterm_then_a_drain_and_exit_0($binary);
        }
    };
    (@cases $binary:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::cases::$case($binary);
            }
        )*
    };
}

/// Expands into one `#[test]` per hostile-load case ([`hostile_cases`]): stalled uploads against
/// the memory budget, stalled heads and bodies against their deadlines. Part of
/// [`conformance_suite!`]; each case takes 10-20 s (the deadlines are 10 s), and they run in
/// parallel with the others.
#[macro_export]
macro_rules! hostile_suite {
    ($binary:expr) => {
        $crate::hostile_suite!(@cases $binary;
            stalled_uploads_stay_under_the_memory_budget,
            stalled_chunked_uploads_stay_under_the_memory_budget,
            stalled_uploads_with_a_wrong_secret_never_crowd_out_a_verified_delivery,
            stalled_svix_shaped_uploads_from_one_client_never_crowd_out_another,
            stalled_headers_and_bodies_are_closed_by_their_deadlines,
            running_out_of_file_descriptors_does_not_spin,
        );
    };
    (@cases $binary:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::hostile_cases::$case($binary);
            }
        )*
    };
}

/// Expands into the failure-limit case ([`rate_limit_cases`]) against an example that wires
/// the failure limiter to `MEETINGBAAS_FAILURE_LIMIT` (the actix example).
#[macro_export]
macro_rules! failure_limit_suite {
    ($binary:expr) => {
        #[test]
        fn a_forged_flood_is_limited_while_verified_deliveries_get_200() {
            $crate::rate_limit_cases::a_forged_flood_is_limited_while_verified_deliveries_get_200(
                $binary,
            );
        }
    };
}
