//! The RFC 8628 §3.5 polling loop as a plain state machine.
//!
//! Why not `oauth2`'s `DeviceAccessTokenRequest::request_async`? As of 5.0 it
//! sends the first poll at once (§3.5 says wait `interval` first), ends the
//! flow on HTTP 429/5xx instead of honouring `Retry-After`, reports transport
//! failures as "expired", and has no cancel hook for Ctrl-C. Its types cannot
//! express those branches, so we drive the single token request ourselves
//! (`device::poll_once`) and keep the decisions here, where the clock and the
//! sleep are injected and every branch is unit-tested without waiting.
//!
//! One `Poller` per device code, run to completion by one task: a second poll
//! with an already-redeemed code revokes the grant on some providers.
use super::device::{PollResponse, TokenSet};
use crate::error::AuthError;
use std::future::Future;
use std::time::{Duration, Instant};

/// RFC 8628 §3.5: "the interval MUST be increased by 5 seconds".
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// Upper bound for the back-off after connection failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What the caller should do next.
#[derive(Debug)]
pub enum Step {
    /// Sleep this long, then poll again.
    Wait(Duration),
    /// The flow ended.
    Done(Result<TokenSet, AuthError>),
}

/// Things worth telling the person or a wrapper about.
#[derive(Debug, Clone, PartialEq)]
pub enum PollEvent {
    /// The server asked us to slow down; the new interval applies from now on.
    SlowDown { interval: Duration },
    /// 429/503: waiting as long as the server asked.
    RetryLater { wait: Duration, status: u16 },
    /// Could not reach the token endpoint; backing off.
    Unreachable { wait: Duration, error: String },
}

#[derive(Debug)]
pub struct Poller {
    interval: Duration,
    deadline: Instant,
    valid_for: Duration,
    /// Consecutive connection failures, for the back-off.
    failures: u32,
    /// The last problem was the server being unreachable or overloaded, so an
    /// expiry is reported as "unreachable", not as "nobody approved".
    last_unreachable: Option<String>,
    pub polls: u32,
    pub events: Vec<PollEvent>,
}

impl Poller {
    /// `interval` is the device authorization response's (5 s when absent, §3.2).
    pub fn new(interval: Duration, expires_in: Duration, now: Instant) -> Self {
        Poller {
            interval: interval.max(Duration::from_secs(1)),
            deadline: now + expires_in,
            valid_for: expires_in,
            failures: 0,
            last_unreachable: None,
            polls: 0,
            events: Vec::new(),
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// §3.5: the client waits `interval` before *each* request, the first included.
    pub fn start(&mut self, now: Instant) -> Step {
        self.schedule(self.interval, now)
    }

    fn schedule(&mut self, wait: Duration, now: Instant) -> Step {
        if now + wait > self.deadline {
            return Step::Done(Err(self.expired()));
        }
        Step::Wait(wait)
    }

    fn expired(&self) -> AuthError {
        match &self.last_unreachable {
            Some(e) => AuthError::UnreachableUntilExpiry {
                last_error: e.clone(),
            },
            None => AuthError::Expired {
                valid_for: humantime::format_duration(self.valid_for).to_string(),
            },
        }
    }

    /// Decide what to do after one token request.
    pub fn on_response(&mut self, resp: PollResponse, now: Instant) -> Step {
        self.polls += 1;
        match resp {
            PollResponse::Token(t) => Step::Done(Ok(t)),
            PollResponse::Pending => {
                self.failures = 0;
                self.last_unreachable = None;
                self.schedule(self.interval, now)
            }
            PollResponse::SlowDown => {
                self.failures = 0;
                self.last_unreachable = None;
                self.interval += SLOW_DOWN_STEP;
                self.events.push(PollEvent::SlowDown {
                    interval: self.interval,
                });
                self.schedule(self.interval, now)
            }
            PollResponse::Denied => Step::Done(Err(AuthError::Denied)),
            PollResponse::Expired => Step::Done(Err(AuthError::Expired {
                valid_for: humantime::format_duration(self.valid_for).to_string(),
            })),
            PollResponse::OAuthError { error, description } => {
                Step::Done(Err(AuthError::OAuth { error, description }))
            }
            PollResponse::RetryLater {
                retry_after,
                status,
                description,
            } => {
                // Never faster than the interval, whatever Retry-After says.
                let wait = retry_after.unwrap_or(self.interval).max(self.interval);
                self.last_unreachable = Some(description);
                self.events.push(PollEvent::RetryLater { wait, status });
                self.schedule(wait, now)
            }
            PollResponse::Unreachable(error) => {
                // §3.5: "SHOULD use exponential backoff" on connection timeouts.
                self.failures += 1;
                let factor = 1u32 << self.failures.min(6);
                let wait = (self.interval * factor).min(MAX_BACKOFF).max(self.interval);
                // Never sleep past the deadline when one last try would fit.
                let remaining = self.deadline.saturating_duration_since(now);
                let wait = if wait > remaining && remaining >= self.interval {
                    remaining
                } else {
                    wait
                };
                self.events.push(PollEvent::Unreachable {
                    wait,
                    error: error.clone(),
                });
                self.last_unreachable = Some(error);
                self.schedule(wait, now)
            }
            PollResponse::Failed(err) => Step::Done(Err(err)),
        }
    }
}

/// Time, injectable: the real one sleeps with tokio, the test one jumps.
pub trait Clock {
    fn now(&self) -> Instant;
    fn sleep(&self, d: Duration) -> impl Future<Output = ()>;
}

pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep(d)
    }
}

/// Drive a poller: wait, poll, decide, until done or `cancel` resolves.
/// `on_event` sees slow-downs, retries and back-offs as they happen.
pub async fn run<C, P, F>(
    mut poller: Poller,
    clock: &C,
    mut poll: P,
    cancel: impl Future<Output = ()>,
    mut on_event: impl FnMut(&PollEvent, &Poller),
) -> Result<TokenSet, AuthError>
where
    C: Clock,
    P: FnMut() -> F,
    F: Future<Output = PollResponse>,
{
    tokio::pin!(cancel);
    let mut step = poller.start(clock.now());
    loop {
        match step {
            Step::Done(r) => return r,
            Step::Wait(d) => {
                tokio::select! {
                    biased;
                    _ = &mut cancel => return Err(AuthError::Interrupted),
                    _ = clock.sleep(d) => {}
                }
                let resp = tokio::select! {
                    biased;
                    _ = &mut cancel => return Err(AuthError::Interrupted),
                    r = poll() => r,
                };
                let seen = poller.events.len();
                step = poller.on_response(resp, clock.now());
                for e in &poller.events[seen..] {
                    on_event(e, &poller);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
