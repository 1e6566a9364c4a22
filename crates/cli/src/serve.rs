//! `yibao serve` (the hospital gateway) and `yibao keys` (institution secrets).

use crate::register::{block_on, open, DbArg};
use anyhow::{anyhow, Context, Result};
use std::path::PathBuf;
use yibao_gateway::keys::{key_file, new_secret, MasterKey};
use yibao_gateway::Gateway;
use yibao_store::Operator;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// 监听地址，如 127.0.0.1:8080
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    #[command(flatten)]
    db: DbArg,
    /// 主密钥文件（缺省取环境变量 YIBAO_KEY_FILE，再缺省 ./yibao-keys/master.key）
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// 审核规则文件（TOML）：预结算与 3101/3102 据此返回疑点；缺省为内置的 rules/sample-county-2024-audit.toml
    #[arg(long)]
    rules: Option<PathBuf>,
    /// 工作线程数（缺省为 CPU 核数）
    #[arg(long)]
    threads: Option<usize>,
    /// 请求头须在此秒数内收完；空闲的长连接也在此后关闭
    #[arg(long, default_value_t = 10)]
    header_timeout: u64,
    /// 同时服务的连接数上限（应小于 ulimit -n 减去数据库等所需的文件数）
    #[arg(long, default_value_t = 512)]
    max_connections: usize,
    /// 超过上限后仍为 /healthz 保留的连接数（其余交易立即答 503）
    #[arg(long, default_value_t = 64)]
    reserve_connections: usize,
    /// 收到停机信号后等待处理中请求的秒数，之后关闭全部连接
    #[arg(long, default_value_t = 10)]
    drain_timeout: u64,
}

#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// 为定点机构签发接口密钥（打印一次，库中只存主密钥加密后的密文）
    Issue {
        /// 定点医药机构编码
        #[arg(long)]
        institution: String,
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
    /// 撤销定点机构的全部接口密钥
    Revoke {
        #[arg(long)]
        institution: String,
        #[command(flatten)]
        db: DbArg,
    },
}

pub fn keys(cmd: KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::Issue {
            institution,
            db,
            key_file: kf,
        } => block_on(async move {
            let path = key_file(kf.as_deref());
            let master = MasterKey::load_or_create(&path)?;
            let store = open(&db).await?;
            let secret = new_secret();
            store
                .insert_key(
                    &Operator::from_env(),
                    institution.trim(),
                    &master.seal(&secret),
                )
                .await?;
            eprintln!(
                "已为机构 {} 签发接口密钥（主密钥文件 {}）。密钥只显示这一次：",
                institution.trim(),
                path.display()
            );
            println!("{secret}");
            Ok(())
        }),
        KeysCommand::Revoke { institution, db } => block_on(async move {
            let store = open(&db).await?;
            let n = store
                .revoke_keys(&Operator::from_env(), institution.trim())
                .await?;
            if n == 0 {
                return Err(anyhow!("机构 {} 没有有效的接口密钥", institution.trim()));
            }
            println!("已撤销机构 {} 的接口密钥 {n} 个", institution.trim());
            Ok(())
        }),
    }
}

/// Structured logs to stderr, filtered by `YIBAO_LOG` (e.g. `warn`, `info,sqlx=debug`).
pub fn init_logging(default: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("YIBAO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
        )
        .with_target(false)
        .init();
}

pub fn serve(a: ServeArgs) -> Result<()> {
    init_logging("info");
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = a.threads {
        if n == 0 || n > 256 {
            return Err(anyhow!("--threads={n} 无效：应为 1 到 256"));
        }
        rt.worker_threads(n);
    }
    if a.header_timeout == 0 || a.header_timeout > 3_600 {
        return Err(anyhow!(
            "--header-timeout={} 无效：应为 1 到 3600 秒",
            a.header_timeout
        ));
    }
    if a.drain_timeout > 3_600 {
        return Err(anyhow!(
            "--drain-timeout={} 无效：应为 0 到 3600 秒",
            a.drain_timeout
        ));
    }
    if a.max_connections == 0 {
        return Err(anyhow!("--max-connections=0 无效：至少为 1"));
    }
    let limits = yibao_gateway::Limits {
        header_timeout: std::time::Duration::from_secs(a.header_timeout),
        max_connections: a.max_connections,
        reserve_connections: a.reserve_connections,
        drain_timeout: std::time::Duration::from_secs(a.drain_timeout),
    };
    let rules = crate::audit::load_rules(a.rules.as_deref())?;
    let rt = rt.enable_all().build().context("无法启动异步运行时")?;
    rt.block_on(async move {
        let path = key_file(a.key_file.as_deref());
        let master = MasterKey::load(&path)
            .map_err(|e| anyhow!("{e}；请先用 yibao keys issue 为机构签发密钥"))?;
        let store = open(&a.db).await?;
        let console = yibao_console::router(store.clone());
        let gateway = Gateway::new(store, master)
            .await
            .map_err(|e| anyhow!("无法读取参考数据：{e}"))?
            .with_rules(rules)
            .with_routes(console);
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .with_context(|| format!("无法监听 --listen={}", a.listen))?;
        tracing::info!(listen = %a.listen, "医保网关已启动");
        yibao_gateway::serve_with(gateway, listener, shutdown_signal(), limits)
            .await
            .context("网关运行失败")?;
        tracing::info!("医保网关已停止");
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
