//! Ctrl-C / SIGTERM as a value commands can wait on or check.
//!
//! Most commands are simply dropped when a signal arrives (everything they
//! write is atomic). `mint` and `rotate` hold a freshly created token that must
//! not be orphaned, so they check and await this instead, and clean up before
//! exiting with 130.
use tokio::sync::watch;

#[derive(Clone)]
pub struct Interrupt {
    rx: watch::Receiver<bool>,
}

impl Interrupt {
    /// Start listening for SIGINT and SIGTERM (Ctrl-C on Windows).
    pub fn install() -> Self {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            let _ = tx.send(true);
            // Keep the sender alive so receivers never see a closed channel.
            std::future::pending::<()>().await;
        });
        Interrupt { rx }
    }

    /// Never fires (for tests and library use).
    pub fn never() -> Self {
        let (tx, rx) = watch::channel(false);
        std::mem::forget(tx);
        Interrupt { rx }
    }

    /// One fired by hand (`Trigger::fire`): unit tests interrupt a pipeline
    /// at an exact step with it.
    pub fn manual() -> (Self, Trigger) {
        let (tx, rx) = watch::channel(false);
        (Interrupt { rx }, Trigger(std::sync::Arc::new(tx)))
    }

    pub fn is_set(&self) -> bool {
        *self.rx.borrow()
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

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
