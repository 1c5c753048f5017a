//! A hand-written HTTP fixture for provider *quirks* a real provider will not
//! produce (Google's `verification_url`, errors inside HTTP 200, a proxy's
//! HTML 502, Retry-After…). Deliberately tiny: std only, one thread, one
//! request per connection (`Connection: close`).
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub body: String,
}

impl Request {
    /// A form field of an `application/x-www-form-urlencoded` body.
    pub fn form(&self, key: &str) -> Option<String> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            content_type: "application/json".into(),
            headers: vec![],
            body: body.to_string(),
        }
    }
    pub fn html(status: u16, body: &str) -> Reply {
        Reply {
            status,
            content_type: "text/html".into(),
            headers: vec![],
            body: body.into(),
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
}

type Handler = dyn Fn(&Request, usize) -> Reply + Send + Sync;

/// This server's own base URL, for answers that point back at it
/// (discovery documents).
pub type Base = str;

pub struct Canned {
    port: u16,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Request>>>,
    thread: Option<JoinHandle<()>>,
}

impl Canned {
    /// `handler(request, n)` where `n` counts earlier requests to the same path.
    pub fn start(handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> Canned {
        Canned::start_with_base(move |_, r, n| handler(r, n))
    }

    /// Like [`Canned::start`], the handler also getting the server's base URL.
    pub fn start_with_base(
        handler: impl Fn(&Base, &Request, usize) -> Reply + Send + Sync + 'static,
    ) -> Canned {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let base = format!("http://127.0.0.1:{port}");
        let handler = move |r: &Request, n: usize| handler(&base, r, n);
        let stop = Arc::new(AtomicBool::new(false));
        let log: Arc<Mutex<Vec<Request>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let (stop2, log2) = (stop.clone(), log.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                serve(conn, &*handler, &log2);
            }
        });
        Canned {
            port,
            stop,
            log,
            thread: Some(thread),
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    pub fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }

    /// Stop accepting: later connections are refused.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Canned {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(conn: TcpStream, handler: &Handler, log: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let _method = parts.next();
    let path = parts.next().unwrap_or_default().to_string();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len];
    let _ = reader.read_exact(&mut body);
    let req = Request {
        path,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let n = {
        let mut log = log.lock().unwrap();
        let n = log.iter().filter(|r| r.path == req.path).count();
        log.push(req.clone());
        n
    };
    let reply = handler(&req, n);
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&reply.body);
    let mut conn = conn;
    let _ = conn.write_all(out.as_bytes());
    let _ = conn.flush();
}

/// A provider whose discovery points at itself; `device` and `token` script
/// the two endpoints (n = how many earlier requests that path has seen).
pub fn provider(
    device: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    token: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
) -> Canned {
    Canned::start_with_base(move |base, r, n| match r.path.as_str() {
        "/.well-known/openid-configuration" => Reply::json(
            200,
            serde_json::json!({
                "issuer": base,
                "device_authorization_endpoint": format!("{base}/device/code"),
                "token_endpoint": format!("{base}/token"),
            }),
        ),
        "/device/code" => device(r),
        "/token" => token(r, n),
        _ => Reply::json(404, serde_json::json!({"error": "not_found"})),
    })
}
