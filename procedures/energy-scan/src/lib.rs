//! `energy-scan`: photon energy as a pseudo-axis. Each energy becomes an undulator gap (from a
//! calibration table, interpolated linearly) and a monochromator Bragg angle (Si(111) by
//! default), then an acquisition. See README.md.

use baton_guest::prelude::*;

pub struct EnergyScan;

/// hc in keV·Å: λ[Å] = HC_KEV_A / E[keV].
pub const HC_KEV_A: f64 = 12.39842;

/// Si(111) lattice spacing in Å.
pub const SI_111_D_A: f64 = 3.1356;

/// The default undulator calibration: photon energy (keV) → gap (mm), first harmonic.
pub const DEFAULT_TABLE_KEV: [f64; 7] = [5.0, 7.5, 10.0, 12.5, 15.0, 17.5, 20.0];
pub const DEFAULT_TABLE_GAP_MM: [f64; 7] = [6.80, 8.05, 9.45, 11.02, 12.71, 14.60, 16.74];

/// The Bragg angle in degrees for `energy_kev` on a crystal of spacing `d_a` (Å), or `None`
/// when the wavelength is too long to diffract (λ > 2d).
pub fn bragg_deg(energy_kev: f64, d_a: f64) -> Option<f64> {
    let lambda = HC_KEV_A / energy_kev;
    let s = lambda / (2.0 * d_a);
    (s > 0.0 && s <= 1.0).then(|| s.asin().to_degrees())
}

/// A calibration table: strictly increasing energies with their gaps.
#[derive(Clone, Debug, PartialEq)]
pub struct GapTable<'a> {
    kev: &'a [f64],
    gap_mm: &'a [f64],
}

impl<'a> GapTable<'a> {
    /// Checks the table; the message names what is wrong with it.
    pub fn new(kev: &'a [f64], gap_mm: &'a [f64]) -> Result<Self, String> {
        if kev.len() != gap_mm.len() {
            return Err(format!(
                "has {} energies but {} gaps",
                kev.len(),
                gap_mm.len()
            ));
        }
        if kev.len() < 2 {
            return Err(format!("needs at least 2 rows, has {}", kev.len()));
        }
        if let Some(w) = kev.windows(2).find(|w| w[0] >= w[1]) {
            return Err(format!(
                "energies must strictly increase, but {} keV is followed by {} keV",
                w[0], w[1]
            ));
        }
        if let Some(g) = gap_mm.iter().find(|g| **g <= 0.0) {
            return Err(format!("gaps must be positive, found {g} mm"));
        }
        Ok(GapTable { kev, gap_mm })
    }

    /// The lowest and highest calibrated energy.
    pub fn range(&self) -> (f64, f64) {
        (self.kev[0], self.kev[self.kev.len() - 1])
    }

    /// The gap for `energy_kev`, interpolated linearly; `None` outside the table.
    pub fn gap_mm(&self, energy_kev: f64) -> Option<f64> {
        let (low, high) = self.range();
        if !(low..=high).contains(&energy_kev) {
            return None;
        }
        // The first row at or above the energy; the segment ends there.
        let hi = self.kev.partition_point(|e| *e < energy_kev).max(1);
        let (e0, e1) = (self.kev[hi - 1], self.kev[hi]);
        let (g0, g1) = (self.gap_mm[hi - 1], self.gap_mm[hi]);
        Some(g0 + (energy_kev - e0) * (g1 - g0) / (e1 - e0))
    }
}

impl Procedure for EnergyScan {
    fn describe() -> Info {
        Info::new(
            "energy-scan",
            env!("CARGO_PKG_VERSION"),
            "Steps the photon energy: undulator gap from a calibration table and monochromator \
             Bragg angle from the crystal spacing, then one acquisition per energy.",
        )
        .param(ParamSpec::float("start_kev", "first energy (keV)").default(7.0))
        .param(ParamSpec::float("stop_kev", "last energy (keV)").default(7.2))
        .param(ParamSpec::int("points", "number of energies").default(5))
        .param(ParamSpec::float("exposure_s", "exposure per energy (s)").default(1.0))
        .param(
            ParamSpec::float(
                "d_spacing_a",
                "crystal lattice spacing (Å); Si(111) by default",
            )
            .default(SI_111_D_A),
        )
        .param(
            ParamSpec::floats(
                "table_kev",
                "calibration energies (keV), strictly increasing",
            )
            .default(DEFAULT_TABLE_KEV),
        )
        .param(
            ParamSpec::floats(
                "table_gap_mm",
                "undulator gap (mm) at each calibration energy",
            )
            .default(DEFAULT_TABLE_GAP_MM),
        )
        .param(ParamSpec::text("bragg", "monochromator Bragg axis").default("sim:mono:bragg"))
        .param(
            ParamSpec::text("bragg_readback", "Bragg axis readback").default("sim:mono:bragg.rbv"),
        )
        .param(
            ParamSpec::float("bragg_tolerance_deg", "Bragg readback tolerance (deg)")
                .default(0.0005),
        )
        .param(ParamSpec::text("gap", "undulator gap axis").default("sim:und:gap"))
        .param(ParamSpec::text("gap_readback", "undulator gap readback").default("sim:und:gap.rbv"))
        .param(ParamSpec::float("gap_tolerance_mm", "gap readback tolerance (mm)").default(0.002))
        .param(ParamSpec::text("detector", "detector device").default("sim:det"))
    }

    fn resolve(params: &Params, host: &dyn Host) -> Result<Plan, ResolveError> {
        let start = params.float_in("start_kev", 0.0..=100.0)?;
        let stop = params.float_in("stop_kev", 0.0..=100.0)?;
        let points = params.count("points", 1..=100_000)?;
        let exposure = params.float_in("exposure_s", 0.0001..=3600.0)?;
        let d = params.float_in("d_spacing_a", 0.1..=100.0)?;
        let table = GapTable::new(params.floats("table_kev")?, params.floats("table_gap_mm")?)
            .map_err(|e| {
                ResolveError::invalid_params(format!(
                    "the calibration table (`table_kev`, `table_gap_mm`) {e}"
                ))
            })?;
        let bragg_tol = params.float_in("bragg_tolerance_deg", 0.0..=1.0)?;
        let gap_tol = params.float_in("gap_tolerance_mm", 0.0..=1.0)?;

        let mut plan = Plan::with_capacity(3 * points);
        let gap = plan.name(params.channel("gap")?);
        let gap_rbv = plan.name(params.channel("gap_readback")?);
        let bragg = plan.name(params.channel("bragg")?);
        let bragg_rbv = plan.name(params.channel("bragg_readback")?);
        let det = plan.name(params.channel("detector")?);
        let acquire = plan.name("acquire");
        let exposure_s = plan.name("exposure_s");

        let (low, high) = table.range();
        for energy in linspace(start, stop, points) {
            let gap_mm = table.gap_mm(energy).ok_or_else(|| {
                ResolveError::invalid_params(format!(
                    "energy {energy} keV is outside the undulator calibration table ({low}–{high} keV)"
                ))
            })?;
            let theta = bragg_deg(energy, d).ok_or_else(|| {
                ResolveError::invalid_params(format!(
                    "energy {energy} keV is below the crystal's cutoff ({} keV for d = {d} Å)",
                    HC_KEV_A / (2.0 * d)
                ))
            })?;
            plan.push(
                Setpoint::new(gap, gap_mm)
                    .readback(gap_rbv)
                    .tolerance(gap_tol),
            );
            plan.push(
                Setpoint::new(bragg, theta)
                    .readback(bragg_rbv)
                    .tolerance(bragg_tol),
            );
            plan.push(Action::new(det, acquire).arg(exposure_s, exposure));
        }
        host.log(&format!(
            "energy-scan: {points} energies from {start} to {stop} keV, d = {d} Å"
        ));
        Ok(plan)
    }
}

baton_guest::export_procedure!(EnergyScan);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use baton_guest::ResolvedStep;
    use baton_guest::testing::Harness;

    #[test]
    fn the_example_params_json_resolves() {
        let r = Harness::<EnergyScan>::new()
            .params_json(include_str!("../params.json"))
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(r.steps.len(), 15);
        let theta = r.floats_on("sim:mono:bragg")[0];
        assert!((theta - 16.4056).abs() < 1e-4, "{theta}");
        assert!((r.floats_on("sim:und:gap")[0] - 7.8).abs() < 1e-12);
    }

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() <= eps
    }

    #[test]
    fn declaration_is_valid() {
        assert!(EnergyScan::describe().check().is_ok());
    }

    #[test]
    fn bragg_angle_of_known_energies() {
        // Cu Kα (8.048 keV) on Si(111): 14.221°; 12.398 keV (λ = 1 Å): 9.1755°.
        assert!(close(bragg_deg(8.048, SI_111_D_A).unwrap(), 14.221, 1e-3));
        assert!(close(
            bragg_deg(12.39842, SI_111_D_A).unwrap(),
            9.1755,
            1e-3
        ));
        // Below the cutoff E = hc / 2d ≈ 1.977 keV there is no reflection.
        assert_eq!(bragg_deg(1.9, SI_111_D_A), None);
        assert!(bragg_deg(1.98, SI_111_D_A).unwrap() > 85.0);
    }

    #[test]
    fn gap_interpolates_linearly_and_hits_the_rows() {
        let t = GapTable::new(&DEFAULT_TABLE_KEV, &DEFAULT_TABLE_GAP_MM).unwrap();
        assert_eq!(t.gap_mm(5.0), Some(6.80));
        assert_eq!(t.gap_mm(20.0), Some(16.74));
        assert_eq!(t.gap_mm(10.0), Some(9.45));
        assert!(close(t.gap_mm(8.75).unwrap(), (8.05 + 9.45) / 2.0, 1e-12));
        assert_eq!(t.gap_mm(4.999), None);
        assert_eq!(t.gap_mm(20.001), None);
    }

    #[test]
    fn a_bad_table_is_refused_with_the_reason() {
        assert!(
            GapTable::new(&[5.0, 6.0], &[1.0])
                .unwrap_err()
                .contains("2 energies but 1 gaps")
        );
        assert!(
            GapTable::new(&[5.0], &[1.0])
                .unwrap_err()
                .contains("at least 2")
        );
        assert!(
            GapTable::new(&[5.0, 5.0], &[1.0, 2.0])
                .unwrap_err()
                .contains("strictly increase")
        );
        assert!(
            GapTable::new(&[5.0, 6.0], &[1.0, 0.0])
                .unwrap_err()
                .contains("positive")
        );
    }

    #[test]
    fn each_energy_moves_gap_then_bragg_then_acquires() {
        let r = Harness::<EnergyScan>::new()
            .param("start_kev", 8.048)
            .param("stop_kev", 8.048)
            .param("points", 1_i64)
            .resolve()
            .unwrap();
        assert_eq!(r.steps.len(), 3);
        let ResolvedStep::Setpoint {
            channel,
            value: Value::Float(gap),
            readback,
            tolerance,
            ..
        } = &r.steps[0]
        else {
            panic!("{:?}", r.steps[0]);
        };
        assert_eq!(channel, "sim:und:gap");
        assert_eq!(readback.as_deref(), Some("sim:und:gap.rbv"));
        assert_eq!(*tolerance, Some(0.002));
        assert!(close(
            *gap,
            8.05 + (8.048 - 7.5) * (9.45 - 8.05) / 2.5,
            1e-12
        ));
        let ResolvedStep::Setpoint {
            channel,
            value: Value::Float(theta),
            readback,
            ..
        } = &r.steps[1]
        else {
            panic!("{:?}", r.steps[1]);
        };
        assert_eq!(channel, "sim:mono:bragg");
        assert_eq!(readback.as_deref(), Some("sim:mono:bragg.rbv"));
        assert!(close(*theta, 14.221, 1e-3));
        assert_eq!(r.steps[2].arg("exposure_s"), Some(&Value::Float(1.0)));
    }

    #[test]
    fn higher_energy_means_smaller_angle_and_larger_gap() {
        let r = Harness::<EnergyScan>::new()
            .param("start_kev", 6.0)
            .param("stop_kev", 19.0)
            .param("points", 14_i64)
            .resolve()
            .unwrap();
        let thetas = r.floats_on("sim:mono:bragg");
        let gaps = r.floats_on("sim:und:gap");
        assert_eq!(thetas.len(), 14);
        assert!(thetas.windows(2).all(|w| w[0] > w[1]));
        assert!(gaps.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn energies_outside_the_table_are_refused_naming_energy_and_range() {
        let e = Harness::<EnergyScan>::new()
            .param("start_kev", 4.5)
            .param("stop_kev", 6.0)
            .resolve()
            .unwrap_err();
        assert_eq!(
            e,
            ResolveError::InvalidParams(
                "energy 4.5 keV is outside the undulator calibration table (5–20 keV)".into()
            )
        );
        let e = Harness::<EnergyScan>::new()
            .param("start_kev", 19.0)
            .param("stop_kev", 21.0)
            .param("points", 3_i64)
            .resolve()
            .unwrap_err();
        assert!(e.message().starts_with("energy 21 keV is outside"), "{e}");
    }

    #[test]
    fn a_custom_table_and_crystal_are_used() {
        let r = Harness::<EnergyScan>::new()
            .param("table_kev", vec![1.0, 30.0])
            .param("table_gap_mm", vec![10.0, 39.0])
            .param("d_spacing_a", 1.6375) // Si(311)
            .param("start_kev", 15.0)
            .param("stop_kev", 15.0)
            .param("points", 1_i64)
            .resolve()
            .unwrap();
        assert!(close(r.floats_on("sim:und:gap")[0], 24.0, 1e-12));
        let expected = (HC_KEV_A / 15.0 / (2.0 * 1.6375)).asin().to_degrees();
        assert!(close(r.floats_on("sim:mono:bragg")[0], expected, 1e-12));
    }

    #[test]
    fn below_the_crystal_cutoff_is_refused() {
        let e = Harness::<EnergyScan>::new()
            .param("table_kev", vec![1.0, 30.0])
            .param("table_gap_mm", vec![10.0, 39.0])
            .param("start_kev", 1.5)
            .param("stop_kev", 1.5)
            .param("points", 1_i64)
            .resolve()
            .unwrap_err();
        assert!(e.message().contains("below the crystal's cutoff"), "{e}");
    }

    #[test]
    fn a_broken_table_parameter_is_invalid_params() {
        let e = Harness::<EnergyScan>::new()
            .param("table_kev", vec![5.0, 10.0, 8.0])
            .param("table_gap_mm", vec![6.0, 9.0, 8.0])
            .resolve()
            .unwrap_err();
        assert!(
            matches!(&e, ResolveError::InvalidParams(m) if m.contains("`table_kev`") && m.contains("strictly increase")),
            "{e}"
        );
        let e = Harness::<EnergyScan>::new()
            .param("points", 0_i64)
            .resolve()
            .unwrap_err();
        assert!(e.message().contains("`points`"), "{e}");
    }
}
