//! Which case (and which extra launch of it) a backend's `run` is serving, for backends that
//! pass it on: a process backend sends the case id with every request, so its author can tell
//! which case a request belongs to. Kept in a thread-local set around the `run` call, so the
//! `Backend` trait stays as it is.

use std::cell::RefCell;

use crate::case::Case;

thread_local! {
    static CURRENT: RefCell<Option<LaunchContext>> = const { RefCell::new(None) };
}

/// The case a launch belongs to, and what the launch is when it is not the case's first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchContext {
    /// The case id.
    pub case_id: String,
    /// `None` for the case's own launch; otherwise what the extra launch is (e.g. a rerun).
    pub part: Option<String>,
}

impl LaunchContext {
    /// The case's own launch.
    pub fn case(case: &Case) -> Self {
        LaunchContext {
            case_id: case.id(),
            part: None,
        }
    }

    /// An extra launch of `case` (a rerun, a smaller launch).
    pub fn part(case: &Case, what: &str) -> Self {
        LaunchContext {
            case_id: case.id(),
            part: Some(what.to_string()),
        }
    }

    /// Runs `f` with this context as the current one on this thread.
    pub fn enter<R>(self, f: impl FnOnce() -> R) -> R {
        let previous = CURRENT.with(|c| c.replace(Some(self)));
        let result = f();
        CURRENT.with(|c| *c.borrow_mut() = previous);
        result
    }

    /// The context of the launch this thread is running, if any.
    pub fn current() -> Option<LaunchContext> {
        CURRENT.with(|c| c.borrow().clone())
    }
}
