//! `align`: reads where a motor is and scans it across a window centred there, acquiring at
//! each point, then returns it to where it was. The read goes through the host, so the pin
//! records the position the plan was made from. See README.md.

use baton_guest::prelude::*;

pub struct Align;

impl Procedure for Align {
    fn describe() -> Info {
        Info::new(
            "align",
            env!("CARGO_PKG_VERSION"),
            "Relative scan of one motor around its current position, one acquisition per \
             point, then back to the starting position.",
        )
        .param(ParamSpec::text("motor", "motor channel").default("sim:mx"))
        .param(
            ParamSpec::text("readback", "motor readback, read to find the centre")
                .default("sim:mx.rbv"),
        )
        .param(
            ParamSpec::float(
                "range",
                "full width of the scan (mm), centred on the current position",
            )
            .default(1.0),
        )
        .param(ParamSpec::int("points", "number of points across the range").default(11))
        .param(ParamSpec::float("tolerance", "readback tolerance (mm)").default(0.005))
        .param(ParamSpec::text("detector", "detector device").default("sim:det"))
        .param(ParamSpec::float("exposure_s", "exposure per point (s)").default(0.2))
    }

    fn resolve(params: &Params, host: &dyn Host) -> Result<Plan, ResolveError> {
        let motor = params.channel("motor")?;
        let readback = params.channel("readback")?;
        let range = params.float_in("range", 0.0..=100.0)?;
        let points = params.count("points", 2..=10_001)?;
        let tolerance = params.float_in("tolerance", 0.0..=10.0)?;
        let exposure = params.float_in("exposure_s", 0.0001..=3600.0)?;
        let detector = params.channel("detector")?;
        if range <= 0.0 {
            return Err(ParamError::invalid("range", "must be greater than 0").into());
        }

        let centre = host.read_number(readback)?;
        let (first, last) = (centre - range / 2.0, centre + range / 2.0);
        host.log(&format!(
            "align: {motor} is at {centre} (from {readback}); {points} points from {first} to {last}"
        ));

        let mut plan = Plan::with_capacity(2 * points + 1);
        let m = plan.name(motor);
        let rbv = plan.name(readback);
        let det = plan.name(detector);
        let acquire = plan.name("acquire");
        let exposure_s = plan.name("exposure_s");
        for x in linspace(first, last, points) {
            plan.push(Setpoint::new(m, x).readback(rbv).tolerance(tolerance));
            plan.push(Action::new(det, acquire).arg(exposure_s, exposure));
        }
        // Leave the motor where the scan found it: the operator picks the peak from the data.
        plan.push(Setpoint::new(m, centre).readback(rbv).tolerance(tolerance));
        Ok(plan)
    }
}

baton_guest::export_procedure!(Align);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use baton_guest::testing::Harness;

    #[test]
    fn the_example_params_json_resolves() {
        let h = Harness::<Align>::new()
            .params_json(include_str!("../params.json"))
            .unwrap()
            .reading("sim:mx.rbv", 1.0);
        let r = h.resolve().unwrap();
        assert_eq!(r.steps.len(), 11);
        let xs = r.floats_on("sim:mx");
        let expected = [0.8, 0.9, 1.0, 1.1, 1.2, 1.0];
        assert!(
            xs.iter().zip(expected).all(|(x, e)| (x - e).abs() < 1e-12),
            "{xs:?}"
        );
    }

    #[test]
    fn declaration_is_valid() {
        assert!(Align::describe().check().is_ok());
    }

    #[test]
    fn scans_around_the_position_read_and_returns() {
        let h = Harness::<Align>::new()
            .reading("sim:mx.rbv", 3.0)
            .param("range", 2.0)
            .param("points", 5_i64);
        let r = h.resolve().unwrap();
        assert_eq!(r.floats_on("sim:mx"), [2.0, 2.5, 3.0, 3.5, 4.0, 3.0]);
        assert_eq!(r.actions_on("sim:det").len(), 5);
        assert_eq!(r.steps.len(), 11);
        assert_eq!(h.reads(), ["sim:mx.rbv"]);
        assert_eq!(
            h.log(),
            ["align: sim:mx is at 3 (from sim:mx.rbv); 5 points from 2 to 4"]
        );
    }

    #[test]
    fn an_int_reading_is_a_position() {
        let r = Harness::<Align>::new()
            .reading("sim:mx.rbv", -1_i64)
            .param("points", 3_i64)
            .resolve()
            .unwrap();
        assert_eq!(r.floats_on("sim:mx"), [-1.5, -1.0, -0.5, -1.0]);
    }

    #[test]
    fn another_motor_reads_its_own_readback() {
        let h = Harness::<Align>::new()
            .reading("BL13:SMP:Y.RBV", 10.0)
            .param("motor", "BL13:SMP:Y")
            .param("readback", "BL13:SMP:Y.RBV")
            .param("points", 2_i64);
        let r = h.resolve().unwrap();
        assert_eq!(r.floats_on("BL13:SMP:Y"), [9.5, 10.5, 10.0]);
        assert_eq!(h.reads(), ["BL13:SMP:Y.RBV"]);
    }

    #[test]
    fn an_unreadable_motor_fails_naming_the_channel() {
        let e = Harness::<Align>::new()
            .failing_read("sim:mx.rbv", "channel disconnected")
            .resolve()
            .unwrap_err();
        assert_eq!(
            e,
            ResolveError::Failed("cannot read `sim:mx.rbv`: channel disconnected".into())
        );
        let e = Harness::<Align>::new()
            .reading("sim:mx.rbv", "moving")
            .resolve()
            .unwrap_err();
        assert!(
            matches!(&e, ResolveError::Failed(m) if m.contains("expected a number")),
            "{e}"
        );
    }

    #[test]
    fn bad_parameters_are_refused_before_reading() {
        let h = Harness::<Align>::new()
            .reading("sim:mx.rbv", 0.0)
            .param("points", 1_i64);
        let e = h.resolve().unwrap_err();
        assert!(
            matches!(&e, ResolveError::InvalidParams(m) if m.contains("`points`")),
            "{e}"
        );
        assert!(h.reads().is_empty());
        let e = Harness::<Align>::new()
            .param("range", 0.0)
            .resolve()
            .unwrap_err();
        assert_eq!(e.message(), "parameter `range` must be greater than 0");
        let e = Harness::<Align>::new()
            .param("range", -1.0)
            .resolve()
            .unwrap_err();
        assert!(e.message().contains("`range`"), "{e}");
    }
}
