//! Replaying a dead letter's bundle against a build: a host of its own set
//! up as the bundle says (map, devices, grants, config, the plugin's state,
//! the clock at the failure), the event filed as a dead letter there and
//! delivered again by the retry path, so the build under test sees the
//! same event, state and surroundings the failed one did.

use serde_json::Value;

use super::run::{setup_error, Run, Setup, COMMUNITY};
use super::{DeviceSpec, ScenarioError};
use crate::api::dead_letter_bundle::{DeadLetterBundle, BUNDLE_FORMAT};
use crate::caps::store::snapshot;
use crate::ids::{CommunityId, PluginId};
use crate::runtime::installation;
use crate::runtime::mailbox::Retried;

/// What the build did with the replayed event.
#[derive(Debug, PartialEq)]
pub enum Replayed {
    /// The handler returned `Ok` and its effects landed.
    Handled,
    /// It failed again: the failure as a dead letter would say it.
    FailedAgain(String),
}

/// Replays `bundle` against the plugin in `package`.
pub async fn replay(
    package: Vec<u8>,
    bundle: &DeadLetterBundle,
) -> Result<Replayed, ScenarioError> {
    if bundle.format != BUNDLE_FORMAT {
        return Err(setup_error(format!(
            "format: {:?}, this linli reads {BUNDLE_FORMAT:?}",
            bundle.format
        )));
    }
    let setup = Setup {
        start: bundle.dead_letter.at,
        map: bundle.map.clone(),
        devices: bundle
            .devices
            .iter()
            .map(|d| DeviceSpec {
                id: d.id.clone(),
                kind: d.kind.clone(),
                reading_kinds: d.reading_kinds.clone(),
                location: d.location.clone(),
            })
            .collect(),
        grants: Some(serde_json::to_value(&bundle.grants).map_err(setup_error)?),
        config: bundle.config.clone(),
    };
    let run = Run::start(package, &setup).await?;
    let replayed = deliver(&run, bundle).await;
    run.server.shutdown().await.map_err(setup_error)?;
    replayed
}

async fn deliver(run: &Run, bundle: &DeadLetterBundle) -> Result<Replayed, ScenarioError> {
    let entries = bundle
        .state
        .iter()
        .map(|entry| {
            entry
                .bytes()
                .map(|bytes| (entry.key.clone(), bytes))
                .ok_or_else(|| setup_error(format!("state {:?}: not base64", entry.key)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let db = run.server.db();
    let community: CommunityId = COMMUNITY.parse().map_err(setup_error)?;
    let plugin: PluginId = run.plugin.parse().map_err(setup_error)?;
    snapshot::restore(db, &community, &plugin, &entries)
        .await
        .map_err(setup_error)?;
    let filed = installation::file_dead_letter(db, &run.installation, &bundle.dead_letter)
        .await
        .map_err(setup_error)?;
    let retried = run
        .server
        .runtime()
        .retry(&run.installation, filed)
        .await
        .map_err(setup_error)?
        .map_err(setup_error)?;
    Ok(match retried {
        Retried::Handled => Replayed::Handled,
        Retried::FailedAgain(error) => Replayed::FailedAgain(error),
    })
}

/// A bundle read from a file.
pub fn read_bundle(text: &str) -> Result<DeadLetterBundle, ScenarioError> {
    serde_json::from_str::<Value>(text)
        .and_then(serde_json::from_value)
        .map_err(|e| setup_error(format!("not a dead-letter bundle: {e}")))
}
