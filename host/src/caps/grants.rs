//! `grants`: a plugin asks what its installation was granted. It reads the
//! installation's own grants and nothing else, so it needs no grant itself
//! and has no effects.

use std::sync::Arc;

use super::{CapabilitySet, InstallationContext};
use crate::wit::linli::platform::grants::{GrantSet, Host, MapGrant, NotifyGrant};

/// Per-instance `grants` state: the installation whose grants it answers.
pub struct GrantsHost {
    ctx: Arc<InstallationContext>,
}

impl GrantsHost {
    pub fn new(ctx: Arc<InstallationContext>) -> Self {
        Self { ctx }
    }
}

/// The WIT form of a grant set.
pub fn grant_set(grants: &CapabilitySet) -> GrantSet {
    GrantSet {
        sensor: grants.sensor.as_ref().map(|s| s.kinds.clone()),
        store: grants.store.is_some(),
        timer: grants.timer.is_some(),
        ledger: grants.ledger.as_ref().map(|l| l.namespaces.clone()),
        alarm: grants.alarm.as_ref().map(|a| a.types.clone()),
        map: grants.map.as_ref().map(|m| MapGrant { people: m.people }),
        notify: grants.notify.as_ref().map(|n| NotifyGrant {
            topics: n.topics.clone(),
            critical: n.critical,
        }),
    }
}

impl Host for GrantsHost {
    async fn granted(&mut self) -> GrantSet {
        grant_set(&self.ctx.grants)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::{map::MapScope, notify::NotifyScope, store::StoreScope};

    #[test]
    fn a_capability_left_out_is_absent_and_scopes_are_as_granted() {
        let grants = CapabilitySet {
            store: Some(StoreScope {}),
            map: Some(MapScope { people: false }),
            notify: Some(NotifyScope {
                topics: vec!["work-order".into()],
                critical: false,
            }),
            ..CapabilitySet::default()
        };
        let set = grant_set(&grants);
        assert!(set.store);
        assert!(!set.timer);
        assert_eq!(set.sensor, None);
        assert_eq!(set.map.map(|m| m.people), Some(false));
        let notify = set.notify.expect("notify granted");
        assert_eq!(notify.topics, ["work-order"]);
        assert!(!notify.critical);
    }
}
