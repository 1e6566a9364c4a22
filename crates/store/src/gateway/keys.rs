//! Institution keys (签发 / 撤销), written through the pool with their log lines.

use crate::{append_log, now_text, refused, LogLine, Operator, Result, Store};
use sqlx::Row;

impl Store {
    /// Stores a sealed secret for `institution` (the caller seals it; see `yibao keys`).
    pub async fn insert_key(&self, op: &Operator, institution: &str, sealed: &str) -> Result<()> {
        let known = sqlx::query("SELECT 1 FROM institutions WHERE code = $1")
            .bind(institution)
            .fetch_optional(&self.pool)
            .await?;
        if known.is_none() {
            return refused(format!(
                "机构编码 --institution={institution} 不存在：请先 yibao load 载入定点机构"
            ));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO institution_keys (institution, secret_enc, issued_at, issued_by) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(institution)
        .bind(sealed)
        .bind(now_text())
        .bind(&op.0)
        .execute(&mut *tx)
        .await?;
        append_log(
            &mut tx,
            op,
            &LogLine::done("keys.issue", institution, "签发接口密钥"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes every key of `institution`; how many there were.
    pub async fn revoke_keys(&self, op: &Operator, institution: &str) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        let ids = sqlx::query(
            "SELECT k.id FROM institution_keys k WHERE k.institution = $1 \
             AND NOT EXISTS (SELECT 1 FROM key_revocations r WHERE r.key_id = k.id)",
        )
        .bind(institution)
        .fetch_all(&mut *tx)
        .await?;
        for r in &ids {
            let id: i64 = r.try_get(0)?;
            sqlx::query(
                "INSERT INTO key_revocations (key_id, revoked_at, revoked_by) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(now_text())
            .bind(&op.0)
            .execute(&mut *tx)
            .await?;
        }
        let detail = format!("撤销接口密钥 {} 个", ids.len());
        append_log(
            &mut tx,
            op,
            &LogLine::done("keys.revoke", institution, &detail),
        )
        .await?;
        tx.commit().await?;
        Ok(ids.len())
    }

    /// Up to `limit` sealed keys in force (not revoked), newest first: what a gateway
    /// starting tries its master key on.
    pub async fn sealed_keys(&self, limit: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT k.secret_enc FROM institution_keys k \
             WHERE NOT EXISTS (SELECT 1 FROM key_revocations r WHERE r.key_id = k.id) \
             ORDER BY k.id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect::<Result<Vec<String>>>()
    }
}
