//! `temperature-ramp`: setpoint plateaus; at each, wait until the sample temperature is within
//! tolerance, then a dwell acquisition. See README.md.

use baton_guest::prelude::*;

pub struct TemperatureRamp;

/// The controller's safe range (K). The device catalog has the final word; this refuses
/// obvious typos (a plateau in °C, say) before they reach it.
pub const MIN_K: f64 = 4.0;
pub const MAX_K: f64 = 1000.0;

/// At most this many plateaus.
pub const MAX_PLATEAUS: usize = 10_000;

impl Procedure for TemperatureRamp {
    fn describe() -> Info {
        Info::new(
            "temperature-ramp",
            env!("CARGO_PKG_VERSION"),
            "Drives the sample temperature through plateaus; at each, waits until the readback \
             is within tolerance, then acquires for the dwell time.",
        )
        .param(
            ParamSpec::floats("plateaus_k", "plateau temperatures (K), in order")
                .default([300.0, 310.0, 320.0]),
        )
        .param(ParamSpec::float("tolerance_k", "how close the readback must come (K)").default(0.5))
        .param(
            ParamSpec::float(
                "stabilize_timeout_s",
                "how long to wait for each plateau (s)",
            )
            .default(600.0),
        )
        .param(ParamSpec::float("dwell_s", "acquisition time at each plateau (s)").default(10.0))
        .param(ParamSpec::text("setpoint", "temperature setpoint channel").default("sim:temp:sp"))
        .param(ParamSpec::text("readback", "sample temperature channel").default("sim:temp:rbv"))
        .param(ParamSpec::text("detector", "detector device").default("sim:det"))
    }

    fn resolve(params: &Params, host: &dyn Host) -> Result<Plan, ResolveError> {
        let plateaus = params.floats("plateaus_k")?;
        if plateaus.is_empty() {
            return Err(ResolveError::invalid_params(
                "parameter `plateaus_k` is empty: give at least one temperature",
            ));
        }
        if plateaus.len() > MAX_PLATEAUS {
            return Err(ResolveError::invalid_params(format!(
                "parameter `plateaus_k` has {} plateaus; at most {MAX_PLATEAUS} are allowed",
                plateaus.len()
            )));
        }
        if let Some((i, t)) = plateaus
            .iter()
            .enumerate()
            .find(|(_, t)| !(MIN_K..=MAX_K).contains(*t))
        {
            return Err(ResolveError::invalid_params(format!(
                "plateau #{i} of `plateaus_k` is {t} K, outside the controller's range [{MIN_K}, {MAX_K}] K"
            )));
        }
        let tolerance = params.float_in("tolerance_k", 0.001..=50.0)?;
        let timeout_s = params.float_in("stabilize_timeout_s", 1.0..=86_400.0)?;
        let dwell = params.float_in("dwell_s", 0.001..=86_400.0)?;
        // In range by the check above: at most 86 400 000 ms, well within u32.
        let timeout_ms = (timeout_s * 1000.0).round() as u32;

        let mut plan = Plan::with_capacity(3 * plateaus.len());
        let sp = plan.name(params.channel("setpoint")?);
        let rbv = plan.name(params.channel("readback")?);
        let det = plan.name(params.channel("detector")?);
        let acquire = plan.name("acquire");
        let exposure_s = plan.name("exposure_s");
        for &t in plateaus {
            plan.push(Setpoint::new(sp, t));
            plan.push(Check::within(rbv, t, tolerance).timeout_ms(timeout_ms));
            plan.push(Action::new(det, acquire).arg(exposure_s, dwell));
        }
        host.log(&format!(
            "temperature-ramp: {} plateaus, ±{tolerance} K, {dwell} s dwell",
            plateaus.len()
        ));
        Ok(plan)
    }
}

baton_guest::export_procedure!(TemperatureRamp);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use baton_guest::testing::Harness;

    #[test]
    fn the_example_params_json_resolves() {
        let r = Harness::<TemperatureRamp>::new()
            .params_json(include_str!("../params.json"))
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(r.steps.len(), 9);
        assert_eq!(r.floats_on("sim:temp:sp"), [300.0, 310.0, 320.0]);
        assert_eq!(
            r.actions_on("sim:det")[0].arg("exposure_s"),
            Some(&Value::Float(2.0))
        );
    }
    use baton_guest::{Criterion, ResolvedStep};

    #[test]
    fn declaration_is_valid() {
        assert!(TemperatureRamp::describe().check().is_ok());
    }

    #[test]
    fn each_plateau_is_set_checked_and_acquired() {
        let r = Harness::<TemperatureRamp>::new()
            .param("plateaus_k", vec![80.0, 100.0])
            .param("tolerance_k", 0.2)
            .param("stabilize_timeout_s", 300.0)
            .param("dwell_s", 5.0)
            .resolve()
            .unwrap();
        assert_eq!(
            r.steps,
            vec![
                ResolvedStep::Setpoint {
                    channel: "sim:temp:sp".into(),
                    value: Value::Float(80.0),
                    readback: None,
                    tolerance: None,
                    settle_ms: None,
                },
                ResolvedStep::Check {
                    channel: "sim:temp:rbv".into(),
                    criterion: Criterion::Within {
                        target: 80.0,
                        tolerance: 0.2
                    },
                    timeout_ms: Some(300_000),
                },
                ResolvedStep::Action {
                    device: "sim:det".into(),
                    command: "acquire".into(),
                    args: vec![("exposure_s".into(), Value::Float(5.0))],
                    timeout_ms: None,
                },
                ResolvedStep::Setpoint {
                    channel: "sim:temp:sp".into(),
                    value: Value::Float(100.0),
                    readback: None,
                    tolerance: None,
                    settle_ms: None,
                },
                ResolvedStep::Check {
                    channel: "sim:temp:rbv".into(),
                    criterion: Criterion::Within {
                        target: 100.0,
                        tolerance: 0.2
                    },
                    timeout_ms: Some(300_000),
                },
                ResolvedStep::Action {
                    device: "sim:det".into(),
                    command: "acquire".into(),
                    args: vec![("exposure_s".into(), Value::Float(5.0))],
                    timeout_ms: None,
                },
            ]
        );
    }

    #[test]
    fn plateaus_keep_their_order_even_when_cooling() {
        let r = Harness::<TemperatureRamp>::new()
            .param("plateaus_k", vec![300.0, 250.0, 275.0])
            .resolve()
            .unwrap();
        assert_eq!(r.floats_on("sim:temp:sp"), [300.0, 250.0, 275.0]);
    }

    #[test]
    fn defaults_resolve_to_three_plateaus() {
        let h = Harness::<TemperatureRamp>::new();
        let r = h.resolve().unwrap();
        assert_eq!(r.steps.len(), 9);
        assert_eq!(
            h.log(),
            ["temperature-ramp: 3 plateaus, ±0.5 K, 10 s dwell"]
        );
    }

    #[test]
    fn refuses_empty_and_out_of_range_plateaus() {
        let e = Harness::<TemperatureRamp>::new()
            .param("plateaus_k", Vec::new())
            .resolve()
            .unwrap_err();
        assert!(
            matches!(&e, ResolveError::InvalidParams(m) if m.contains("empty")),
            "{e}"
        );
        let e = Harness::<TemperatureRamp>::new()
            .param("plateaus_k", vec![300.0, 25.0, 1200.0])
            .resolve()
            .unwrap_err();
        assert!(
            e.message().contains("plateau #1") || e.message().contains("plateau #2"),
            "{e}"
        );
        assert_eq!(
            e.message(),
            "plateau #2 of `plateaus_k` is 1200 K, outside the controller's range [4, 1000] K"
        );
        let e = Harness::<TemperatureRamp>::new()
            .param("plateaus_k", vec![2.0])
            .resolve()
            .unwrap_err();
        assert!(e.message().starts_with("plateau #0"), "{e}");
    }

    #[test]
    fn refuses_bad_tolerance_and_timeout() {
        let e = Harness::<TemperatureRamp>::new()
            .param("tolerance_k", 0.0)
            .resolve()
            .unwrap_err();
        assert!(e.message().contains("`tolerance_k`"), "{e}");
        let e = Harness::<TemperatureRamp>::new()
            .param("stabilize_timeout_s", 1e9)
            .resolve()
            .unwrap_err();
        assert!(e.message().contains("`stabilize_timeout_s`"), "{e}");
        let e = Harness::<TemperatureRamp>::new()
            .param("plateaus_k", 300.0)
            .resolve()
            .unwrap_err();
        assert!(e.message().contains("must be a list of floats"), "{e}");
    }

    #[test]
    fn channels_are_configurable() {
        let r = Harness::<TemperatureRamp>::new()
            .param("setpoint", "BL13:TC1:SP")
            .param("readback", "BL13:TC1:T")
            .resolve()
            .unwrap();
        assert_eq!(r.floats_on("BL13:TC1:SP").len(), 3);
        assert!(r.steps.iter().any(|s| s.target() == "BL13:TC1:T"));
    }
}
