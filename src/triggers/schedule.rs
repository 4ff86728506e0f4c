//! `[schedule]`.
