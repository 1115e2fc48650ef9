//! One module per subcommand.

pub(crate) mod demo;
pub(crate) mod inbox;
pub(crate) mod listen;
pub(crate) mod sign;
pub(crate) mod trigger;
pub(crate) mod verify;
