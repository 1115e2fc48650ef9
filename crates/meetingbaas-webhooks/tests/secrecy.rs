//! No secret and no expected MAC ever appears in `Debug`, `Display` or an error.

use meetingbaas_webhooks::{Bytes, FixedClock, Scheme, Signer, Verifier};

const NOW: i64 = 1_700_000_000;
const SVIX: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SVIX_KEY_B64: &str = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SIGNATURE: &str = "signature-secret-value";
const CALLBACK: &str = "callback-secret-value";
const API_KEY: &str = "api-key-secret-value";
const BODY: &[u8] = br#"{"event":"bot.failed","data":{"bot_id":"b"}}"#;

fn verifier() -> Verifier {
    Verifier::builder()
        .svix_secret(SVIX)
        .signature_secret(SIGNATURE)
        .callback_secret(CALLBACK)
        .api_key(API_KEY)
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap()
}

/// Everything that must never be printed: the secrets, and every expected MAC for BODY.
fn forbidden() -> Vec<String> {
    let mut out = vec![
        SVIX.into(),
        SVIX_KEY_B64.into(),
        SIGNATURE.into(),
        CALLBACK.into(),
        API_KEY.into(),
    ];
    let svix = Signer::svix(SVIX).unwrap().sign(BODY, "msg_1", NOW);
    out.push(svix.get("svix-signature").unwrap()["v1,".len()..].to_string());
    let hex = Signer::signature(SIGNATURE).unwrap().sign(BODY, "", 0);
    out.push(hex.get("x-meetingbaas-signature").unwrap().to_string());
    out
}

fn assert_clean(text: &str) {
    for secret in forbidden() {
        assert!(!text.contains(&secret), "{text:?} contains {secret:?}");
    }
}

#[test]
fn debug_of_the_verifier_and_its_builder_hides_every_secret() {
    assert_clean(&format!("{:?}", verifier()));
    assert_clean(&format!("{:#?}", verifier()));
    let builder = Verifier::builder()
        .svix_secret(SVIX)
        .signature_secret(SIGNATURE)
        .callback_secret(CALLBACK)
        .api_key(API_KEY);
    assert_clean(&format!("{builder:?}"));
}

#[test]
fn debug_of_signers_and_token_headers_hides_secrets() {
    for scheme in Scheme::ALL {
        let secret = match scheme {
            Scheme::Svix => SVIX,
            Scheme::Signature => SIGNATURE,
            Scheme::Callback => CALLBACK,
            Scheme::Alert => CALLBACK,
            _ => API_KEY,
        };
        let signer = Signer::new(scheme, secret).unwrap();
        assert_clean(&format!("{signer:?}"));
        if matches!(scheme, Scheme::Callback | Scheme::ApiKey | Scheme::Alert) {
            assert_clean(&format!("{:?}", signer.sign(BODY, "msg_1", NOW)));
        }
    }
}

#[test]
fn no_rejection_mentions_a_secret_or_an_expected_mac() {
    let wrong = [
        vec![
            ("svix-id", "msg_1".to_string()),
            ("svix-timestamp", NOW.to_string()),
            (
                "svix-signature",
                "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
            ),
        ],
        vec![
            ("svix-id", "msg_1".to_string()),
            ("svix-timestamp", "1".into()),
            ("svix-signature", "v1,x".into()),
        ],
        vec![("x-meetingbaas-signature", "00".repeat(32))],
        vec![("x-meetingbaas-signature", "nothex".into())],
        vec![("x-mb-secret", "callback-secret-valu".into())],
        vec![("x-meeting-baas-api-key", "nope".into())],
        vec![],
    ];
    for headers in wrong {
        let err = verifier()
            .verify(&headers, Bytes::from_static(BODY))
            .unwrap_err();
        assert_clean(&format!("{err:?}"));
        assert_clean(&err.to_string());
    }
}

#[test]
fn construction_errors_do_not_echo_the_secret() {
    let bad = "whsec_this is not base64 but a secret";
    let err = Verifier::builder().svix_secret(bad).build().unwrap_err();
    assert!(!format!("{err:?} {err}").contains("this is not base64"));
}
