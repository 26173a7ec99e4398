//! Deterministic pseudo-randomness for detector noise: SplitMix64 seeded from the beamline seed,
//! the detector's name and the frame number. Hand-written rather than a crate's generator so that
//! the counts for a seed never change with a dependency upgrade.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for counting noise.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A Poisson-distributed count with the given mean: exact (Knuth) for small means, the
    /// normal approximation (rounded, never negative) above 30, where it is indistinguishable
    /// for a simulated detector.
    pub fn poisson(&mut self, mean: f64) -> u64 {
        if !(mean.is_finite() && mean > 0.0) {
            return 0;
        }
        if mean < 30.0 {
            let limit = (-mean).exp();
            let mut k = 0u64;
            let mut p = self.next_f64();
            while p > limit {
                k += 1;
                p *= self.next_f64();
            }
            return k;
        }
        let u1 = 1.0 - self.next_f64(); // (0, 1]: ln stays finite
        let u2 = self.next_f64();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        (mean + mean.sqrt() * z).round().max(0.0) as u64
    }
}

/// FNV-1a of a name: a stable hash for mixing names into seeds.
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}
