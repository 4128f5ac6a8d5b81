//! Python binding (filled by its own issue).
//!
//! Intentionally empty until its issue lands; see ARCHITECTURE.md.
