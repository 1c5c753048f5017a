//! Ctrl-C, SIGTERM, SIGHUP and SIGQUIT as a value commands can wait on or check.
//!
//! Most commands are simply dropped when a signal arrives (everything they
//! write is atomic). `mint` and `rotate` hold a freshly created token that must
//! not be orphaned, so they check and await this instead, and clean up before
//! exiting with 128 + the signal's number (130 for Ctrl-C).
//!
//! Two paths, both set up before `install` returns (so no signal can arrive
//! while the default action — death — is still in place): the signal
//! handler itself sets an atomic flag, so [`Interrupt::is_set`] is true the
//! moment the signal is delivered (a signal during the last store must not
//! be missed because the task that forwards it has not run yet); and a task
//! forwards it to a channel that [`Interrupt::wait`] can await.
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use tokio::sync::watch;

/// Set by the signal handler of this process.
static DELIVERED: AtomicBool = AtomicBool::new(false);

/// Set while the process blocks reading a person's answer ([`at_prompt`]).
static AT_PROMPT: AtomicBool = AtomicBool::new(false);

#[derive(Clone)]
pub struct Interrupt {
    rx: watch::Receiver<bool>,
    /// Listens to this process's signals (not a `never`/`manual` one).
    process: bool,
}

impl Interrupt {
    /// Start listening for SIGINT, SIGTERM, SIGHUP and SIGQUIT (Ctrl-C on Windows).
    pub fn install() -> Self {
        flag_on_signal();
        let (tx, rx) = watch::channel(false);
        let signals = Signals::register();
        tokio::spawn(async move {
            signals.recv().await;
            let _ = tx.send(true);
            // Keep the sender alive so receivers never see a closed channel.
            std::future::pending::<()>().await;
        });
        Interrupt { rx, process: true }
    }

    /// Never fires (for tests and library use).
    pub fn never() -> Self {
        let (tx, rx) = watch::channel(false);
        std::mem::forget(tx);
        Interrupt { rx, process: false }
    }

    /// One fired by hand (`Trigger::fire`): unit tests interrupt a pipeline
    /// at an exact step with it.
    pub fn manual() -> (Self, Trigger) {
        let (tx, rx) = watch::channel(false);
        (
            Interrupt { rx, process: false },
            Trigger(std::sync::Arc::new(tx)),
        )
    }

    pub fn is_set(&self) -> bool {
        *self.rx.borrow() || (self.process && DELIVERED.load(Ordering::SeqCst))
    }

    /// Resolves when a signal has arrived.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|v| *v).await;
    }
}

/// Fires a [`Interrupt::manual`] interrupt.
#[derive(Clone)]
pub struct Trigger(std::sync::Arc<watch::Sender<bool>>);

impl Trigger {
    pub fn fire(&self) {
        let _ = self.0.send(true);
    }
}

/// The signals treated as "stop now, after cleanup": Ctrl-C, SIGTERM
/// (service managers, `kill`), SIGHUP (the SSH session or terminal went away,
/// e.g. right after the person approved on their phone) and SIGQUIT (Ctrl-\\,
/// whose default action would dump core with our tokens in it).
#[cfg(unix)]
const SIGNALS: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// The number of the first signal delivered, 0 for none.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The signal that interrupted this process, if one did.
pub fn delivered() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n),
    }
}

/// The process exit code for a command result code: an interruption by
/// signal `n` exits `128 + n` (the shell's convention: 130 for SIGINT, 129
/// SIGHUP, 131 SIGQUIT, 143 SIGTERM), after the cleanup has run.
pub fn exit_code(code: i32) -> i32 {
    match delivered() {
        Some(n) if code == crate::error::exit::INTERRUPTED => 128 + n,
        _ => code,
    }
}

/// What a prompt prints when a signal ends it (the terminal has echoed `^C`).
const CANCELLED: &[u8] = b"\ncancelled: nothing was changed\n";

/// Run `read`, a blocking read of a person's answer, so that Ctrl-C (or
/// SIGTERM, SIGHUP, SIGQUIT) ends the process at once with 128 + the signal's
/// number. The handler restarts an interrupted `read(2)` (SA_RESTART), so
/// without this a Ctrl-C at a question waited for Enter and the next line
/// typed became the answer (issue 23, A1). Nothing needs undoing at a prompt:
/// every question is asked before anything is written, created or revoked.
pub fn at_prompt<T>(read: impl FnOnce() -> T) -> T {
    AT_PROMPT.store(true, Ordering::SeqCst);
    // A signal that came just before the flag was set.
    if let Some(n) = delivered() {
        cancel_now(n);
    }
    let answer = read();
    AT_PROMPT.store(false, Ordering::SeqCst);
    if let Some(n) = delivered() {
        cancel_now(n);
    }
    answer
}

/// Say so on stderr and `_exit(128 + sig)`: both async-signal-safe, so the
/// handler may call this.
fn cancel_now(sig: i32) -> ! {
    #[cfg(unix)]
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is static.
    unsafe {
        libc::write(2, CANCELLED.as_ptr().cast(), CANCELLED.len());
        libc::_exit(128 + sig)
    }
    #[cfg(not(unix))]
    std::process::exit(128 + sig)
}

/// The handler's own flag (Unix): storing to atomics is all it does, except
/// at a prompt, where it ends the process ([`at_prompt`]).
fn flag_on_signal() {
    #[cfg(unix)]
    for sig in SIGNALS {
        // SAFETY: the action only stores to static atomics, which is
        // async-signal-safe, or calls `cancel_now` (write + _exit, both
        // async-signal-safe); it allocates, locks and panics on nothing.
        let r = unsafe {
            signal_hook_registry::register(sig, move || {
                let _ = SIGNAL.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
                DELIVERED.store(true, Ordering::SeqCst);
                if AT_PROMPT.load(Ordering::SeqCst) {
                    cancel_now(sig);
                }
            })
        };
        if let Err(e) = r {
            tracing::warn!("cannot watch signal {sig}: {e}");
        }
    }
}

/// The signal streams, registered at once (tokio registers on creation).
struct Signals {
    #[cfg(unix)]
    streams: Vec<tokio::signal::unix::Signal>,
}

impl Signals {
    fn register() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                streams: SIGNALS
                    .iter()
                    .filter_map(|s| signal(SignalKind::from_raw(*s)).ok())
                    .collect(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    async fn recv(mut self) {
        #[cfg(unix)]
        {
            if self.streams.is_empty() {
                std::future::pending::<()>().await;
            }
            // The first of the streams to fire.
            std::future::poll_fn(|cx| {
                for s in self.streams.iter_mut() {
                    if s.poll_recv(cx).is_ready() {
                        return std::task::Poll::Ready(());
                    }
                }
                std::task::Poll::Pending
            })
            .await;
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            } else {
                let _ = SIGNAL.compare_exchange(0, 2, Ordering::SeqCst, Ordering::SeqCst);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivered_signal_is_seen_before_any_task_runs() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let intr = Interrupt::install();
            assert!(!intr.is_set());
            // SAFETY: a handler for SIGTERM is installed above, so raising it
            // only sets the flag; no task has had a chance to run since.
            #[cfg(unix)]
            unsafe {
                libc::raise(libc::SIGTERM);
            }
            #[cfg(unix)]
            assert!(intr.is_set(), "seen without yielding to the runtime");
            // And the channel follows for those who await it.
            #[cfg(unix)]
            intr.wait().await;
            // A hand-made interrupt never sees the process's signals.
            assert!(!Interrupt::never().is_set());
        });
        #[cfg(unix)]
        assert_eq!(
            exit_code(crate::error::exit::INTERRUPTED),
            128 + libc::SIGTERM
        );
        assert_eq!(exit_code(2), 2, "other codes pass through");
    }
}
