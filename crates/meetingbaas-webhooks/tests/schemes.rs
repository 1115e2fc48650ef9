//! Each scheme's acceptance and refusal rules, including hostile header values.

use meetingbaas_webhooks::{Bytes, FixedClock, Scheme, Signer, Verifier, VerifyError};

const NOW: i64 = 1_700_000_000;
const SVIX: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SVIX_OLD: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const SIGNATURE: &str = "signature-secret";
const CALLBACK: &str = "callback-secret";
const API_KEY: &str = "api-key-value";
const ALERT: &str = "alert-rule-secret";
const BODY: &[u8] = br#"{"event":"bot.completed","data":{"bot_id":"b-1"}}"#;

fn all_schemes() -> Verifier {
    Verifier::builder()
        .svix_secret(SVIX)
        .signature_secret(SIGNATURE)
        .callback_secret(CALLBACK)
        .api_key(API_KEY)
        .alert_secret(ALERT)
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap()
}

fn only(scheme: Scheme) -> Verifier {
    let secret = secret_of(scheme);
    Verifier::builder()
        .secret(scheme, secret)
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap()
}

fn secret_of(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Svix => SVIX,
        Scheme::Signature => SIGNATURE,
        Scheme::Callback => CALLBACK,
        Scheme::Alert => ALERT,
        _ => API_KEY,
    }
}

fn signed(scheme: Scheme, body: &[u8]) -> Vec<(&'static str, String)> {
    Signer::new(scheme, secret_of(scheme))
        .unwrap()
        .sign(body, "msg_1", NOW)
        .to_pairs()
}

fn verify(
    verifier: &Verifier,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<Scheme, VerifyError> {
    verifier
        .verify(headers, Bytes::copy_from_slice(body))
        .map(|d| d.scheme())
}

#[test]
fn every_scheme_verifies_its_own_signed_delivery() {
    for scheme in Scheme::ALL {
        assert_eq!(
            verify(&all_schemes(), &signed(scheme, BODY), BODY),
            Ok(scheme)
        );
        assert_eq!(
            verify(&only(scheme), &signed(scheme, BODY), BODY),
            Ok(scheme)
        );
    }
}

#[test]
fn a_disabled_scheme_is_never_accepted() {
    for enabled in Scheme::ALL {
        for sent in Scheme::ALL.into_iter().filter(|s| *s != enabled) {
            let err = verify(&only(enabled), &signed(sent, BODY), BODY).unwrap_err();
            assert_eq!(
                err,
                VerifyError::MissingCredentials,
                "{enabled} enabled, {sent} sent"
            );
        }
    }
}

#[test]
fn no_headers_is_missing_credentials() {
    assert_eq!(
        verify(&all_schemes(), &[], BODY),
        Err(VerifyError::MissingCredentials)
    );
}

#[test]
fn every_scheme_refuses_another_body() {
    for scheme in [Scheme::Svix, Scheme::Signature] {
        let err = verify(&all_schemes(), &signed(scheme, BODY), b"{}").unwrap_err();
        assert_eq!(err, VerifyError::SignatureMismatch { scheme });
    }
}

#[test]
fn every_scheme_refuses_another_secret() {
    for scheme in Scheme::ALL {
        let other = match scheme {
            Scheme::Svix => SVIX_OLD,
            _ => "another-secret",
        };
        let headers = Signer::new(scheme, other)
            .unwrap()
            .sign(BODY, "msg_1", NOW)
            .to_pairs();
        let err = verify(&all_schemes(), &headers, BODY).unwrap_err();
        assert_eq!(err.status(), 401, "{scheme}: {err}");
        assert_eq!(err.scheme(), Some(scheme));
    }
}

#[test]
fn a_rotated_ring_accepts_old_and_new_secrets() {
    let verifier = Verifier::builder()
        .svix_secret(SVIX)
        .svix_secret(SVIX_OLD)
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap();
    for secret in [SVIX, SVIX_OLD] {
        let headers = Signer::svix(secret)
            .unwrap()
            .sign(BODY, "msg_1", NOW)
            .to_pairs();
        assert_eq!(verify(&verifier, &headers, BODY), Ok(Scheme::Svix));
    }
}

#[test]
fn svix_accepts_any_matching_v1_entry_and_ignores_other_versions() {
    let good = signed(Scheme::Svix, BODY)[2].1.clone();
    let forged = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let good_tag = good.strip_prefix("v1,").unwrap();
    for list in [
        format!("{forged} {good}"),
        format!("v1a,{good_tag} {good}"),
        format!("  {good}  "),
        format!("v2,{good_tag} {good} v1,"),
    ] {
        let headers = [
            ("svix-id", "msg_1".to_string()),
            ("svix-timestamp", NOW.to_string()),
            ("svix-signature", list.clone()),
        ];
        assert_eq!(
            verify(&only(Scheme::Svix), &headers, BODY),
            Ok(Scheme::Svix),
            "{list}"
        );
    }
    let only_other_versions = format!("v1a,{good_tag} v2,{good_tag}");
    let headers = [
        ("svix-id", "msg_1".to_string()),
        ("svix-timestamp", NOW.to_string()),
        ("svix-signature", only_other_versions),
    ];
    assert!(matches!(
        verify(&only(Scheme::Svix), &headers, BODY),
        Err(VerifyError::MalformedHeader { .. })
    ));
}

#[test]
fn svix_accepts_signatures_split_over_several_headers() {
    let good = signed(Scheme::Svix, BODY)[2].1.clone();
    let headers = [
        ("svix-id", "msg_1".to_string()),
        ("svix-timestamp", NOW.to_string()),
        (
            "svix-signature",
            "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_string(),
        ),
        ("svix-signature", good),
    ];
    assert_eq!(
        verify(&only(Scheme::Svix), &headers, BODY),
        Ok(Scheme::Svix)
    );
}

#[test]
fn svix_refuses_a_changed_id_or_timestamp() {
    let mut headers = signed(Scheme::Svix, BODY);
    headers[0].1 = "msg_2".into();
    assert_eq!(
        verify(&only(Scheme::Svix), &headers, BODY),
        Err(VerifyError::SignatureMismatch {
            scheme: Scheme::Svix
        })
    );
    let mut headers = signed(Scheme::Svix, BODY);
    headers[1].1 = (NOW + 1).to_string();
    assert_eq!(
        verify(&only(Scheme::Svix), &headers, BODY),
        Err(VerifyError::SignatureMismatch {
            scheme: Scheme::Svix
        })
    );
}

#[test]
fn hostile_svix_timestamps_are_plain_rejections() {
    for timestamp in [
        "-9223372036854775808",
        "99999999999999999999",
        "abc",
        "",
        " 1700000000",
        "1e9",
        "0x10",
    ] {
        let mut headers = signed(Scheme::Svix, BODY);
        headers[1].1 = timestamp.into();
        let err = verify(&only(Scheme::Svix), &headers, BODY).unwrap_err();
        assert_eq!(err.code(), "malformed_header", "{timestamp:?}");
    }
    let mut headers = signed(Scheme::Svix, BODY);
    headers[1].1 = "0".into();
    let err = verify(&only(Scheme::Svix), &headers, BODY).unwrap_err();
    assert_eq!(
        err,
        VerifyError::TimestampOutOfTolerance {
            timestamp: 0,
            now: NOW
        }
    );
}

#[test]
fn hostile_svix_signatures_are_plain_rejections() {
    let long = "v1,".to_string() + &"A".repeat(100_000);
    for signature in [
        "",
        "v1,",
        "v1",
        ",",
        "v1,====",
        "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kk",
        "v1,!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        long.as_str(),
    ] {
        let mut headers = signed(Scheme::Svix, BODY);
        headers[2].1 = signature.into();
        let err = verify(&only(Scheme::Svix), &headers, BODY).unwrap_err();
        assert_eq!(err.status(), 401, "{signature:?}");
    }
}

#[test]
fn svix_with_a_missing_or_repeated_header_is_refused() {
    for drop in 0..3 {
        let mut headers = signed(Scheme::Svix, BODY);
        let removed = headers.remove(drop).0;
        assert_eq!(
            verify(&only(Scheme::Svix), &headers, BODY),
            Err(VerifyError::MissingHeader {
                scheme: Scheme::Svix,
                header: removed
            })
        );
    }
    let mut headers = signed(Scheme::Svix, BODY);
    headers.push(("svix-id", "msg_other".into()));
    assert_eq!(
        verify(&only(Scheme::Svix), &headers, BODY),
        Err(VerifyError::RepeatedHeader {
            scheme: Scheme::Svix,
            header: "svix-id"
        })
    );
}

#[test]
fn hostile_hex_signatures_are_plain_rejections() {
    let good = signed(Scheme::Signature, BODY)[0].1.clone();
    let truncated = &good[..63];
    let longer = format!("{good}00");
    let not_hex = "g".repeat(64);
    for signature in [
        "",
        truncated,
        longer.as_str(),
        not_hex.as_str(),
        "sha256=",
        "é",
    ] {
        let headers = [("x-meetingbaas-signature", signature.to_string())];
        let err = verify(&only(Scheme::Signature), &headers, BODY).unwrap_err();
        assert_eq!(err.status(), 401, "{signature:?}");
    }
    let upper = [("x-meetingbaas-signature", good.to_uppercase())];
    assert_eq!(
        verify(&only(Scheme::Signature), &upper, BODY),
        Ok(Scheme::Signature)
    );
    let repeated = [
        ("x-meetingbaas-signature", good.clone()),
        ("x-meetingbaas-signature", good),
    ];
    assert!(matches!(
        verify(&only(Scheme::Signature), &repeated, BODY),
        Err(VerifyError::RepeatedHeader { .. })
    ));
}

#[test]
fn tokens_must_match_exactly() {
    for (scheme, header) in [
        (Scheme::Callback, "x-mb-secret"),
        (Scheme::ApiKey, "x-meeting-baas-api-key"),
        (Scheme::Alert, "x-mb-alert-secret"),
    ] {
        let secret = secret_of(scheme);
        for presented in [
            "",
            &secret[..secret.len() - 1],
            &format!("{secret}x"),
            &secret.to_uppercase(),
        ] {
            let headers = [(header, presented.to_string())];
            assert_eq!(
                verify(&only(scheme), &headers, BODY),
                Err(VerifyError::TokenMismatch { scheme }),
                "{presented:?}"
            );
        }
        let headers = [(header, secret.to_string())];
        assert_eq!(verify(&only(scheme), &headers, BODY), Ok(scheme));
    }
}

#[test]
fn non_utf8_header_values_never_verify() {
    let verifier = all_schemes();
    for name in [
        "svix-id",
        "svix-timestamp",
        "svix-signature",
        "x-meetingbaas-signature",
        "x-mb-secret",
        "x-meeting-baas-api-key",
    ] {
        let headers: Vec<(&str, Vec<u8>)> = vec![(name, vec![0xff, 0xfe, 0x00, b'\n'])];
        assert!(
            verifier.verify(&headers, Bytes::from_static(BODY)).is_err(),
            "{name}"
        );
    }
}

#[test]
fn a_body_over_the_limit_is_413() {
    let verifier = Verifier::builder()
        .callback_secret(CALLBACK)
        .max_body_bytes(8)
        .build()
        .unwrap();
    let headers = [("x-mb-secret", CALLBACK)];
    let err = verifier
        .verify(&headers, Bytes::from_static(b"123456789"))
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (413, "payload_too_large"));
    assert!(
        verifier
            .verify(&headers, Bytes::from_static(b"12345678"))
            .is_ok()
    );
}

#[test]
fn construction_refuses_bad_secrets() {
    use meetingbaas_webhooks::ConfigError;
    for scheme in Scheme::ALL {
        assert_eq!(
            Verifier::builder().secret(scheme, "").build().unwrap_err(),
            ConfigError::EmptySecret { scheme }
        );
        assert!(Signer::new(scheme, "").is_err());
    }
    assert_eq!(
        Verifier::builder()
            .svix_secret("whsec_not base64!")
            .build()
            .unwrap_err(),
        ConfigError::InvalidSvixSecret
    );
    assert_eq!(
        Verifier::builder().build().unwrap_err(),
        ConfigError::NoSchemeEnabled
    );
    assert_eq!(
        Verifier::builder()
            .api_key("k")
            .max_body_bytes(0)
            .build()
            .unwrap_err(),
        ConfigError::ZeroBodyLimit
    );
}

#[test]
fn the_body_is_not_copied() {
    let body = Bytes::from(BODY.to_vec());
    let pointer = body.as_ptr();
    let delivery = all_schemes()
        .verify(&signed(Scheme::Callback, BODY), body)
        .unwrap();
    assert_eq!(delivery.body().as_ptr(), pointer);
}

#[test]
fn the_alert_secret_is_only_accepted_when_configured() {
    let headers = [("x-mb-alert-secret", ALERT.to_string())];
    let alert = br#"{"alert_rule_id":"r-1","alert_type":"bot_crash"}"#;
    assert_eq!(verify(&all_schemes(), &headers, alert), Ok(Scheme::Alert));
    // A verifier without an alert secret does not even look at the header.
    assert_eq!(
        verify(&only(Scheme::Callback), &headers, alert),
        Err(VerifyError::MissingCredentials)
    );
    // The callback secret in the alert header is not an alert secret.
    let wrong = [("x-mb-alert-secret", CALLBACK.to_string())];
    assert_eq!(
        verify(&all_schemes(), &wrong, alert),
        Err(VerifyError::TokenMismatch {
            scheme: Scheme::Alert
        })
    );
}
