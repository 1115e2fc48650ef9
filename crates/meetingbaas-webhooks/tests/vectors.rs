//! The public test vectors of docs/protocol.md §1, verified with a fixed clock.

use meetingbaas_webhooks::{Bytes, FixedClock, Scheme, Signer, Verifier, VerifyError};

const SVIX_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const SVIX_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
const SVIX_TIMESTAMP: i64 = 1_649_367_553;
const SVIX_BODY: &str = r#"{"email":"test@example.com","username":"test_user"}"#;
const SVIX_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

const GITHUB_SECRET: &str = "It's a Secret to Everybody";
const GITHUB_BODY: &str = "Hello, World!";
const GITHUB_SIGNATURE: &str = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

fn svix_verifier(now: i64) -> Verifier {
    Verifier::builder()
        .svix_secret(SVIX_SECRET)
        .clock(FixedClock::new(now))
        .build()
        .unwrap()
}

#[test]
fn svix_vector_verifies_at_its_timestamp() {
    let headers = [
        ("svix-id", SVIX_ID),
        ("svix-timestamp", "1649367553"),
        ("svix-signature", SVIX_SIGNATURE),
    ];
    let delivery = svix_verifier(SVIX_TIMESTAMP)
        .verify(&headers, Bytes::from_static(SVIX_BODY.as_bytes()))
        .unwrap();
    assert_eq!(delivery.scheme(), Scheme::Svix);
    assert_eq!(delivery.message_id(), Some(SVIX_ID));
    assert_eq!(delivery.timestamp(), Some(SVIX_TIMESTAMP));
    assert_eq!(delivery.body(), SVIX_BODY.as_bytes());
}

#[test]
fn svix_vector_verifies_under_standard_webhooks_names() {
    let headers = [
        ("Webhook-Id", SVIX_ID),
        ("Webhook-Timestamp", "1649367553"),
        ("Webhook-Signature", SVIX_SIGNATURE),
    ];
    assert!(
        svix_verifier(SVIX_TIMESTAMP)
            .verify(&headers, Bytes::from_static(SVIX_BODY.as_bytes()))
            .is_ok()
    );
}

#[test]
fn svix_vector_is_reproduced_by_the_signer() {
    let headers =
        Signer::svix(SVIX_SECRET)
            .unwrap()
            .sign(SVIX_BODY.as_bytes(), SVIX_ID, SVIX_TIMESTAMP);
    assert_eq!(headers.get("svix-signature"), Some(SVIX_SIGNATURE));
    assert_eq!(headers.get("svix-timestamp"), Some("1649367553"));
    assert_eq!(headers.get("svix-id"), Some(SVIX_ID));
}

#[test]
fn svix_vector_is_refused_outside_the_tolerance() {
    let headers = [
        ("svix-id", SVIX_ID),
        ("svix-timestamp", "1649367553"),
        ("svix-signature", SVIX_SIGNATURE),
    ];
    for now in [SVIX_TIMESTAMP + 301, SVIX_TIMESTAMP - 301] {
        let err = svix_verifier(now)
            .verify(&headers, Bytes::from_static(SVIX_BODY.as_bytes()))
            .unwrap_err();
        assert_eq!(
            err,
            VerifyError::TimestampOutOfTolerance {
                timestamp: SVIX_TIMESTAMP,
                now
            }
        );
    }
    for now in [SVIX_TIMESTAMP + 300, SVIX_TIMESTAMP - 300] {
        assert!(
            svix_verifier(now)
                .verify(&headers, Bytes::from_static(SVIX_BODY.as_bytes()))
                .is_ok()
        );
    }
}

#[test]
fn github_vector_verifies_under_the_signature_scheme() {
    let verifier = Verifier::builder()
        .signature_secret(GITHUB_SECRET)
        .build()
        .unwrap();
    let headers = [("X-MeetingBaas-Signature", GITHUB_SIGNATURE)];
    let delivery = verifier
        .verify(&headers, Bytes::from_static(GITHUB_BODY.as_bytes()))
        .unwrap();
    assert_eq!(delivery.scheme(), Scheme::Signature);
    assert_eq!(delivery.message_id(), None);
}

#[test]
fn github_vector_is_reproduced_by_the_signer() {
    let headers = Signer::signature(GITHUB_SECRET)
        .unwrap()
        .sign(GITHUB_BODY.as_bytes(), "", 0);
    assert_eq!(
        headers.get("x-meetingbaas-signature"),
        Some(GITHUB_SIGNATURE)
    );
}
