//! What a motion is about, in the nine matters the Civil Code (民法典,
//! art. 278) leaves to the owners together, and the bar each must clear.
//!
//! Raising the maintenance fund, rebuilding and changing the use of common
//! parts (items 6–8) touch every owner's property most, so they need three
//! quarters of those who took part; everything else more than half. Both
//! by area and by head count, always.

use serde::{Deserialize, Serialize};

use crate::threshold::{Bar, MORE_THAN_HALF, THREE_QUARTERS};

/// The matters of Civil Code art. 278, in the article's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatterClass {
    /// (1) 制定和修改业主大会议事规则: the assembly's rules of procedure.
    AssemblyRules,
    /// (2) 制定和修改管理规约: the management covenant.
    ManagementCovenant,
    /// (3) 选举业主委员会或者更换业主委员会成员: electing or replacing the owners' committee.
    OwnersCommittee,
    /// (4) 选聘和解聘物业服务企业或者其他管理人: hiring or dismissing the property manager.
    PropertyManager,
    /// (5) 使用建筑物及其附属设施的维修资金: using the maintenance fund.
    UseMaintenanceFund,
    /// (6) 筹集建筑物及其附属设施的维修资金: raising the maintenance fund.
    RaiseMaintenanceFund,
    /// (7) 改建、重建建筑物及其附属设施: rebuilding or renovating buildings and their facilities.
    RebuildOrRenovate,
    /// (8) 改变共有部分的用途或者利用共有部分从事经营活动: changing the use of common parts or using them for business.
    CommonPartsUse,
    /// (9) 有关共有和共同管理权利的其他重大事项: other major matters of common ownership.
    OtherMajor,
}

impl MatterClass {
    /// Every class, in the article's order.
    pub const ALL: [MatterClass; 9] = [
        MatterClass::AssemblyRules,
        MatterClass::ManagementCovenant,
        MatterClass::OwnersCommittee,
        MatterClass::PropertyManager,
        MatterClass::UseMaintenanceFund,
        MatterClass::RaiseMaintenanceFund,
        MatterClass::RebuildOrRenovate,
        MatterClass::CommonPartsUse,
        MatterClass::OtherMajor,
    ];

    /// The item of art. 278 that names it, 1 to 9.
    pub fn item(self) -> u8 {
        Self::ALL
            .iter()
            .position(|c| *c == self)
            .map_or(0, |i| i as u8 + 1)
    }

    /// What agreeing area and agreeing owners must each reach, as a share
    /// of those that took part.
    pub fn passing_bar(self) -> Bar {
        match self {
            MatterClass::RaiseMaintenanceFund
            | MatterClass::RebuildOrRenovate
            | MatterClass::CommonPartsUse => THREE_QUARTERS,
            _ => MORE_THAN_HALF,
        }
    }

    /// The class's name as commands and records spell it.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threshold::Comparison;

    #[test]
    fn items_six_to_eight_need_three_quarters_and_the_rest_more_than_half() {
        for class in MatterClass::ALL {
            let bar = class.passing_bar();
            if (6..=8).contains(&class.item()) {
                assert_eq!(bar, THREE_QUARTERS, "{class:?}");
                assert_eq!(bar.comparison, Comparison::AtLeast);
            } else {
                assert_eq!(bar, MORE_THAN_HALF, "{class:?}");
                assert_eq!(bar.comparison, Comparison::MoreThan);
            }
        }
    }

    #[test]
    fn classes_are_numbered_and_named_as_the_article_lists_them() {
        let items: Vec<u8> = MatterClass::ALL.iter().map(|c| c.item()).collect();
        assert_eq!(items, (1..=9).collect::<Vec<u8>>());
        assert_eq!(
            MatterClass::UseMaintenanceFund.name(),
            "use-maintenance-fund"
        );
        let parsed: MatterClass = serde_json::from_str("\"common-parts-use\"").unwrap();
        assert_eq!(parsed.item(), 8);
    }
}
