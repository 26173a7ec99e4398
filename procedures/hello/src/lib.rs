//! `hello`: the smallest useful procedure. Moves one motor to a position and takes one
//! exposure. See README.md.

use baton_guest::prelude::*;

pub struct Hello;

impl Procedure for Hello {
    fn describe() -> Info {
        Info::new(
            "hello",
            env!("CARGO_PKG_VERSION"),
            "Moves one motor and takes one exposure.",
        )
        .param(ParamSpec::float("position", "where to move the motor (mm)").default(1.0))
        .param(ParamSpec::float("exposure_s", "exposure time (s)").default(0.1))
    }

    fn resolve(params: &Params, host: &dyn Host) -> Result<Plan, ResolveError> {
        let position = params.float_in("position", -50.0..=50.0)?;
        let exposure = params.float_in("exposure_s", 0.001..=60.0)?;
        host.log(&format!(
            "hello: sim:mx to {position} mm, then {exposure} s on sim:det"
        ));

        let mut plan = Plan::new();
        plan.push(
            Setpoint::new("sim:mx", position)
                .readback("sim:mx.rbv")
                .tolerance(0.01),
        );
        plan.push(Action::new("sim:det", "acquire").arg("exposure_s", exposure));
        Ok(plan)
    }
}

baton_guest::export_procedure!(Hello);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use baton_guest::ResolvedStep;
    use baton_guest::testing::Harness;

    #[test]
    fn the_example_params_json_resolves() {
        let r = Harness::<Hello>::new()
            .params_json(include_str!("../params.json"))
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(r.floats_on("sim:mx"), [2.5]);
        assert_eq!(r.steps[1].arg("exposure_s"), Some(&Value::Float(0.5)));
    }

    #[test]
    fn declares_its_parameters_with_defaults() {
        let info = Hello::describe();
        assert_eq!(info.name(), "hello");
        assert!(info.check().is_ok());
        let names: Vec<&str> = info.params().iter().map(|p| p.name()).collect();
        assert_eq!(names, ["position", "exposure_s"]);
    }

    #[test]
    fn moves_then_acquires() {
        let h = Harness::<Hello>::new()
            .param("position", 2.5)
            .param("exposure_s", 0.5);
        let r = h.resolve().unwrap();
        assert_eq!(
            r.steps,
            vec![
                ResolvedStep::Setpoint {
                    channel: "sim:mx".into(),
                    value: Value::Float(2.5),
                    readback: Some("sim:mx.rbv".into()),
                    tolerance: Some(0.01),
                    settle_ms: None,
                },
                ResolvedStep::Action {
                    device: "sim:det".into(),
                    command: "acquire".into(),
                    args: vec![("exposure_s".into(), Value::Float(0.5))],
                    timeout_ms: None,
                },
            ]
        );
        assert_eq!(h.log(), ["hello: sim:mx to 2.5 mm, then 0.5 s on sim:det"]);
        assert!(h.reads().is_empty());
    }

    #[test]
    fn defaults_resolve() {
        let r = Harness::<Hello>::new().resolve().unwrap();
        assert_eq!(r.floats_on("sim:mx"), [1.0]);
        assert_eq!(
            r.actions_on("sim:det")[0].arg("exposure_s"),
            Some(&Value::Float(0.1))
        );
    }

    #[test]
    fn an_int_position_is_accepted() {
        let r = Harness::<Hello>::new()
            .param("position", 3_i64)
            .resolve()
            .unwrap();
        assert_eq!(r.floats_on("sim:mx"), [3.0]);
    }

    #[test]
    fn refuses_positions_out_of_travel_and_bad_exposures() {
        let e = Harness::<Hello>::new()
            .param("position", 51.0)
            .resolve()
            .unwrap_err();
        assert_eq!(
            e,
            ResolveError::InvalidParams("parameter `position` must be in [-50, 50], got 51".into())
        );
        let e = Harness::<Hello>::new()
            .param("exposure_s", 0.0)
            .resolve()
            .unwrap_err();
        assert!(matches!(&e, ResolveError::InvalidParams(m) if m.contains("`exposure_s`")));
        let e = Harness::<Hello>::new()
            .param("position", "far")
            .resolve()
            .unwrap_err();
        assert!(matches!(&e, ResolveError::InvalidParams(m) if m.contains("must be a float")));
    }
}
