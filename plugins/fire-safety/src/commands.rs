//! The plugin's commands: reading and advancing work orders, marking
//! alarms false, the detectors flagged for maintenance and the daily
//! health report.

use linli_sdk::{parse_input, Caller, Error};
use serde_json::Value as Json;

use crate::config::Config;
use crate::{callers, false_alarms, health, work_orders};

pub fn run(config: &Config, caller: &Caller, name: &str, input: Json) -> Result<Json, Error> {
    match name {
        "advance" => work_orders::advance(config, caller, parse_input(input)?),
        "mark-false" => false_alarms::mark_false(config, caller, input),
        "work-orders" | "work-order" | "maintenance" | "report" => {
            if !callers::may_read(config, caller)? {
                return Err(Error::Denied(format!(
                    "{} may not read {name}: operators and staff may",
                    caller.name()
                )));
            }
            match name {
                "work-orders" => work_orders::list(parse_input(input)?),
                "work-order" => work_orders::one(parse_input(input)?),
                "maintenance" => false_alarms::list(),
                _ => health::report(config, input),
            }
        }
        _ => Err(Error::Invalid(format!(
            "unknown command: {name} (advance, mark-false, work-orders, work-order, maintenance, report)"
        ))),
    }
}
