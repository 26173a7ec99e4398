//! `grid-scan`: a 2-D raster over two motors with an acquisition at every point. See README.md.

use baton_guest::Linspace;
use baton_guest::prelude::*;

pub struct GridScan;

/// At most this many points (`x_points * y_points`): about three million steps, far beyond any
/// real raster, and small enough that the guest can hold the plan.
pub const MAX_POINTS: usize = 1_000_000;

/// One axis of the raster: `points` positions evenly spaced from `start` to `stop`, inclusive.
fn axis(params: &Params, axis: &str) -> Result<Linspace, ResolveError> {
    let start = params.float_in(&format!("{axis}_start"), -1000.0..=1000.0)?;
    let stop = params.float_in(&format!("{axis}_stop"), -1000.0..=1000.0)?;
    let points = params.count(&format!("{axis}_points"), 1..=MAX_POINTS)?;
    Ok(linspace(start, stop, points))
}

impl Procedure for GridScan {
    fn describe() -> Info {
        let mut info = Info::new(
            "grid-scan",
            env!("CARGO_PKG_VERSION"),
            "2-D raster over two motors (X fast, Y slow), optionally snaking, with one \
             acquisition per point.",
        );
        for (axis, motor, start, stop) in [("x", "sim:mx", -1.0, 1.0), ("y", "sim:my", -1.0, 1.0)] {
            info = info
                .param(ParamSpec::text(format!("{axis}_motor"), "motor channel").default(motor))
                .param(
                    ParamSpec::text(format!("{axis}_readback"), "motor readback channel")
                        .default(format!("{motor}.rbv")),
                )
                .param(
                    ParamSpec::float(format!("{axis}_start"), "first position (mm)").default(start),
                )
                .param(ParamSpec::float(format!("{axis}_stop"), "last position (mm)").default(stop))
                .param(
                    ParamSpec::int(format!("{axis}_points"), "positions on this axis").default(3),
                );
        }
        info.param(ParamSpec::flag("snake", "reverse X on every other row").default(true))
            .param(
                ParamSpec::float("tolerance", "readback tolerance of both motors (mm)")
                    .default(0.005),
            )
            .param(ParamSpec::text("detector", "detector device").default("sim:det"))
            .param(ParamSpec::float("exposure_s", "exposure per point (s)").default(0.1))
    }

    fn resolve(params: &Params, host: &dyn Host) -> Result<Plan, ResolveError> {
        let x = axis(params, "x")?;
        let y = axis(params, "y")?;
        let (nx, ny) = (x.len(), y.len());
        let points = nx.saturating_mul(ny);
        if points > MAX_POINTS {
            return Err(ResolveError::invalid_params(format!(
                "the grid has {nx} x {ny} = {points} points; at most {MAX_POINTS} are allowed"
            )));
        }
        let snake = params.flag("snake")?;
        let tolerance = params.float_in("tolerance", 0.0..=10.0)?;
        let exposure = params.float_in("exposure_s", 0.0001..=3600.0)?;

        // One Y move per row, then an X move and an acquisition per point.
        let steps = ny + 2 * points;
        let mut plan = Plan::with_capacity(steps);
        let mx = plan.name(params.channel("x_motor")?);
        let mx_rbv = plan.name(params.channel("x_readback")?);
        let my = plan.name(params.channel("y_motor")?);
        let my_rbv = plan.name(params.channel("y_readback")?);
        let det = plan.name(params.channel("detector")?);
        let acquire = plan.name("acquire");
        let exposure_s = plan.name("exposure_s");
        host.log(&format!(
            "grid-scan: {nx} x {ny} points, snake {snake}, {steps} steps"
        ));

        let xs: Vec<f64> = x.collect();
        for (row, yi) in y.enumerate() {
            plan.push(Setpoint::new(my, yi).readback(my_rbv).tolerance(tolerance));
            let reversed = snake && row % 2 == 1;
            for i in 0..nx {
                let xi = if reversed { xs[nx - 1 - i] } else { xs[i] };
                plan.push(Setpoint::new(mx, xi).readback(mx_rbv).tolerance(tolerance));
                plan.push(Action::new(det, acquire).arg(exposure_s, exposure));
            }
        }
        Ok(plan)
    }
}

baton_guest::export_procedure!(GridScan);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use baton_guest::ResolvedStep;
    use baton_guest::testing::{Harness, Resolved};

    #[test]
    fn the_example_params_json_resolves() {
        let r = Harness::<GridScan>::new()
            .params_json(include_str!("../params.json"))
            .unwrap()
            .resolve()
            .unwrap();
        // 3 x 4 snake: 4 row moves, 12 points of (move, acquire).
        assert_eq!(r.steps.len(), 28);
        assert_eq!(r.floats_on("sim:mx")[..6], [0.0, 0.5, 1.0, 1.0, 0.5, 0.0]);
        assert_eq!(r.floats_on("sim:my"), [0.0, 0.5, 1.0, 1.5]);
    }

    fn grid(nx: i64, ny: i64, snake: bool) -> Harness<GridScan> {
        Harness::<GridScan>::new()
            .param("x_start", 0.0)
            .param("x_stop", 2.0)
            .param("x_points", nx)
            .param("y_start", 10.0)
            .param("y_stop", 11.0)
            .param("y_points", ny)
            .param("snake", snake)
    }

    /// The (x, y) of every acquisition, in order: X and Y are where the motors last went.
    fn visited(r: &Resolved) -> Vec<(f64, f64)> {
        let (mut x, mut y) = (f64::NAN, f64::NAN);
        let mut out = Vec::new();
        for step in &r.steps {
            match step {
                ResolvedStep::Setpoint {
                    channel,
                    value: Value::Float(v),
                    ..
                } if channel == "sim:mx" => x = *v,
                ResolvedStep::Setpoint {
                    channel,
                    value: Value::Float(v),
                    ..
                } if channel == "sim:my" => y = *v,
                ResolvedStep::Action { .. } => out.push((x, y)),
                other => panic!("unexpected step {other:?}"),
            }
        }
        out
    }

    #[test]
    fn declaration_is_valid() {
        assert!(GridScan::describe().check().is_ok());
    }

    #[test]
    fn raster_without_snake_goes_left_to_right_every_row() {
        let r = grid(3, 2, false).resolve().unwrap();
        assert_eq!(r.steps.len(), 2 + 2 * 6);
        assert_eq!(
            visited(&r),
            [
                (0.0, 10.0),
                (1.0, 10.0),
                (2.0, 10.0),
                (0.0, 11.0),
                (1.0, 11.0),
                (2.0, 11.0)
            ]
        );
    }

    #[test]
    fn snake_reverses_every_other_row() {
        let r = grid(3, 3, true).resolve().unwrap();
        let xs: Vec<f64> = visited(&r).iter().map(|p| p.0).collect();
        assert_eq!(xs, [0.0, 1.0, 2.0, 2.0, 1.0, 0.0, 0.0, 1.0, 2.0]);
    }

    #[test]
    fn every_point_is_visited_once() {
        let r = grid(4, 5, true).resolve().unwrap();
        let mut points = visited(&r);
        points.sort_by(|a, b| a.partial_cmp(b).unwrap());
        points.dedup();
        assert_eq!(points.len(), 20);
    }

    #[test]
    fn steps_carry_readbacks_tolerance_and_exposure() {
        let r = grid(2, 1, false)
            .param("exposure_s", 0.25)
            .param("tolerance", 0.01)
            .resolve()
            .unwrap();
        assert_eq!(
            r.steps[0],
            ResolvedStep::Setpoint {
                channel: "sim:my".into(),
                value: Value::Float(10.0),
                readback: Some("sim:my.rbv".into()),
                tolerance: Some(0.01),
                settle_ms: None,
            }
        );
        assert_eq!(
            r.steps[2],
            ResolvedStep::Action {
                device: "sim:det".into(),
                command: "acquire".into(),
                args: vec![("exposure_s".into(), Value::Float(0.25))],
                timeout_ms: None,
            }
        );
    }

    #[test]
    fn channels_are_configurable_for_epics() {
        let r = grid(1, 1, false)
            .param("x_motor", "BL13:SMP:X")
            .param("x_readback", "BL13:SMP:X.RBV")
            .param("detector", "BL13:DET1")
            .resolve()
            .unwrap();
        assert_eq!(r.floats_on("BL13:SMP:X"), [0.0]);
        assert_eq!(r.actions_on("BL13:DET1").len(), 1);
        assert!(r.plan.names().iter().any(|n| n == "BL13:SMP:X.RBV"));
        assert!(!r.plan.names().iter().any(|n| n == "sim:mx"));
    }

    #[test]
    fn a_single_point_axis_stays_at_start() {
        let r = grid(1, 1, true).resolve().unwrap();
        assert_eq!(visited(&r), [(0.0, 10.0)]);
    }

    #[test]
    fn names_are_shared_by_all_steps() {
        let r = grid(50, 40, true).resolve().unwrap();
        assert_eq!(r.plan.len(), 40 + 2 * 2000);
        assert_eq!(r.plan.names().len(), 7);
    }

    #[test]
    fn a_hundred_thousand_steps_resolve() {
        // 224 rows of 224 points: 224 + 2 * 50 176 = 100 576 steps.
        let r = grid(224, 224, true).resolve().unwrap();
        assert_eq!(r.plan.len(), 100_576);
    }

    #[test]
    fn refuses_bad_grids_naming_the_parameter() {
        let e = grid(0, 3, true).resolve().unwrap_err();
        assert!(
            matches!(&e, ResolveError::InvalidParams(m) if m.contains("`x_points`")),
            "{e}"
        );
        let e = grid(1001, 1000, true).resolve().unwrap_err();
        assert!(
            matches!(&e, ResolveError::InvalidParams(m) if m.contains("1001000 points")),
            "{e}"
        );
        let e = grid(2, 2, true)
            .param("exposure_s", -1.0)
            .resolve()
            .unwrap_err();
        assert!(
            matches!(&e, ResolveError::InvalidParams(m) if m.contains("`exposure_s`")),
            "{e}"
        );
        let e = grid(2, 2, true).param("x_motor", "").resolve().unwrap_err();
        assert!(
            matches!(&e, ResolveError::InvalidParams(m) if m.contains("`x_motor`")),
            "{e}"
        );
        let e = grid(2, 2, true)
            .param("snake", 1_i64)
            .resolve()
            .unwrap_err();
        assert!(
            matches!(&e, ResolveError::InvalidParams(m) if m.contains("`snake`")),
            "{e}"
        );
        let e = grid(2, 2, true)
            .param("y_stop", 5000.0)
            .resolve()
            .unwrap_err();
        assert!(
            matches!(&e, ResolveError::InvalidParams(m) if m.contains("`y_stop`")),
            "{e}"
        );
    }

    #[test]
    fn logs_the_shape() {
        let h = grid(3, 4, true);
        h.resolve().unwrap();
        assert_eq!(h.log(), ["grid-scan: 3 x 4 points, snake true, 28 steps"]);
        assert!(h.reads().is_empty());
    }
}
