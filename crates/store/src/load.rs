//! `yibao load`: a reference data directory (§1), as yibao-files read it, and a policy into
//! the store. Everything is validated before anything is written; the write, with its
//! operation-log line, is one transaction.

use crate::register::{far_future, INSUTYPE_EMPLOYEE};
use crate::{
    append_log, date_value, now_text, Batch, LogLine, Operator, Result, Store, StoreError, Value,
    ACCOUNT_MOVEMENTS, CATEGORIES, CONTRIBUTIONS, EMPLOYEE_STATUS, ENROLMENTS, EVENTS, MEMBERS,
    PERSONS, REGISTRATIONS,
};
use sqlx::Row;
use std::collections::HashSet;
use yibao_core::contribution::SOURCE_REFERENCE;
use yibao_core::enrolment::check_reference_person;
use yibao_core::refdata::{catalog_row, CatalogFields, CatalogItem, Institution, ReferenceSet};
use yibao_core::{Policy, RefData};

/// What a load did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub policy: String,
    pub institutions: usize,
    pub catalog_items: usize,
    pub persons_added: usize,
    pub persons_already_there: usize,
}

/// Loads `policy` (its TOML text `policy_source`) and a reference data directory as read
/// (`reference`, by yibao-files) into the store.
pub async fn load_reference(
    store: &Store,
    op: &Operator,
    policy: &Policy,
    policy_source: &str,
    reference: &ReferenceSet,
) -> Result<LoadReport> {
    let ReferenceSet {
        source,
        data,
        catalog,
    } = reference;
    for p in &data.persons {
        check_reference_person(p).map_err(StoreError::Refused)?;
    }

    let mut tx = store.pool.begin().await?;
    let now = now_text();
    for inst in data.institutions() {
        sqlx::query(
            "INSERT INTO institutions (code, name, level) VALUES ($1, $2, $3) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level",
        )
        .bind(&inst.code)
        .bind(&inst.name)
        .bind(inst.level.code())
        .execute(&mut *tx)
        .await?;
    }
    for f in catalog {
        sqlx::query(
            "INSERT INTO catalog_items (code, name, kind, class, selfpay_prop, price_limit, sex_limit, \
             age_min, age_max, max_qty_per_day, indication) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
             class = excluded.class, selfpay_prop = excluded.selfpay_prop, price_limit = excluded.price_limit, \
             sex_limit = excluded.sex_limit, age_min = excluded.age_min, age_max = excluded.age_max, \
             max_qty_per_day = excluded.max_qty_per_day, indication = excluded.indication",
        )
        .bind(f[0].trim())
        .bind(&f[1])
        .bind(&f[2])
        .bind(&f[3])
        .bind(&f[4])
        .bind(&f[5])
        .bind(&f[6])
        .bind(&f[7])
        .bind(&f[8])
        .bind(&f[9])
        .bind(&f[10])
        .execute(&mut *tx)
        .await?;
    }
    insert_policy(&mut tx, policy, policy_source).await?;

    let existing: HashSet<String> = sqlx::query("SELECT psn_no FROM persons")
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut batch = Batch::new();
    let mut report = LoadReport {
        policy: policy.name.clone(),
        institutions: data.institutions().len(),
        catalog_items: catalog.len(),
        ..Default::default()
    };
    let text = |s: &str| Value::Text(s.to_string());
    let mut reg_seq: i64 = sqlx::query("SELECT COUNT(*) FROM registrations")
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    let mut openings: i64 = 0;
    for p in &data.persons {
        batch.maybe_flush(&mut tx).await?;
        if existing.contains(&p.psn_no) {
            report.persons_already_there += 1;
            continue;
        }
        report.persons_added += 1;
        batch.push(
            &PERSONS,
            vec![
                text(&p.psn_no),
                text(&p.certno),
                text(&p.name),
                text(&p.gend),
                Value::Int(date_value(p.brdy)),
                text(&now),
            ],
        );
        // A reference directory has no households: each person is his own.
        let insutype = p.scheme.insutype.as_str();
        for &year in &p.enrolments {
            let y = Value::Int(i64::from(year));
            batch.push(
                &ENROLMENTS,
                vec![
                    text(&p.psn_no),
                    text(insutype),
                    y.clone(),
                    text(&p.psn_no),
                    text(""),
                    text(&now),
                ],
            );
            batch.push(
                &MEMBERS,
                vec![
                    text(&p.psn_no),
                    text(&p.psn_no),
                    text("01"),
                    y.clone(),
                    text(&now),
                ],
            );
            let jan1 = yibao_core::Date::from_ymd(u32::from(year), 1, 1).unwrap_or(far_future());
            batch.push(
                &CONTRIBUTIONS,
                vec![
                    text(&p.psn_no),
                    text(insutype),
                    y.clone(),
                    text(SOURCE_REFERENCE),
                    Value::Int(0),
                    Value::Int(date_value(jan1)),
                    text(&now),
                ],
            );
            if insutype == INSUTYPE_EMPLOYEE {
                batch.push(
                    &EMPLOYEE_STATUS,
                    vec![
                        text(&p.psn_no),
                        y,
                        Value::Int(i64::from(p.scheme.retired)),
                        Value::Int(i64::from(p.scheme.civil_servant)),
                        text(&now),
                    ],
                );
            }
        }
        // The personal account's balance on 1 January of the policy year.
        if insutype == INSUTYPE_EMPLOYEE && p.scheme.acct_balance > 0 {
            openings += p.scheme.acct_balance;
            let jan1 =
                yibao_core::Date::from_ymd(u32::from(policy.year), 1, 1).unwrap_or(far_future());
            batch.push(
                &ACCOUNT_MOVEMENTS,
                vec![
                    text(&p.psn_no),
                    Value::Int(date_value(jan1)),
                    text(crate::account::OPENING),
                    Value::Int(p.scheme.acct_balance),
                    text(source),
                    text(&now),
                ],
            );
        }
        for c in &p.categories {
            batch.push(
                &CATEGORIES,
                vec![
                    text(&p.psn_no),
                    text(&c.code),
                    Value::Int(date_value(c.range.from)),
                    Value::Int(date_value(c.range.to)),
                    Value::Null,
                    text("参考数据"),
                    text(&now),
                ],
            );
        }
        let approved = p
            .chronic
            .iter()
            .map(|c| ("chronic", c.dise_codg.as_str(), c.range))
            .chain(p.offsite.iter().map(|r| ("offsite", "", *r)))
            .chain(
                p.family_aid
                    .iter()
                    .map(|a| ("family", a.holder.as_str(), a.range)),
            );
        for (kind, dise, range) in approved {
            reg_seq += 1;
            let reg_no = format!("R{reg_seq:011}");
            batch.push(
                &REGISTRATIONS,
                vec![
                    text(&reg_no),
                    text(&p.psn_no),
                    text(kind),
                    text(dise),
                    Value::Int(date_value(range.from)),
                    Value::Int(date_value(range.to)),
                    text(&now),
                ],
            );
            for state in ["applied", "approved"] {
                batch.push(
                    &EVENTS,
                    vec![
                        text(&reg_no),
                        text(state),
                        Value::Int(date_value(range.from)),
                        text(&op.0),
                        text("参考数据导入"),
                        text(&now),
                    ],
                );
            }
        }
    }
    batch.flush(&mut tx).await?;
    if let Some(jan1) = yibao_core::Date::from_ymd(u32::from(policy.year), 1, 1) {
        let opening = crate::account::OPENING;
        let (policies, year) = (&store.policies, policy.year);
        crate::journal::post_account_movements(&mut tx, policies, year, opening, jan1, openings)
            .await?;
    }
    let detail = format!(
        "政策《{}》；机构 {}，目录 {}，新增人员 {}，已有人员 {}",
        report.policy,
        report.institutions,
        report.catalog_items,
        report.persons_added,
        report.persons_already_there
    );
    append_log(&mut tx, op, &LogLine::done("加载参考数据", source, &detail)).await?;
    tx.commit().await?;
    store.policies.clear();
    store.refresh_statistics().await?;
    Ok(report)
}

async fn insert_policy(
    conn: &mut sqlx::AnyConnection,
    policy: &Policy,
    source: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO policies (year, name, source, loaded_at) VALUES ($1, $2, $3, $4)")
        .bind(i64::from(policy.year))
        .bind(&policy.name)
        .bind(source)
        .bind(now_text())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl Store {
    /// Stores a policy (its validated form and TOML text) for its year and scheme; the
    /// latest loaded one applies.
    pub async fn load_policy(&self, op: &Operator, policy: &Policy, source: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_policy(&mut tx, policy, source).await?;
        let detail = format!("{} 年度 险种 {}", policy.year, policy.insutype);
        append_log(
            &mut tx,
            op,
            &LogLine::done("加载政策", &policy.name, &detail),
        )
        .await?;
        tx.commit().await?;
        self.policies.clear();
        Ok(())
    }

    /// Institutions and catalogue from the store (persons are added separately).
    pub async fn reference_data(&self) -> Result<RefData> {
        let mut data = RefData::default();
        let bad = |e: yibao_core::refdata::RefError| {
            StoreError::Refused(format!("数据库中的参考数据无效：{e}"))
        };
        for r in sqlx::query("SELECT code, name, level FROM institutions ORDER BY code")
            .fetch_all(&self.pool)
            .await?
        {
            let (code, name, level): (String, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            data.add_institution(Institution::new(&code, &name, &level).map_err(bad)?)
                .map_err(bad)?;
        }
        for r in sqlx::query(
            "SELECT code, name, kind, class, selfpay_prop, price_limit, sex_limit, age_min, age_max, \
             max_qty_per_day, indication FROM catalog_items ORDER BY code",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let mut f: CatalogFields = Default::default();
            for (i, v) in f.iter_mut().enumerate() {
                *v = r.try_get(i)?;
            }
            data.add_catalog_item(CatalogItem::from_row(&catalog_row(&f)).map_err(bad)?)
                .map_err(bad)?;
        }
        Ok(data)
    }

    /// The TOML text of the policy last loaded for `year`.
    pub async fn policy_source(&self, year: u16) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT source FROM policies WHERE year = $1 ORDER BY id DESC LIMIT 1")
                .bind(i64::from(year))
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }
}
