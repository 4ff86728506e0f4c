//! End-to-end tests: the real Switchboard against the simulated Mattermost, over HTTP on
//! 127.0.0.1 with OS-picked ports. One binary, a module per feature.

mod helpers;
mod skeleton;
