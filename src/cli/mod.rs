//! Admin subcommands. They open the database exactly as `serve` does and print what they
//! create as JSON on stdout, so operators can script them.

pub mod audit;
pub mod bootstrap;
pub mod domains;
pub mod exchange;
pub mod grants;
pub mod id_jag;
pub mod idps;
pub mod keys;
pub mod registry;
pub mod resource_check;
pub mod upstream;
pub mod users;
pub mod workload;

use std::io::Write;

use serde::Serialize;

/// Prints one JSON document on stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}
