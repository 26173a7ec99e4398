//! Helpers for the arithmetic every scan needs.

/// `points` evenly spaced values from `start` to `stop`, both included exactly (no rounding
/// drift past `stop`). One point is `start`; zero points is empty.
///
/// ```
/// # use baton_guest::linspace;
/// let xs: Vec<f64> = linspace(0.0, 1.0, 5).collect();
/// assert_eq!(xs, [0.0, 0.25, 0.5, 0.75, 1.0]);
/// assert_eq!(linspace(2.0, 3.0, 1).collect::<Vec<_>>(), [2.0]);
/// ```
pub fn linspace(start: f64, stop: f64, points: usize) -> Linspace {
    Linspace {
        start,
        stop,
        points,
        front: 0,
        back: points,
    }
}

/// The iterator [`linspace`] returns; also indexable with [`Linspace::at`].
#[derive(Clone, Debug)]
pub struct Linspace {
    start: f64,
    stop: f64,
    points: usize,
    front: usize,
    back: usize,
}

impl Linspace {
    /// The `i`-th value (`i < points`), independent of iteration.
    pub fn at(&self, i: usize) -> f64 {
        if self.points <= 1 || i == 0 {
            self.start
        } else if i + 1 == self.points {
            self.stop
        } else {
            // Multiply before dividing: the product is often exact, leaving one rounding, so
            // "nice" grids stay nice (0 to 1.5 in 4 points is 0, 0.5, 1, 1.5 exactly).
            self.start + (self.stop - self.start) * i as f64 / (self.points - 1) as f64
        }
    }
}

impl Iterator for Linspace {
    type Item = f64;

    fn next(&mut self) -> Option<f64> {
        if self.front >= self.back {
            return None;
        }
        let x = self.at(self.front);
        self.front += 1;
        Some(x)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Linspace {
    fn next_back(&mut self) -> Option<f64> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        Some(self.at(self.back))
    }
}

impl ExactSizeIterator for Linspace {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_exact() {
        let xs: Vec<f64> = linspace(0.1, 0.7, 7).collect();
        assert_eq!(xs.len(), 7);
        assert_eq!(xs[0], 0.1);
        assert_eq!(xs[6], 0.7);
        assert!(xs.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn descending_and_reversed() {
        let xs: Vec<f64> = linspace(1.0, -1.0, 3).collect();
        assert_eq!(xs, [1.0, 0.0, -1.0]);
        let back: Vec<f64> = linspace(1.0, -1.0, 3).rev().collect();
        assert_eq!(back, [-1.0, 0.0, 1.0]);
    }

    #[test]
    fn nice_grids_stay_nice() {
        let ys: Vec<f64> = linspace(0.0, 1.5, 4).collect();
        assert_eq!(ys, [0.0, 0.5, 1.0, 1.5]);
        let xs: Vec<f64> = linspace(-1.0, 1.0, 5).collect();
        assert_eq!(xs, [-1.0, -0.5, 0.0, 0.5, 1.0]);
    }

    #[test]
    fn degenerate_counts() {
        assert_eq!(linspace(0.0, 1.0, 0).count(), 0);
        assert_eq!(linspace(5.0, 9.0, 1).collect::<Vec<_>>(), [5.0]);
        assert_eq!(linspace(0.0, 1.0, 4).len(), 4);
        assert_eq!(linspace(0.0, 3.0, 4).at(2), 2.0);
    }
}
