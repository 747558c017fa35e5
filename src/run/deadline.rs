//! One launch of a backend's `run` on a thread of its own, with a deadline: what the case
//! runner and the invariance reruns both call, so neither imports the other for it.

use std::sync::{Arc, mpsc};
use std::time::Duration;

use crosscheck_spec::{Backend, HostTensor, KernelError, OutputBuffer, Problem, Variant};

use crate::run::isolate::isolated;
use crate::run::launch_context::LaunchContext;

/// One call of a backend's `run`: which kernel, built for which variant, on which problem.
pub(crate) struct Launch<'a> {
    /// Kernel name.
    pub kernel: &'a str,
    /// Storage precision and path.
    pub variant: Variant,
    /// The problem.
    pub problem: &'a Problem,
    /// Which case and launch this is, for backends that pass it on (process backends).
    pub context: LaunchContext,
}

/// How a backend's `run` ended.
pub(crate) enum Ran {
    /// It returned (the inputs and output come back with its result).
    Done(Result<(), KernelError>, Vec<HostTensor>, OutputBuffer),
    /// It panicked.
    Panicked(String),
    /// It did not return in time.
    TimedOut,
    /// It could not be started.
    NotStarted(String),
}

/// Calls `backend.run` on a thread of its own and waits at most `timeout` for it.
pub(crate) fn run_with_deadline(
    backend: &Arc<dyn Backend>,
    launch: &Launch,
    inputs: Vec<HostTensor>,
    mut output: OutputBuffer,
    timeout: Duration,
) -> Ran {
    let (tx, rx) = mpsc::channel();
    let backend = backend.clone();
    let (kernel, variant, problem, context) = (
        launch.kernel.to_string(),
        launch.variant,
        launch.problem.clone(),
        launch.context.clone(),
    );
    let spawned = std::thread::Builder::new()
        .name("crosscheck-run".into())
        .spawn(move || {
            let result = {
                let refs: Vec<&HostTensor> = inputs.iter().collect();
                context.enter(|| {
                    isolated(|| backend.run(&kernel, variant, &problem, &refs, &mut output))
                })
            };
            let _ = tx.send((result, inputs, output));
        });
    if let Err(e) = spawned {
        return Ran::NotStarted(format!("could not start a thread for the kernel: {e}"));
    }
    match rx.recv_timeout(timeout) {
        Ok((Ok(result), inputs, output)) => Ran::Done(result, inputs, output),
        Ok((Err(panic), ..)) => Ran::Panicked(panic),
        Err(_) => Ran::TimedOut,
    }
}
