//! Whether an enrolment is paid, and from when benefits run: the store's facts fed to the
//! core's contribution rules.

use crate::load::SOURCE_REFERENCE;
use crate::Result;
use sqlx::{AnyConnection, Row};
use yibao_core::refdata::Suspension;

/// A paid enrolment: benefits for the year, except during `suspensions`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub suspensions: Vec<Suspension>,
}

/// The coverage an enrolment gives, or `None` when it is not paid.
pub(crate) async fn coverage(
    conn: &mut AnyConnection,
    psn_no: &str,
    insutype: &str,
    year: u16,
) -> Result<Option<Coverage>> {
    let rows = sqlx::query(
        "SELECT source, amount_fen, paid_on FROM contributions \
         WHERE psn_no = $1 AND insutype = $2 AND year = $3 ORDER BY paid_on, id",
    )
    .bind(psn_no)
    .bind(insutype)
    .bind(i64::from(year))
    .fetch_all(&mut *conn)
    .await?;
    let mut personal = 0i64;
    for r in &rows {
        let source: String = r.try_get(0)?;
        if source == SOURCE_REFERENCE {
            return Ok(Some(Coverage::default()));
        }
        if source == "personal" || source == "assistance" {
            personal += r.try_get::<i64, _>(1)?;
        }
    }
    Ok((personal > 0).then(Coverage::default))
}
