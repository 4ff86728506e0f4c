//! Request handlers: one file per callback kind.

pub(crate) mod commands;
pub(crate) mod health;

use super::error::AppError;

/// Any path no route serves.
pub(crate) async fn not_found() -> AppError {
    AppError::NotFound
}
