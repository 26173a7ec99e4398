//! Iteration bookkeeping of a procedure: 1-based indices, each the strict successor of the
//! count so far, at most one open at a time, and a streak of unconverged iterations checked
//! against an optional patience cap declared at define.

use serde::{Deserialize, Serialize};

/// Why an iteration command does not fit the bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IterationConflict {
    #[error("iteration {open} is still open")]
    AlreadyOpen { open: u32 },
    #[error("no iteration is open")]
    NoneOpen,
    #[error("{streak} consecutive unconverged iterations reached the patience cap of {cap}")]
    PatienceExhausted { streak: u32, cap: u32 },
}

/// An index that is not the one the bookkeeping expects.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IterationIndexError {
    #[error("iteration {got} is not the strict successor of {count} (expected {expected})")]
    NotStrictSuccessor { count: u32, expected: u32, got: u32 },
    #[error("iteration {got} is not the open iteration {open}")]
    NotOpen { open: u32, got: u32 },
    #[error("the iteration count is exhausted")]
    Overflow,
}

/// Either kind of refusal, as the iteration checks report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IterationRefusal {
    Conflict(IterationConflict),
    Index(IterationIndexError),
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Iterations {
    /// Iterations begun so far; the last begun one has this index.
    pub count: u32,
    /// The iteration begun and not yet ended.
    pub open: Option<u32>,
    /// Consecutive ended iterations that did not report `converged = true`.
    pub unconverged_streak: u32,
    /// At most this many consecutive unconverged iterations; a declaration the start guard
    /// enforces, never an automatic abort.
    pub patience_cap: Option<u32>,
}

impl Iterations {
    pub fn with_cap(patience_cap: Option<u32>) -> Self {
        Iterations {
            patience_cap,
            ..Iterations::default()
        }
    }

    /// The index the next iteration must carry.
    pub fn next_index(&self) -> Option<u32> {
        self.count.checked_add(1)
    }

    /// Whether iteration `index` may begin now.
    pub fn check_start(&self, index: u32) -> Result<(), IterationRefusal> {
        if let Some(open) = self.open {
            return Err(IterationRefusal::Conflict(IterationConflict::AlreadyOpen {
                open,
            }));
        }
        let expected = self
            .next_index()
            .ok_or(IterationRefusal::Index(IterationIndexError::Overflow))?;
        if index != expected {
            return Err(IterationRefusal::Index(
                IterationIndexError::NotStrictSuccessor {
                    count: self.count,
                    expected,
                    got: index,
                },
            ));
        }
        if let Some(cap) = self.patience_cap
            && self.unconverged_streak >= cap
        {
            return Err(IterationRefusal::Conflict(
                IterationConflict::PatienceExhausted {
                    streak: self.unconverged_streak,
                    cap,
                },
            ));
        }
        Ok(())
    }

    /// Whether iteration `index` may end now.
    pub fn check_end(&self, index: u32) -> Result<(), IterationRefusal> {
        match self.open {
            None => Err(IterationRefusal::Conflict(IterationConflict::NoneOpen)),
            Some(open) if open != index => {
                Err(IterationRefusal::Index(IterationIndexError::NotOpen {
                    open,
                    got: index,
                }))
            }
            Some(_) => Ok(()),
        }
    }

    /// The bookkeeping after iteration `index` began.
    pub fn started(&self, index: u32) -> Self {
        Iterations {
            count: index,
            open: Some(index),
            ..self.clone()
        }
    }

    /// The bookkeeping after the open iteration ended. Only an explicit `converged = true`
    /// resets the streak: an iteration that could not tell counts against patience.
    pub fn ended(&self, converged: Option<bool>) -> Self {
        let unconverged_streak = if converged == Some(true) {
            0
        } else {
            self.unconverged_streak.saturating_add(1)
        };
        Iterations {
            open: None,
            unconverged_streak,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_first_iteration_is_one() {
        let it = Iterations::default();
        assert_eq!(it.next_index(), Some(1));
        assert_eq!(
            it.check_start(0),
            Err(IterationRefusal::Index(
                IterationIndexError::NotStrictSuccessor {
                    count: 0,
                    expected: 1,
                    got: 0
                }
            ))
        );
        assert_eq!(it.check_start(1), Ok(()));
        assert_eq!(
            it.check_end(1),
            Err(IterationRefusal::Conflict(IterationConflict::NoneOpen))
        );
    }

    #[test]
    fn streak_resets_only_on_converged_true() {
        let it = Iterations::with_cap(Some(3));
        let it = it.started(1).ended(Some(false));
        assert_eq!(it.unconverged_streak, 1);
        let it = it.started(2).ended(None);
        assert_eq!(it.unconverged_streak, 2);
        let it = it.started(3).ended(Some(true));
        assert_eq!(it.unconverged_streak, 0);
        assert_eq!(it.count, 3);
        assert_eq!(it.patience_cap, Some(3), "the cap is carried");
    }

    #[test]
    fn the_cap_refuses_the_next_start_not_the_end() {
        let it = Iterations::with_cap(Some(1)).started(1);
        assert_eq!(it.check_end(1), Ok(()));
        let it = it.ended(Some(false));
        assert_eq!(
            it.check_start(2),
            Err(IterationRefusal::Conflict(
                IterationConflict::PatienceExhausted { streak: 1, cap: 1 }
            ))
        );
        // Without a cap the streak only counts.
        let uncapped = Iterations {
            patience_cap: None,
            ..it
        };
        assert_eq!(uncapped.check_start(2), Ok(()));
    }

    #[test]
    fn the_count_cannot_overflow() {
        let it = Iterations {
            count: u32::MAX,
            ..Iterations::default()
        };
        assert_eq!(
            it.check_start(0),
            Err(IterationRefusal::Index(IterationIndexError::Overflow))
        );
    }

    proptest! {
        /// Only the strict successor starts; only the open index ends.
        #[test]
        fn only_the_successor_starts_and_only_the_open_one_ends(count in 0u32..1000, index in 0u32..1002) {
            let it = Iterations { count, ..Iterations::default() };
            prop_assert_eq!(it.check_start(index).is_ok(), index == count + 1);
            let open = it.started(count + 1);
            prop_assert_eq!(open.check_end(index).is_ok(), index == count + 1);
            prop_assert!(open.check_start(index).is_err(), "one open at a time");
        }

        #[test]
        fn the_streak_counts_the_unconverged_tail(outcomes in prop::collection::vec(any::<Option<bool>>(), 0..30)) {
            let mut it = Iterations::default();
            for (i, c) in outcomes.iter().enumerate() {
                let index = u32::try_from(i).unwrap() + 1;
                prop_assert!(it.check_start(index).is_ok());
                it = it.started(index).ended(*c);
            }
            let tail = outcomes.iter().rev().take_while(|c| **c != Some(true)).count();
            prop_assert_eq!(it.unconverged_streak as usize, tail);
            prop_assert_eq!(it.count as usize, outcomes.len());
        }
    }
}
