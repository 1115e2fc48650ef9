//! Properties: any change to what is signed fails, arbitrary input never panics, and
//! sign-then-verify round-trips for every scheme.

use meetingbaas_webhooks::{Bytes, Event, FixedClock, Scheme, Signer, Verifier};
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000;
const SVIX: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn verifier() -> Verifier {
    Verifier::builder()
        .svix_secret(SVIX)
        .signature_secret("signature")
        .callback_secret("callback")
        .api_key("api-key")
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap()
}

fn signer(scheme: Scheme) -> Signer {
    let secret = match scheme {
        Scheme::Svix => SVIX,
        Scheme::Signature => "signature",
        Scheme::Callback => "callback",
        _ => "api-key",
    };
    Signer::new(scheme, secret).unwrap()
}

fn any_scheme() -> impl Strategy<Value = Scheme> {
    prop::sample::select(Scheme::ALL.to_vec())
}

fn svix_id() -> impl Strategy<Value = String> {
    "[!-~]{1,64}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sign_then_verify_round_trips(scheme in any_scheme(), body in prop::collection::vec(any::<u8>(), 0..2048), id in svix_id(), skew in -300i64..=300) {
        let headers = signer(scheme).sign(&body, &id, NOW + skew);
        let delivery = verifier().verify(&headers, Bytes::from(body.clone())).unwrap();
        prop_assert_eq!(delivery.scheme(), scheme);
        prop_assert_eq!(&delivery.body()[..], &body[..]);
    }

    #[test]
    fn any_change_to_the_body_fails(scheme in prop::sample::select(vec![Scheme::Svix, Scheme::Signature]), body in prop::collection::vec(any::<u8>(), 1..512), index in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let headers = signer(scheme).sign(&body, "msg_1", NOW);
        let mut tampered = body.clone();
        let i = index.index(tampered.len());
        tampered[i] ^= flip;
        prop_assert!(verifier().verify(&headers, Bytes::from(tampered)).is_err());
    }

    #[test]
    fn appending_or_truncating_the_body_fails(body in prop::collection::vec(any::<u8>(), 1..512), extra in prop::collection::vec(any::<u8>(), 1..8)) {
        for scheme in [Scheme::Svix, Scheme::Signature] {
            let headers = signer(scheme).sign(&body, "msg_1", NOW);
            let mut longer = body.clone();
            longer.extend_from_slice(&extra);
            prop_assert!(verifier().verify(&headers, Bytes::from(longer)).is_err());
            prop_assert!(verifier().verify(&headers, Bytes::copy_from_slice(&body[..body.len() - 1])).is_err());
        }
    }

    #[test]
    fn any_change_to_id_or_timestamp_fails(body in prop::collection::vec(any::<u8>(), 0..256), id in svix_id(), other_id in svix_id(), delta in 1i64..=300) {
        prop_assume!(id != other_id);
        let signed = signer(Scheme::Svix).sign(&body, &id, NOW);
        let mut headers = signed.to_pairs();
        headers[0].1 = other_id;
        prop_assert!(verifier().verify(&headers, Bytes::from(body.clone())).is_err());
        let mut headers = signed.to_pairs();
        headers[1].1 = (NOW - delta).to_string();
        prop_assert!(verifier().verify(&headers, Bytes::from(body)).is_err());
    }

    #[test]
    fn any_change_to_the_signature_fails(scheme in prop::sample::select(vec![Scheme::Svix, Scheme::Signature]), body in prop::collection::vec(any::<u8>(), 0..256), index in any::<prop::sample::Index>(), replacement in any::<u8>()) {
        let signed = signer(scheme).sign(&body, "msg_1", NOW);
        let mut headers = signed.to_pairs();
        let last = headers.len() - 1;
        let mut signature = headers[last].1.clone().into_bytes();
        let start = if scheme == Scheme::Svix { 3 } else { 0 };
        let i = start + index.index(signature.len() - start);
        prop_assume!(signature[i] != replacement);
        // Hex is read in either case (the same tag), so a case change is no change there.
        prop_assume!(scheme != Scheme::Signature || !signature[i].eq_ignore_ascii_case(&replacement));
        signature[i] = replacement;
        headers[last].1 = String::from_utf8_lossy(&signature).into_owned();
        // Base64 has encodings that decode alike only in the final padding bits; the canonical
        // decoder rejects those, so any byte change is a refusal.
        prop_assert!(verifier().verify(&headers, Bytes::from(body)).is_err());
    }

    #[test]
    fn arbitrary_headers_never_panic_nor_verify(
        headers in prop::collection::vec(
            (prop::sample::select(vec!["svix-id", "svix-timestamp", "svix-signature", "webhook-id", "webhook-timestamp", "webhook-signature", "x-meetingbaas-signature", "x-mb-secret", "x-meeting-baas-api-key", "other"]),
             prop::collection::vec(any::<u8>(), 0..128)),
            0..8),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        prop_assert!(verifier().verify(&headers, Bytes::from(body)).is_err());
    }

    #[test]
    fn arbitrary_bodies_never_panic_the_parser(body in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Err(err) = Event::from_slice(&body) {
            prop_assert!(matches!(err.status(), 400 | 422));
        }
    }

    #[test]
    fn arbitrary_json_envelopes_never_panic(name in "[a-z._]{0,24}", data in "[\\[\\]{}\":,0-9a-z ]{0,64}") {
        let body = format!(r#"{{"event":"{name}","data":{data}}}"#);
        if let Err(err) = Event::from_slice(body.as_bytes()) {
            prop_assert!(matches!(err.status(), 400 | 422));
        }
    }
}
