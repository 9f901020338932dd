//! Fault injection: where a test may stop a turn as if the process died there.

/// A point in a turn at which the process may die.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The journal was opened; nothing else happened.
    Opened,
    /// A calendar change was made and its answer not yet recorded.
    AfterEffect,
    /// The model answered and the plan was recorded.
    AfterPlan,
    /// Chunk `k` (0-based) was accepted by Instagram and its id not yet recorded.
    SentUnrecorded(usize),
    /// Chunk `k` was accepted and recorded.
    AfterChunk(usize),
    /// The first log entry of the outcome was written, the rest not yet.
    Recording,
    /// Everything is done but the ack.
    BeforeAck,
}

/// Decides whether the turn "dies" at a step. Production uses [`NoFaults`].
pub trait FaultPlan: Send + Sync + std::fmt::Debug {
    /// True to stop the turn at `step` with no cleanup at all (the lease simply runs out).
    fn crash_at(&self, step: Step) -> bool;
}

/// Never crashes.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFaults;

impl FaultPlan for NoFaults {
    fn crash_at(&self, _step: Step) -> bool {
        false
    }
}
