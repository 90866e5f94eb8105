//! `warden audit tail|export`: the audit log as JSON lines (one event a line), for a
//! terminal or a SIEM.

use std::io::Write;

use clap::Subcommand;

use crate::admin::audit;
use crate::clock::{Clock, SystemClock};
use crate::domain::AuditEvent;
use crate::settings::Settings;
use crate::startup::open_database;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// The newest events, oldest of them first.
    Tail {
        /// How many.
        #[arg(short = 'n', default_value_t = 20)]
        n: i64,
    },
    /// Every event since a time, oldest first.
    Export {
        /// Unix seconds, or how long ago: 90m, 24h, 7d.
        #[arg(long)]
        since: String,
    },
}

pub async fn audit(settings: &Settings, command: AuditCommand) -> anyhow::Result<()> {
    // Parse before opening the database, so a typo costs nothing.
    let since = match &command {
        AuditCommand::Tail { n } => {
            anyhow::ensure!(*n >= 1, "-n must be at least 1");
            None
        }
        AuditCommand::Export { since } => Some(parse_since(since, SystemClock.now())?),
    };
    let store = open_database(settings).await?;
    let mut out = std::io::stdout().lock();
    let mut line = |event: &AuditEvent| -> anyhow::Result<()> {
        serde_json::to_writer(&mut out, event)?;
        writeln!(out)?;
        Ok(())
    };
    match (command, since) {
        (AuditCommand::Tail { n }, _) => {
            for event in audit::tail(&store, n).await? {
                line(&event)?;
            }
        }
        (AuditCommand::Export { .. }, Some(since)) => audit::export(&store, since, line).await?,
        (AuditCommand::Export { .. }, None) => {}
    }
    Ok(())
}

/// `1733200000` (Unix seconds) or `24h` (that long before `now`).
fn parse_since(raw: &str, now: i64) -> anyhow::Result<i64> {
    let bad =
        || anyhow::anyhow!("--since {raw:?}: use Unix seconds or a duration like 90m, 24h, 7d");
    if let Ok(at) = raw.parse::<i64>() {
        return Ok(at);
    }
    let (digits, unit) = raw.split_at(raw.len().saturating_sub(1));
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let n: i64 = digits.parse().map_err(|_| bad())?;
    n.checked_mul(unit)
        .filter(|ago| *ago >= 0)
        .map(|ago| now - ago)
        .ok_or_else(bad)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_is_a_time_or_a_duration_ago() {
        assert_eq!(parse_since("1000", 5000).unwrap(), 1000);
        assert_eq!(parse_since("1h", 5000).unwrap(), 1400);
        assert_eq!(parse_since("2d", 200_000).unwrap(), 200_000 - 172_800);
        for bad in ["", "h", "1w", "-1h", "yesterday"] {
            assert!(parse_since(bad, 5000).is_err(), "{bad}");
        }
    }
}
