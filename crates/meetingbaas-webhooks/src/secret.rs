//! Turning configured secrets into key material, once, at construction.

use alloc::vec::Vec;
use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use subtle::{Choice, ConstantTimeEq};

use crate::error::ConfigError;
use crate::mac::{PreparedKey, TAG_LEN, sha256};
use crate::scheme::Scheme;

const SVIX_PREFIX: &str = "whsec_";

/// Decodes a Svix secret: `whsec_` followed by standard base64 (the prefix is optional).
pub(crate) fn svix_key(secret: &str) -> Result<PreparedKey, ConfigError> {
    let encoded = secret.trim();
    let encoded = encoded.strip_prefix(SVIX_PREFIX).unwrap_or(encoded);
    if encoded.is_empty() {
        return Err(ConfigError::EmptySecret {
            scheme: Scheme::Svix,
        });
    }
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| ConfigError::InvalidSvixSecret)?;
    if key.is_empty() {
        return Err(ConfigError::EmptySecret {
            scheme: Scheme::Svix,
        });
    }
    Ok(PreparedKey::new(&key))
}

/// The `X-MeetingBaas-Signature` key: the secret's UTF-8 bytes, as given.
pub(crate) fn signature_key(secret: &str) -> Result<PreparedKey, ConfigError> {
    if secret.is_empty() {
        return Err(ConfigError::EmptySecret {
            scheme: Scheme::Signature,
        });
    }
    Ok(PreparedKey::new(secret.as_bytes()))
}

/// A shared token (callback secret or API key), kept only as its SHA-256 digest so that the
/// comparison is between equal-length values and the token's length does not leak through timing.
#[derive(Clone)]
pub(crate) struct TokenDigest([u8; TAG_LEN]);

impl TokenDigest {
    pub(crate) fn new(scheme: Scheme, token: &str) -> Result<Self, ConfigError> {
        if token.is_empty() {
            return Err(ConfigError::EmptySecret { scheme });
        }
        Ok(TokenDigest(sha256(token.as_bytes())))
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenDigest(<redacted>)")
    }
}

/// The SHA-256 digest of a shared secret (a bot's callback secret): what a service keeps in
/// its database instead of the secret, and looks a presented one up by. Looking a digest up
/// reveals nothing through timing: the presented secret is hashed first, so which digest a
/// lookup compares against tells nothing about how close a guess is.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretDigest([u8; TAG_LEN]);

impl SecretDigest {
    /// The digest of `secret`.
    pub fn of(secret: &[u8]) -> Self {
        SecretDigest(sha256(secret))
    }

    /// A digest kept earlier ([`as_bytes`](Self::as_bytes)).
    pub const fn from_bytes(bytes: [u8; TAG_LEN]) -> Self {
        SecretDigest(bytes)
    }

    /// The 32 bytes, to store or to look up.
    pub const fn as_bytes(&self) -> &[u8; TAG_LEN] {
        &self.0
    }

    /// Whether `presented` is the secret of this digest, in constant time.
    pub(crate) fn matches(&self, presented: &[u8]) -> bool {
        tags_equal(&self.0, &sha256(presented)).into()
    }
}

/// Redacted: a digest of a low-entropy secret could be guessed offline.
impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest(<redacted>)")
    }
}

/// True when any of `tokens` matches `presented`; every token is compared, in constant time.
pub(crate) fn any_token_matches(tokens: &[TokenDigest], presented: &[u8]) -> bool {
    let digest = sha256(presented);
    let matched = tokens.iter().fold(Choice::from(0), |acc, token| {
        acc | tags_equal(&token.0, &digest)
    });
    matched.into()
}

/// True when `presented` equals any of `expected`, compared in constant time.
pub(crate) fn any_tag_matches(expected: &[[u8; TAG_LEN]], presented: &[u8; TAG_LEN]) -> bool {
    let matched = expected
        .iter()
        .fold(Choice::from(0), |acc, tag| acc | tags_equal(tag, presented));
    matched.into()
}

/// Whether two tags are equal, in constant time, a 64-bit word at a time: the XOR of each pair
/// of words is OR-ed into one word without a branch, and only that word is compared (through
/// `subtle`, behind its optimisation barrier).
///
/// `subtle`'s slice `ct_eq` goes a byte at a time with a barrier on each byte: about 240
/// instructions for 32 bytes, a third of everything a token check does besides SHA-256 of the
/// token (`inproc callback` under callgrind).
fn tags_equal(a: &[u8; TAG_LEN], b: &[u8; TAG_LEN]) -> Choice {
    let (a_words, _) = a.as_chunks::<8>();
    let (b_words, _) = b.as_chunks::<8>();
    let differ = a_words.iter().zip(b_words).fold(0u64, |acc, (x, y)| {
        acc | (u64::from_ne_bytes(*x) ^ u64::from_ne_bytes(*y))
    });
    differ.ct_eq(&0)
}

/// Decodes a standard-base64 (padded) HMAC-SHA256 tag; anything else is `None`.
///
/// By hand, not through `base64`'s general engine: this runs on every Svix delivery, and the
/// engine's decode was the largest cost of verifying a 1 KiB delivery after the HMAC itself
/// (callgrind: ~480 of ~2 900 instructions); a per-character `match` still took ~780, a table
/// lookup with one validity check at the end ~200. Exactly what `STANDARD.decode_slice` accepts
/// for 32 bytes: 43 characters of the standard alphabet, then `=`, the last character's two
/// unused bits zero. (The presented tag is public: the table lookups leak nothing secret.)
pub(crate) fn decode_base64_tag(encoded: &[u8]) -> Option<[u8; TAG_LEN]> {
    // 32 bytes encode to exactly 44 characters with padding.
    let encoded: &[u8; 44] = encoded.try_into().ok()?;
    if encoded[43] != b'=' {
        return None;
    }
    let value = |c: u8| BASE64_VALUES[usize::from(c)];
    let mut tag = [0u8; TAG_LEN];
    // Any character outside the alphabet sets the high bit here.
    let mut invalid = 0u8;
    // Ten groups of 4 characters into 3 bytes, then 3 characters into the last 2 bytes.
    for (bytes, chars) in tag.chunks_exact_mut(3).zip(encoded.chunks_exact(4)) {
        let [a, b, c, d] = [chars[0], chars[1], chars[2], chars[3]].map(value);
        invalid |= a | b | c | d;
        let acc = (u32::from(a) << 18) | (u32::from(b) << 12) | (u32::from(c) << 6) | u32::from(d);
        bytes.copy_from_slice(&acc.to_be_bytes()[1..]);
    }
    let [a, b, c] = [encoded[40], encoded[41], encoded[42]].map(value);
    invalid |= a | b | c;
    // 18 bits: 16 of data, 2 that must be zero.
    let acc = (u32::from(a) << 12) | (u32::from(b) << 6) | u32::from(c);
    if invalid & 0x80 != 0 || acc & 0b11 != 0 {
        return None;
    }
    tag[30..].copy_from_slice(&((acc >> 2) as u16).to_be_bytes());
    Some(tag)
}

/// The standard base64 alphabet: each byte's 6-bit value, or 0xFF outside the alphabet.
const BASE64_VALUES: [u8; 256] = {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Decodes a 64-character hex HMAC-SHA256 tag (either case); anything else is `None`.
///
/// Through a table with one validity check at the end, like [`decode_base64_tag`]: a `match`
/// and an early return per character took ~520 instructions per delivery (callgrind).
pub(crate) fn decode_hex_tag(encoded: &[u8]) -> Option<[u8; TAG_LEN]> {
    let encoded: &[u8; TAG_LEN * 2] = encoded.try_into().ok()?;
    let value = |c: u8| HEX_VALUES[usize::from(c)];
    let mut tag = [0u8; TAG_LEN];
    // Any character that is not a hex digit sets the high bit here.
    let mut invalid = 0u8;
    for (byte, pair) in tag.iter_mut().zip(encoded.chunks_exact(2)) {
        let (high, low) = (value(pair[0]), value(pair[1]));
        invalid |= high | low;
        *byte = (high << 4) | (low & 0x0f);
    }
    (invalid & 0x80 == 0).then_some(tag)
}

/// Each byte's value as a hex digit (either case), or 0xFF.
const HEX_VALUES: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Lowercase hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> alloc::string::String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = alloc::string::String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Standard base64 with padding.
pub(crate) fn to_base64(bytes: &[u8]) -> alloc::string::String {
    STANDARD.encode(bytes)
}

/// A list of keys for one scheme: several at once while a secret is rotated.
pub(crate) type KeyRing<K> = Vec<K>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_equal_only_when_every_bit_is() {
        let tag: [u8; TAG_LEN] = core::array::from_fn(|i| (i as u8).wrapping_mul(37));
        assert!(bool::from(tags_equal(&tag, &tag)));
        for byte in 0..TAG_LEN {
            for bit in 0..8 {
                let mut other = tag;
                other[byte] ^= 1 << bit;
                assert!(
                    !bool::from(tags_equal(&tag, &other)),
                    "byte {byte} bit {bit}"
                );
                assert!(
                    !bool::from(tags_equal(&other, &tag)),
                    "byte {byte} bit {bit}"
                );
            }
        }
        assert!(any_tag_matches(&[[0; TAG_LEN], tag], &tag));
        assert!(!any_tag_matches(&[[0; TAG_LEN], [1; TAG_LEN]], &tag));
        assert!(!any_tag_matches(&[], &tag));
    }

    #[test]
    fn svix_secret_accepts_the_prefix_or_none() {
        assert!(svix_key("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_ok());
        assert!(svix_key("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_ok());
    }

    #[test]
    fn svix_secret_rejects_empty_and_undecodable() {
        assert_eq!(
            svix_key("whsec_").unwrap_err(),
            ConfigError::EmptySecret {
                scheme: Scheme::Svix
            }
        );
        assert_eq!(
            svix_key("").unwrap_err(),
            ConfigError::EmptySecret {
                scheme: Scheme::Svix
            }
        );
        assert_eq!(
            svix_key("whsec_!!!").unwrap_err(),
            ConfigError::InvalidSvixSecret
        );
    }

    #[test]
    fn hex_tags_decode_in_either_case_and_only_at_full_length() {
        let lower = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let upper = lower.to_ascii_uppercase();
        assert_eq!(
            decode_hex_tag(lower.as_bytes()),
            decode_hex_tag(upper.as_bytes())
        );
        assert!(decode_hex_tag(lower.as_bytes()).is_some());
        assert!(decode_hex_tag(&lower.as_bytes()[..62]).is_none());
        assert!(
            decode_hex_tag(b"zz07ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17ab")
                .is_none()
        );
    }

    #[test]
    fn base64_tags_decode_only_at_full_length() {
        assert!(decode_base64_tag(b"tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=").is_some());
        assert!(decode_base64_tag(b"tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw").is_none());
        assert!(decode_base64_tag(b"").is_none());
        assert!(decode_base64_tag(b"********************************************").is_none());
    }

    #[test]
    fn tokens_compare_by_digest() {
        let token = TokenDigest::new(Scheme::Callback, "s3cret").unwrap();
        assert!(!any_token_matches(core::slice::from_ref(&token), b"s3cre"));
        assert!(any_token_matches(core::slice::from_ref(&token), b"s3cret"));
        assert!(!any_token_matches(&[token], b""));
    }

    #[test]
    fn the_hex_tag_decoder_takes_exactly_the_hex_digits() {
        for byte in 0u8..=255 {
            let expected = char::from(byte).to_digit(16).map(|d| d as u8);
            for at in [0, 1, 30, 63] {
                let mut hex = [b'0'; 64];
                hex[at] = byte;
                let decoded = decode_hex_tag(&hex);
                let want = expected.map(|digit| {
                    let mut tag = [0u8; TAG_LEN];
                    tag[at / 2] = if at % 2 == 0 { digit << 4 } else { digit };
                    tag
                });
                assert_eq!(decoded, want, "byte {byte:#04x} at {at}");
            }
        }
    }

    #[test]
    fn the_base64_tag_decoder_agrees_with_the_base64_crate() {
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for seed in 0u8..=255 {
            let tag: Vec<u8> = (0..32u8)
                .map(|i| i.wrapping_mul(seed).wrapping_add(seed))
                .collect();
            let good = STANDARD.encode(&tag).into_bytes();
            inputs.push(good.clone());
            // One character changed to every other byte, at a few places.
            for at in [0, 20, 41, 42, 43] {
                let mut bad = good.clone();
                bad[at] = seed;
                inputs.push(bad);
            }
            inputs.push(good[..43].to_vec());
            let mut longer = good.clone();
            longer.push(b'=');
            inputs.push(longer);
        }
        for input in inputs {
            let mut buf = [0u8; 48];
            let expected = match STANDARD.decode_slice(&input, &mut buf) {
                Ok(32) if input.len() == 44 => Some(buf[..32].to_vec()),
                _ => None,
            };
            assert_eq!(
                decode_base64_tag(&input).map(|t| t.to_vec()),
                expected,
                "{:?}",
                alloc::string::String::from_utf8_lossy(&input)
            );
        }
    }
}
