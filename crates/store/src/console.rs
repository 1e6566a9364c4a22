//! The console's users, sessions and failed-login counts (migration 0011). Passwords arrive
//! hashed (the console hashes them with argon2), session tokens as their SHA-256: the
//! store never sees a secret. Every change writes its operation-log line in its transaction.

use crate::{append_log, now_text, refused, LogLine, Operator, Result, Store};
use sqlx::Row;

/// The console's roles, as `yibao user add --role` spells them.
pub const ROLES: [(&str, &str); 5] = [
    ("operator", "经办员"),
    ("auditor", "审核员"),
    ("finance", "财务"),
    ("admin", "管理员"),
    ("insurer", "保险公司"),
];

/// Consecutive wrong passwords after which a login is locked.
pub const MAX_FAILURES: i64 = 5;
/// How long a locked login stays locked, in seconds (15 minutes).
pub const LOCK_SECONDS: i64 = 15 * 60;

/// A console user as stored.
#[derive(Clone, Debug)]
pub struct ConsoleUser {
    pub login: String,
    pub role: String,
    pub password_hash: String,
    pub disabled: bool,
}

/// A live session: whose, its CSRF token, when it ends (Unix seconds).
#[derive(Clone, Debug)]
pub struct ConsoleSession {
    pub login: String,
    pub role: String,
    pub csrf: String,
    pub expires_at: i64,
}

/// Now in Unix seconds (the adapters' clock).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn check_login(login: &str) -> Result<()> {
    let ok = !login.is_empty()
        && login.len() <= 64
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        refused(format!(
            "登录名 --login={login:?} 不合格：须为 1–64 个字母、数字、'_'、'-' 或 '.'"
        ))
    }
}

impl Store {
    /// Adds a console user; a login already taken (even disabled) is refused.
    pub async fn add_console_user(
        &self,
        op: &Operator,
        login: &str,
        role: &str,
        password_hash: &str,
    ) -> Result<()> {
        check_login(login)?;
        if !ROLES.iter().any(|(r, _)| *r == role) {
            let all: Vec<&str> = ROLES.iter().map(|(r, _)| *r).collect();
            return refused(format!(
                "角色 --role={role} 不存在：可选 {}",
                all.join("、")
            ));
        }
        let mut tx = self.pool.begin().await?;
        let taken = sqlx::query("SELECT 1 FROM console_users WHERE login = $1")
            .bind(login)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return refused(format!("登录名 --login={login} 已存在"));
        }
        sqlx::query(
            "INSERT INTO console_users (login, role, password_hash, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(login)
        .bind(role)
        .bind(password_hash)
        .bind(now_text())
        .bind(&op.0)
        .execute(&mut *tx)
        .await?;
        let detail = format!("角色 {role}");
        append_log(&mut tx, op, &LogLine::done("user.add", login, &detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Disables a console user and ends its sessions.
    pub async fn disable_console_user(&self, op: &Operator, login: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let known = sqlx::query("SELECT 1 FROM console_users WHERE login = $1")
            .bind(login)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return refused(format!("登录名 --login={login} 不存在"));
        }
        sqlx::query(
            "INSERT INTO console_user_disables (login, disabled_at, disabled_by) VALUES ($1, $2, $3)",
        )
        .bind(login)
        .bind(now_text())
        .bind(&op.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM console_sessions WHERE login = $1")
            .bind(login)
            .execute(&mut *tx)
            .await?;
        append_log(&mut tx, op, &LogLine::done("user.disable", login, "停用")).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The console user `login`, if any.
    pub async fn console_user(&self, login: &str) -> Result<Option<ConsoleUser>> {
        let row = sqlx::query(
            "SELECT u.login, u.role, u.password_hash, \
             (SELECT COUNT(*) FROM console_user_disables d WHERE d.login = u.login) \
             FROM console_users u WHERE u.login = $1",
        )
        .bind(login)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(ConsoleUser {
                login: r.try_get(0)?,
                role: r.try_get(1)?,
                password_hash: r.try_get(2)?,
                disabled: r.try_get::<i64, _>(3)? > 0,
            })
        })
        .transpose()
    }

    /// Until when (Unix seconds) `login` is locked, if it is now.
    pub async fn console_locked_until(&self, login: &str, now: i64) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT locked_until FROM console_login_failures WHERE login = $1")
            .bind(login)
            .fetch_optional(&self.pool)
            .await?;
        let until: Option<i64> = row.map(|r| r.try_get(0)).transpose()?;
        Ok(until.filter(|u| *u > now))
    }

    /// Counts a wrong password for `login` (known or not, so a stranger learns nothing) and
    /// locks it for [`LOCK_SECONDS`] at the [`MAX_FAILURES`]th in a row; logged.
    pub async fn console_login_failed(&self, login: &str, now: i64) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT failures FROM console_login_failures WHERE login = $1")
            .bind(login)
            .fetch_optional(&mut *tx)
            .await?;
        let failures = match row {
            Some(r) => r.try_get::<i64, _>(0)? + 1,
            None => 1,
        };
        let locked_until = if failures >= MAX_FAILURES {
            now + LOCK_SECONDS
        } else {
            0
        };
        let failures_kept = if failures >= MAX_FAILURES {
            0
        } else {
            failures
        };
        sqlx::query(
            "INSERT INTO console_login_failures (login, failures, locked_until) VALUES ($1, $2, $3) \
             ON CONFLICT (login) DO UPDATE SET failures = excluded.failures, \
             locked_until = excluded.locked_until",
        )
        .bind(login)
        .bind(failures_kept)
        .bind(locked_until)
        .execute(&mut *tx)
        .await?;
        let detail = if locked_until > 0 {
            format!("密码错误第 {failures} 次，锁定 {} 分钟", LOCK_SECONDS / 60)
        } else {
            format!("密码错误第 {failures} 次")
        };
        let op = Operator(login.to_string());
        append_log(
            &mut tx,
            &op,
            &LogLine::new("console.login", login, &detail, "拒绝"),
        )
        .await?;
        tx.commit().await?;
        Ok(failures)
    }

    /// Opens a session for `login` (the failure count cleared), logged.
    pub async fn open_console_session(
        &self,
        login: &str,
        token_hash: &str,
        csrf: &str,
        expires_at: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM console_login_failures WHERE login = $1")
            .bind(login)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO console_sessions (token_hash, login, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(login)
        .bind(csrf)
        .bind(now_text())
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        let op = Operator(login.to_string());
        append_log(&mut tx, &op, &LogLine::done("console.login", login, "登录")).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The live session of `token_hash` (not expired, its user not disabled).
    pub async fn console_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<ConsoleSession>> {
        let row = sqlx::query(
            "SELECT s.login, u.role, s.csrf, s.expires_at FROM console_sessions s \
             JOIN console_users u ON u.login = s.login \
             WHERE s.token_hash = $1 AND s.expires_at > $2 \
             AND NOT EXISTS (SELECT 1 FROM console_user_disables d WHERE d.login = s.login)",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(ConsoleSession {
                login: r.try_get(0)?,
                role: r.try_get(1)?,
                csrf: r.try_get(2)?,
                expires_at: r.try_get(3)?,
            })
        })
        .transpose()
    }

    /// Ends the session of `token_hash`, logged.
    pub async fn close_console_session(&self, login: &str, token_hash: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        let op = Operator(login.to_string());
        append_log(
            &mut tx,
            &op,
            &LogLine::done("console.logout", login, "退出"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes one console action's log line by itself (viewing a full ID number and the like).
    pub async fn console_log(
        &self,
        login: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        append_log(
            &mut conn,
            &Operator(login.to_string()),
            &LogLine::done(action, target, detail),
        )
        .await
    }
}
