//! `switchboard dev`.
