//! Every RFC 8628 §3.5 branch, driven by a fake clock: no real waiting.
use super::*;
use crate::auth::device::TokenSet;
use crate::secret::Secret;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

/// A clock whose `sleep` advances time at once and records the wait.
struct FakeClock {
    base: Instant,
    offset: Cell<Duration>,
    sleeps: RefCell<Vec<Duration>>,
}

impl FakeClock {
    fn new() -> Self {
        FakeClock {
            base: Instant::now(),
            offset: Cell::new(Duration::ZERO),
            sleeps: RefCell::new(Vec::new()),
        }
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        self.base + self.offset.get()
    }
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> {
        self.offset.set(self.offset.get() + d);
        self.sleeps.borrow_mut().push(d);
        std::future::ready(())
    }
}

fn tokens() -> TokenSet {
    TokenSet {
        access_token: Secret::new("at"),
        refresh_token: None,
        id_token: None,
        expires_in: None,
        refresh_expires_in: None,
        scope: None,
    }
}

#[derive(Clone, Copy, Debug)]
enum R {
    Ok,
    Pending,
    Slow,
    Denied,
    Expired,
    Other,
    Busy(Option<u64>),
    Down,
    Html,
}

fn make(r: R) -> PollResponse {
    match r {
        R::Ok => PollResponse::Token(tokens()),
        R::Pending => PollResponse::Pending,
        R::Slow => PollResponse::SlowDown,
        R::Denied => PollResponse::Denied,
        R::Expired => PollResponse::Expired,
        R::Other => PollResponse::OAuthError {
            error: "invalid_client".into(),
            description: ": client unknown".into(),
        },
        R::Busy(s) => PollResponse::RetryLater {
            retry_after: s.map(Duration::from_secs),
            status: 503,
            description: "idp answered HTTP 503".into(),
        },
        R::Down => PollResponse::Unreachable("connection refused".into()),
        R::Html => PollResponse::Failed(AuthError::OAuth {
            error: "unexpected answer from the token endpoint".into(),
            description: ": https://idp/token answered HTTP 502 (text/html, 20 bytes)".into(),
        }),
    }
}

#[derive(Debug, PartialEq)]
enum Want {
    Ok,
    Denied,
    Expired,
    Unreachable,
    OAuth(&'static str),
}

fn outcome(r: &Result<TokenSet, AuthError>) -> Want {
    match r {
        Ok(_) => Want::Ok,
        Err(AuthError::Denied) => Want::Denied,
        Err(AuthError::Expired { .. }) => Want::Expired,
        Err(AuthError::UnreachableUntilExpiry { .. }) => Want::Unreachable,
        Err(AuthError::OAuth { error, .. }) if error == "invalid_client" => {
            Want::OAuth("invalid_client")
        }
        Err(AuthError::OAuth { .. }) => Want::OAuth("other"),
        Err(e) => panic!("unexpected {e:?}"),
    }
}

struct Case {
    name: &'static str,
    interval: u64,
    expires_in: u64,
    responses: Vec<R>,
    want: Want,
    /// Every sleep, in seconds, in order (the first one is before the first poll).
    sleeps: Vec<u64>,
}

impl Case {
    /// A case with the common grant: `interval` 5 s, `expires_in` 600 s.
    fn new<const N: usize, const S: usize>(
        name: &'static str,
        responses: [R; N],
        want: Want,
        sleeps: [u64; S],
    ) -> Self {
        Case {
            name,
            interval: 5,
            expires_in: 600,
            responses: responses.into(),
            want,
            sleeps: sleeps.into(),
        }
    }

    /// The grant's `interval` and `expires_in` (RFC 8628 §3.2), in seconds.
    fn timing(self, interval: u64, expires_in: u64) -> Self {
        Case {
            interval,
            expires_in,
            ..self
        }
    }
}

#[tokio::test]
async fn rfc8628_branches() {
    let cases = [
        Case::new(
            "waits the interval before the first poll, stops at success",
            [R::Ok],
            Want::Ok,
            [5],
        ),
        Case::new(
            "authorization_pending keeps the interval",
            [R::Pending, R::Pending, R::Ok],
            Want::Ok,
            [5, 5, 5],
        ),
        Case::new(
            "slow_down adds 5 s for this and every later poll",
            [R::Pending, R::Slow, R::Pending, R::Slow, R::Pending, R::Ok],
            Want::Ok,
            [5, 5, 10, 10, 15, 15],
        ),
        Case::new(
            "access_denied stops",
            [R::Pending, R::Denied],
            Want::Denied,
            [5, 5],
        ),
        Case::new("expired_token stops", [R::Expired], Want::Expired, [5]),
        Case::new(
            "other errors stop with the server's error",
            [R::Other],
            Want::OAuth("invalid_client"),
            [5],
        ),
        Case::new(
            "an HTML page from a proxy stops",
            [R::Html],
            Want::OAuth("other"),
            [5],
        ),
        Case::new(
            "503 with Retry-After is waited out",
            [R::Busy(Some(20)), R::Pending, R::Ok],
            Want::Ok,
            [5, 20, 5],
        ),
        Case::new(
            "Retry-After shorter than the interval never speeds us up",
            [R::Busy(Some(1)), R::Busy(None), R::Ok],
            Want::Ok,
            [5, 5, 5],
        ),
        Case::new(
            "connection failures back off exponentially, then recover",
            [R::Down, R::Down, R::Down, R::Pending, R::Ok],
            Want::Ok,
            [5, 10, 20, 40, 5],
        ),
        Case::new(
            "the back-off is capped",
            [R::Down, R::Down, R::Down, R::Down, R::Down, R::Ok],
            Want::Ok,
            [5, 10, 20, 40, 60, 60],
        ),
        // 5 (first) + 10 + then 15 left: clamp to the remaining 15 for one last try.
        Case::new(
            "unreachable until expiry says unreachable, not expired",
            [R::Down, R::Down, R::Down],
            Want::Unreachable,
            [5, 10, 15],
        )
        .timing(5, 30),
        Case::new(
            "busy until expiry also says unreachable",
            [R::Busy(Some(30))],
            Want::Unreachable,
            [5],
        )
        .timing(5, 12),
        Case::new(
            "nobody approves: expired, without polling past the deadline",
            [R::Pending, R::Pending],
            Want::Expired,
            [5, 5],
        )
        .timing(5, 12),
        Case::new(
            "a reachable answer after failures resets to 'expired'",
            [R::Down, R::Pending],
            Want::Expired,
            [5, 10],
        )
        .timing(5, 18),
        Case::new(
            "interval 0 from a broken server is raised to 1 s",
            [R::Pending, R::Ok],
            Want::Ok,
            [1, 1],
        )
        .timing(0, 600),
    ];
    for case in cases {
        let clock = FakeClock::new();
        let poller = Poller::new(
            Duration::from_secs(case.interval),
            Duration::from_secs(case.expires_in),
            clock.now(),
        );
        let queue = RefCell::new(VecDeque::from(case.responses.clone()));
        let polls = Cell::new(0);
        let result = run(
            poller,
            &clock,
            || {
                polls.set(polls.get() + 1);
                let r = queue
                    .borrow_mut()
                    .pop_front()
                    .unwrap_or_else(|| panic!("{}: polled more than scripted", case.name));
                std::future::ready(make(r))
            },
            std::future::pending::<()>(),
            |_, _| {},
        )
        .await;
        assert_eq!(outcome(&result), case.want, "{}", case.name);
        let sleeps: Vec<u64> = clock.sleeps.borrow().iter().map(|d| d.as_secs()).collect();
        assert_eq!(sleeps, case.sleeps, "{}", case.name);
        assert!(
            queue.borrow().is_empty(),
            "{}: not every response used",
            case.name
        );
    }
}

#[tokio::test]
async fn events_report_slow_down_and_back_off() {
    let clock = FakeClock::new();
    let poller = Poller::new(
        Duration::from_secs(1),
        Duration::from_secs(600),
        clock.now(),
    );
    let queue = RefCell::new(VecDeque::from(vec![
        R::Slow,
        R::Down,
        R::Busy(Some(9)),
        R::Ok,
    ]));
    let mut seen = Vec::new();
    run(
        poller,
        &clock,
        || std::future::ready(make(queue.borrow_mut().pop_front().unwrap())),
        std::future::pending::<()>(),
        |e, _| seen.push(e.clone()),
    )
    .await
    .unwrap();
    assert_eq!(
        seen,
        vec![
            PollEvent::SlowDown {
                interval: Duration::from_secs(6)
            },
            PollEvent::Unreachable {
                wait: Duration::from_secs(12),
                error: "connection refused".into()
            },
            PollEvent::RetryLater {
                wait: Duration::from_secs(9),
                status: 503
            },
        ]
    );
}

#[tokio::test]
async fn cancel_stops_without_polling() {
    let clock = FakeClock::new();
    let poller = Poller::new(
        Duration::from_secs(5),
        Duration::from_secs(600),
        clock.now(),
    );
    let polls = Cell::new(0);
    let result = run(
        poller,
        &clock,
        || {
            polls.set(polls.get() + 1);
            std::future::ready(PollResponse::Pending)
        },
        std::future::ready(()),
        |_, _| {},
    )
    .await;
    assert!(matches!(result, Err(AuthError::Interrupted)));
    assert_eq!(polls.get(), 0);
}
