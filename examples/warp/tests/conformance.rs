//! The cross-adapter conformance suite (tests/), run against this example's binary.

meetingbaas_webhooks_conformance::conformance_suite!(env!(
    "CARGO_BIN_EXE_meetingbaas-example-warp"
));
meetingbaas_webhooks_conformance::idempotency_suite!(env!(
    "CARGO_BIN_EXE_meetingbaas-example-warp"
));
meetingbaas_webhooks_conformance::inbox_suite!(env!("CARGO_BIN_EXE_meetingbaas-example-warp"));
meetingbaas_webhooks_conformance::endpoint_config_suite!(env!(
    "CARGO_BIN_EXE_meetingbaas-example-warp"
));
meetingbaas_webhooks_conformance::tls_suite!(env!("CARGO_BIN_EXE_meetingbaas-example-warp"));
meetingbaas_webhooks_conformance::admin_suite!(env!("CARGO_BIN_EXE_meetingbaas-example-warp"));
