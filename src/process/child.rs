//! A running backend process: started through the shell in a process group of its own, with a
//! writer thread, a reader thread and the tail of its standard error, so that a request can be
//! abandoned after a deadline and the whole group killed.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::ProcessSpec;
use super::frame::{FrameError, read_frame_within, write_frame};

/// Bytes of standard error kept for messages.
const STDERR_TAIL: usize = 4096;

/// How long a process may take to exit after its input is closed before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// What went wrong in one exchange.
#[derive(Debug)]
pub enum Fault {
    /// No answer within the deadline.
    Timeout(Duration),
    /// The process ended or closed its output.
    Exited(String),
    /// The answer could not be read as a frame.
    Frame(String),
}

/// A started process and the threads that talk to it.
pub struct Child {
    process: std::process::Child,
    to_process: Option<mpsc::Sender<Vec<u8>>>,
    from_process: mpsc::Receiver<Result<Vec<u8>, FrameError>>,
    limit: Arc<AtomicUsize>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
}

impl Child {
    /// Starts `spec.command` through the shell.
    pub fn spawn(spec: &ProcessSpec) -> Result<Child, String> {
        let mut command = shell(&spec.command);
        command
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut process = command
            .spawn()
            .map_err(|e| format!("could not start `{}`: {e}", spec.command))?;
        let stdin = process.stdin.take().expect("stdin is piped");
        let mut stdout = process.stdout.take().expect("stdout is piped");
        let mut stderr_pipe = process.stderr.take().expect("stderr is piped");
        let (to_process, requests) = mpsc::channel::<Vec<u8>>();
        let (answers, from_process) = mpsc::channel();
        let limit = Arc::new(AtomicUsize::new(0));
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        std::thread::Builder::new()
            .name("crosscheck-process-writer".into())
            .spawn(move || write_requests(stdin, requests))
            .map_err(|e| format!("could not start a writer thread: {e}"))?;
        let reader_limit = limit.clone();
        std::thread::Builder::new()
            .name("crosscheck-process-reader".into())
            .spawn(move || {
                loop {
                    let frame =
                        read_frame_within(&mut stdout, || reader_limit.load(Ordering::SeqCst));
                    let stop = frame.is_err();
                    if answers.send(frame).is_err() || stop {
                        break;
                    }
                }
            })
            .map_err(|e| format!("could not start a reader thread: {e}"))?;
        let tail = stderr.clone();
        std::thread::Builder::new()
            .name("crosscheck-process-stderr".into())
            .spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = stderr_pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
                    tail.extend(&chunk[..n]);
                    let excess = tail.len().saturating_sub(STDERR_TAIL);
                    tail.drain(..excess);
                }
            })
            .map_err(|e| format!("could not start a stderr thread: {e}"))?;
        Ok(Child {
            process,
            to_process: Some(to_process),
            from_process,
            limit,
            stderr,
        })
    }

    /// Sends one frame and waits at most `timeout` for an answer of at most `limit` bytes.
    pub fn exchange(
        &mut self,
        frame: Vec<u8>,
        limit: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, Fault> {
        self.limit.store(limit, Ordering::SeqCst);
        if let Some(to) = &self.to_process {
            // A failed send means the writer thread saw a closed pipe; the reader reports why.
            let _ = to.send(frame);
        }
        match self.from_process.recv_timeout(timeout) {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(FrameError::Closed | FrameError::Truncated { .. }))
            | Err(mpsc::RecvTimeoutError::Disconnected) => Err(Fault::Exited(self.exit_report())),
            Ok(Err(e)) => Err(Fault::Frame(e.to_string())),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(Fault::Timeout(timeout)),
        }
    }

    /// The last lines of the process's standard error, or a note that it wrote none.
    pub fn stderr_tail(&self) -> String {
        // Give the stderr thread a moment to collect what a dying process wrote last.
        std::thread::sleep(Duration::from_millis(50));
        let tail = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        let bytes: Vec<u8> = tail.iter().copied().collect();
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim();
        if text.is_empty() {
            "it wrote nothing to stderr".into()
        } else {
            format!("stderr ends:\n{text}")
        }
    }

    /// How the process ended (waiting up to a second for it), with its stderr tail.
    fn exit_report(&mut self) -> String {
        let started = Instant::now();
        let status = loop {
            match self.process.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if started.elapsed() < Duration::from_secs(1) => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => break None,
            }
        };
        let how = match status {
            Some(s) => describe_exit(s),
            None => "closed its output but is still running".into(),
        };
        format!("the process {how}; {}", self.stderr_tail())
    }

    /// Kills the process and everything it started.
    pub fn kill(&mut self) {
        self.to_process = None;
        #[cfg(unix)]
        {
            let group = self.process.id() as libc::pid_t;
            // SAFETY: kill(2) with a negative pid signals the process group the child leads.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Drop for Child {
    /// Closes the process's input, gives it [`EXIT_GRACE`] to exit, then kills it.
    fn drop(&mut self) {
        self.to_process = None;
        let started = Instant::now();
        while started.elapsed() < EXIT_GRACE {
            if let Ok(Some(_)) = self.process.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
    }
}

/// Writes each request as a frame until the channel closes (then the process sees its input
/// end) or the pipe breaks.
fn write_requests(mut stdin: ChildStdin, requests: mpsc::Receiver<Vec<u8>>) {
    for frame in requests {
        if write_frame(&mut stdin, &frame).is_err() {
            break;
        }
    }
    let _ = stdin.flush();
}

/// `command` run by the platform's shell.
fn shell(command: &str) -> Command {
    if cfg!(windows) {
        let mut c = Command::new("cmd");
        c.arg("/C").arg(command);
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c").arg(command);
        c
    }
}

/// "exited with status 3" or "was killed by signal 9".
fn describe_exit(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => format!("ended ({status})"),
    }
}
