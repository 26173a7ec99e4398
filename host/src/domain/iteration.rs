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
