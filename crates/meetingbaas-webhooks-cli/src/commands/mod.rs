//! One module per subcommand (the Meeting BaaS API commands share `api`).

pub(crate) mod api;
pub(crate) mod demo;
pub(crate) mod inbox;
pub(crate) mod listen;
pub(crate) mod parse;
pub(crate) mod sign;
pub(crate) mod trigger;
pub(crate) mod verify;
