//! The listening server: TCP (optionally TLS via rustls/ring) + HTTP/1.1 (hyper),
//! with a per-connection abort used by the `drop_after_create` fault.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::app::app;
use crate::config::{Config, Tls};
use crate::request::ConnectionAbort;
use crate::state::AppState;

crate::error::message_error!(
    /// Why the server could not start.
    StartError
);

/// A running server. Dropping it does not stop it; call [`RunningServer::shutdown`].
pub struct RunningServer {
    local_addr: SocketAddr,
    url: String,
    state: Arc<AppState>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }
    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
    /// Shared state (store, faults, counters).
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }
    /// The one line printed on stdout by the binary once listening:
    /// `{"listening":"http://127.0.0.1:PORT","port":PORT}`.
    pub fn ready_line(&self) -> String {
        serde_json::json!({"listening": self.url, "port": self.port()}).to_string()
    }
    /// Stops accepting, closes every connection and waits for the accept loop.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// Loads the PEM certificate chain and key and builds a rustls acceptor using
/// the `ring` provider, offering HTTP/1.1 only.
pub fn tls_acceptor(tls: &Tls) -> Result<TlsAcceptor, StartError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&tls.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| StartError(format!("tls.cert {}: {e}", tls.cert.display())))?;
    if certs.is_empty() {
        return Err(StartError(format!(
            "tls.cert {}: no certificate found",
            tls.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key)
        .map_err(|e| StartError(format!("tls.key {}: {e}", tls.key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| StartError(format!("TLS certificate/key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Opens the database, binds `config.listen` and serves in the background on
/// the current tokio runtime.
pub async fn start(config: Config) -> Result<RunningServer, StartError> {
    let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
    let listen = config.listen;
    let database = config.database.clone();
    let state =
        AppState::new(config).map_err(|e| StartError(format!("database {database:?}: {e}")))?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| StartError(format!("cannot listen on {listen}: {e}")))?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| StartError(format!("local address: {e}")))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{local_addr}");
    let router = app(state.clone());
    let (shutdown, rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, tls, router, rx));
    Ok(RunningServer {
        local_addr,
        url,
        state,
        shutdown,
        task,
    })
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection(stream, tls.clone(), router.clone()));
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    connections.shutdown().await;
}

async fn connection(stream: TcpStream, tls: Option<TlsAcceptor>, router: Router) {
    match tls {
        None => serve_http(stream, router).await,
        Some(acceptor) => {
            match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                Ok(Ok(tls_stream)) => serve_http(tls_stream, router).await,
                Ok(Err(e)) => tracing::debug!("TLS handshake failed: {e}"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
    }
}

async fn serve_http<I>(io: I, router: Router)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let abort = Arc::new(Notify::new());
    let conn_abort = ConnectionAbort(abort.clone());
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(conn_abort.clone());
        router.clone().oneshot(req.map(Body::new))
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(io), service);
    tokio::select! {
        r = conn => if let Err(e) = r {
            tracing::debug!("connection error: {e}");
        },
        // Dropping the connection closes the socket without writing anything.
        _ = abort.notified() => {}
    }
}
