//! `[message]`.
