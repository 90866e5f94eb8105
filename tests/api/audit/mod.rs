//! The audit log (issue 17, point 3): what each event source writes, the listing's filters
//! and cursor, retention, the CLI, and the fold-in of the old exchange audit.

mod listing;
mod migration;
