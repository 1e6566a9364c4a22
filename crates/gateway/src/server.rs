//! The HTTP/1.1 accept loop of `yibao serve`: header and idle timeouts, a cap on
//! concurrent connections with room kept for `/healthz`, and a bounded drain on shutdown.

use super::*;

/// How `serve` treats connections. Defaults as `yibao serve` documents them in the README.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A request's headers must arrive within this time of the connection's first byte being
    /// awaited; an idle keep-alive connection is closed after it too (the wait for the next
    /// request's headers is the same timer).
    pub header_timeout: std::time::Duration,
    /// Connections served at once; above it a connection only gets `/healthz` or a fast 503.
    pub max_connections: usize,
    /// Connections above `max_connections` that are still read (for `/healthz` and the 503);
    /// beyond these a connection is closed at once.
    pub reserve_connections: usize,
    /// After the shutdown signal, requests in flight get this long, then connections close.
    pub drain_timeout: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: std::time::Duration::from_secs(10),
            max_connections: 512,
            reserve_connections: 64,
            drain_timeout: std::time::Duration::from_secs(10),
        }
    }
}

/// Serves with [`Limits::default`] until `shutdown` resolves, then drains (bounded).
pub async fn serve(
    gateway: Gateway,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(gateway, listener, shutdown, Limits::default()).await
}

/// Serves HTTP/1.1 until `shutdown` resolves: each connection's headers within
/// `header_timeout` (and an idle connection closed after it), at most `max_connections` served
/// and `reserve_connections` more answered for `/healthz`; on shutdown no new connection is
/// accepted, requests in flight finish within `drain_timeout`, then every connection is closed.
pub async fn serve_with(
    gateway: Gateway,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    limits: Limits,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let main = gateway.clone().router();
    let reserve = gateway.overloaded_router(limits.max_connections);
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let reserve_permits = Arc::new(tokio::sync::Semaphore::new(limits.reserve_connections));
    // Tells every connection to finish its request in flight and close.
    let (draining, drain_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let shutdown = std::pin::pin!(shutdown);
    let mut shutdown = shutdown;
    loop {
        let (stream, _peer) = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: the connection waits in the
                    // backlog; try again shortly rather than spin.
                    tracing::warn!(error = %e, "接受连接失败");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (permit, router) = match permits.clone().try_acquire_owned() {
            Ok(p) => (p, main.clone()),
            Err(_) => match reserve_permits.clone().try_acquire_owned() {
                Ok(p) => (p, reserve.clone()),
                // Nothing left to read it with: closed at once (dropped).
                Err(_) => continue,
            },
        };
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(router));
        let mut drain_rx = drain_rx.clone();
        connections.spawn(async move {
            let _permit = permit;
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = async { drain_rx.wait_for(|d| *d).await.map(|_| ()) } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    drop(listener);
    let _ = draining.send(true);
    let drained = tokio::time::timeout(limits.drain_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            drain_secs = limits.drain_timeout.as_secs(),
            "停机：连接在时限内未结束，已关闭"
        );
        connections.shutdown().await;
    }
    Ok(())
}

pub(crate) async fn not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        envelope(
            "",
            -1,
            &format!("路径不存在：接口地址为 POST {ENDPOINT}"),
            json!({}),
        ),
    )
}

pub(crate) async fn wrong_method() -> Response {
    json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        envelope(
            "",
            -1,
            &format!("请求方法错误：接口地址 {ENDPOINT} 只接受 POST"),
            json!({}),
        ),
    )
}

pub(crate) fn overloaded(max: usize) -> Response {
    let mut r = json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        envelope(
            "",
            -1,
            &format!("网关繁忙：同时连接数已达上限 {max}，交易未处理，请稍后重发"),
            json!({}),
        ),
    );
    r.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    r
}
