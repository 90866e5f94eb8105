//! `warden resource check ID|URI [--json]`: the probes of `oauth::resource_check`, run
//! from the command line with the keys and fetch rules of the server.

use std::process::ExitCode;

use crate::admin::AdminError;
use crate::admin::resource_check;
use crate::clock::SystemClock;
use crate::domain::CheckOutcome;
use crate::fetch::Fetcher;
use crate::oauth::resource_check::Prober;
use crate::settings::Settings;
use crate::startup::{load_master_key, load_signing_keys, open_database};

/// Exit status when the resource does not exist (1 is kept for a failed point).
const NO_SUCH_RESOURCE: u8 = 2;

pub async fn run(settings: &Settings, target: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_database(settings).await?;
    let master = load_master_key(settings, &store).await?;
    let clock = SystemClock;
    let keys =
        load_signing_keys(settings, &store, &master, crate::clock::Clock::now(&clock)).await?;
    let fetcher = Fetcher::new(
        settings.dev_allow_loopback_fetch,
        settings.egress_proxy.clone(),
        std::sync::Arc::new(SystemClock),
    );
    let prober = Prober {
        settings,
        keys: &keys,
        fetcher: &fetcher,
        clock: &clock,
    };
    let report = match resource_check::check(&store, &prober, target).await {
        Ok(report) => report,
        Err(AdminError::NotFound(message)) => {
            eprintln!("warden: {message}");
            return Ok(ExitCode::from(NO_SUCH_RESOURCE));
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        super::print_json(&report)?;
    } else {
        print!("{}", report.to_text());
    }
    Ok(match report.outcome {
        CheckOutcome::Pass => ExitCode::SUCCESS,
        CheckOutcome::Fail => ExitCode::FAILURE,
    })
}
