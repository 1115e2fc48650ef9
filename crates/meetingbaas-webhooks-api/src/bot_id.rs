//! Bot ids, checked before they are put into a request path.

use std::fmt;
use std::str::FromStr;

/// A Meeting BaaS bot id: a UUID-shaped string (`8-4-4-4-12` hexadecimal digits, either case).
///
/// Version and variant bits are not checked: ids in real payloads do not always follow RFC 4122.
/// The shape is checked so that a bot id can never change the path or query of a request.
///
/// ```
/// use meetingbaas_webhooks_api::BotId;
///
/// let bot: BotId = "123e4567-e89b-12d3-a456-426614174000".parse().unwrap();
/// assert_eq!(bot.as_str(), "123e4567-e89b-12d3-a456-426614174000");
/// assert!("../accounts".parse::<BotId>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BotId(String);

/// Why a string is not a [`BotId`]. Its message shows at most an escaped excerpt of the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{excerpt}` is not a bot id: expected a UUID such as 123e4567-e89b-12d3-a456-426614174000"
)]
pub struct InvalidBotId {
    excerpt: String,
}

impl BotId {
    /// Checks `id` and keeps it as given.
    pub fn new(id: impl Into<String>) -> Result<BotId, InvalidBotId> {
        let id = id.into();
        if is_uuid_shaped(&id) {
            Ok(BotId(id))
        } else {
            Err(InvalidBotId {
                excerpt: crate::error::excerpt(&id, 60),
            })
        }
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for BotId {
    type Err = InvalidBotId;

    fn from_str(id: &str) -> Result<BotId, InvalidBotId> {
        BotId::new(id)
    }
}

impl fmt::Display for BotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for BotId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

fn is_uuid_shaped(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shaped_ids_are_accepted_in_either_case() {
        for id in [
            "123e4567-e89b-12d3-a456-426614174000",
            "ABCDEF01-2345-6789-ABCD-EF0123456789",
            "00000000-0000-0000-0000-000000000000",
        ] {
            assert_eq!(BotId::new(id).unwrap().as_str(), id);
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for id in [
            "",
            "bot-1",
            "123e4567e89b12d3a456426614174000",
            "123e4567-e89b-12d3-a456-42661417400g",
            "123e4567-e89b-12d3-a456-4266141740001",
            "123e4567-e89b-12d3-a456/426614174000",
            "../../accounts/webhook_url?x=1234567",
            "123e4567-e89b-12d3-a456-42661417400\u{e9}",
        ] {
            assert!(BotId::new(id).is_err(), "{id:?}");
        }
    }

    #[test]
    fn the_error_escapes_and_shortens_the_input() {
        let err = BotId::new(format!("\u{1b}[31m{}", "a".repeat(500))).unwrap_err();
        let message = err.to_string();
        assert!(!message.contains('\u{1b}'));
        assert!(message.len() < 200, "{message}");
    }
}
