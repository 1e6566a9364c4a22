//! Eligibility (待遇资格): for a person and a date, what the store says: enrolment and
//! whether it is paid, categories, registrations, suspension or lock. The same record feeds
//! the engine (as a [`yibao_core::Person`]) in batch and at the gateway.

use crate::contribution::ContributionRow;
use crate::contribution::PolicyCache;
use crate::register::{registrations_of, spans_of, Persons, Registration, RegistrationKind};
use crate::{date_of, Result, Store};
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;
use yibao_core::refdata::{CategorySpan, ChronicRegistration, Person, Suspension};
use yibao_core::DateRange;
use yibao_core::{Date, RefData};

/// What a person may claim on a date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eligibility {
    pub psn_no: String,
    pub on: Date,
    /// 险种 of the enrolment for `on`'s year, if enrolled.
    pub insutype: Option<String>,
    pub hh_no: Option<String>,
    /// The enrolment is paid (缴费到位) for that year.
    pub paid: bool,
    /// Categories in force on `on`.
    pub categories: Vec<String>,
    /// Registrations as they stand on `on` (any state).
    pub registrations: Vec<Registration>,
    /// An approved 异地就医 registration covers `on`.
    pub offsite: bool,
    /// Benefits suspended on `on` (locked, arrears, waiting period), and why.
    pub suspension: Option<Suspension>,
    /// Whether a claim dated `on` can be paid at all.
    pub eligible: bool,
}

impl Store {
    /// The eligibility of `psn_no` on `on`; `None` when the person is unknown.
    pub async fn eligibility(&self, psn_no: &str, on: Date) -> Result<Option<Eligibility>> {
        let mut conn = self.pool.acquire().await?;
        let Some(stored) = person_record(&mut conn, &self.policies, psn_no, on).await? else {
            return Ok(None);
        };
        let StoredPerson {
            person,
            enrolments,
            registrations,
        } = stored;
        let (insutype, hh_no) = match enrolments.into_iter().find(|e| e.year == on.year()) {
            Some(e) => (Some(e.insutype), Some(e.hh_no)),
            None => (None, None),
        };
        let paid = person.enrolled(on.year());
        let suspension = person.suspension_on(on).cloned();
        Ok(Some(Eligibility {
            psn_no: psn_no.to_string(),
            on,
            insutype,
            hh_no,
            paid,
            categories: person
                .categories
                .iter()
                .filter(|c| c.range.contains(on))
                .map(|c| c.code.clone())
                .collect(),
            registrations,
            offsite: person.offsite_registered(on),
            eligible: paid && suspension.is_none(),
            suspension,
        }))
    }

    /// The engine's view of one person (paid years, categories, approved registrations,
    /// suspensions), or `None` when unknown.
    pub async fn person(&self, psn_no: &str) -> Result<Option<Person>> {
        let mut conn = self.pool.acquire().await?;
        Ok(
            person_record(&mut conn, &self.policies, psn_no, crate::today())
                .await?
                .map(|s| s.person),
        )
    }

    /// The engine's view of one person with registration states as of `on`.
    pub async fn person_on(&self, psn_no: &str, on: Date) -> Result<Option<Person>> {
        let mut conn = self.pool.acquire().await?;
        Ok(person_record(&mut conn, &self.policies, psn_no, on)
            .await?
            .map(|s| s.person))
    }

    /// Every registered person number.
    pub async fn all_psn_nos(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT psn_no FROM persons ORDER BY psn_no")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?)
    }

    /// Adds every registered person to `refdata`, for a batch run against the store. Reads
    /// the register in chunks of person numbers, a handful of queries per chunk.
    pub async fn add_persons_to(&self, refdata: &mut RefData) -> Result<usize> {
        const CHUNK: i64 = 5_000;
        let mut conn = self.pool.acquire().await?;
        let today = crate::today();
        let mut n = 0;
        let mut after: Option<String> = None;
        loop {
            let rows = match &after {
                None => {
                    sqlx::query(&format!("{PERSON_SELECT} ORDER BY psn_no LIMIT $1"))
                        .bind(CHUNK)
                        .fetch_all(&mut *conn)
                        .await?
                }
                Some(last) => {
                    sqlx::query(&format!(
                        "{PERSON_SELECT} WHERE psn_no > $1 ORDER BY psn_no LIMIT $2"
                    ))
                    .bind(last.as_str())
                    .bind(CHUNK)
                    .fetch_all(&mut *conn)
                    .await?
                }
            };
            let persons = rows.iter().map(base_person).collect::<Result<Vec<_>>>()?;
            let (Some(first), Some(last)) = (persons.first(), persons.last()) else {
                break;
            };
            let (first, last) = (first.psn_no.clone(), last.psn_no.clone());
            let mut rows = rows_of(&mut conn, Persons::Range(&first, &last), today).await?;
            for person in persons {
                let own = rows.remove(&person.psn_no).unwrap_or_default();
                let psn_no = person.psn_no.clone();
                let s = build(&mut conn, &self.policies, person, own, today).await?;
                refdata
                    .add_person(s.person)
                    .map_err(|e| crate::StoreError::Refused(format!("人员 {psn_no}：{e}")))?;
                n += 1;
            }
            after = Some(last);
        }
        Ok(n)
    }
}

/// One enrolment row: year, 险种 and household.
struct EnrolmentRow {
    year: u16,
    insutype: String,
    hh_no: String,
}

/// What [`person_record`] read: the engine's person and the rows it was built from that
/// eligibility also reports.
pub(crate) struct StoredPerson {
    pub(crate) person: Person,
    enrolments: Vec<EnrolmentRow>,
    registrations: Vec<Registration>,
}

const PERSON_SELECT: &str = "SELECT psn_no, certno, name, gend, brdy FROM persons";

/// A person's own fields, before anything is derived.
fn base_person(r: &sqlx::any::AnyRow) -> Result<Person> {
    Ok(Person {
        psn_no: r.try_get(0)?,
        certno: r.try_get(1)?,
        name: r.try_get(2)?,
        gend: r.try_get(3)?,
        brdy: date_of(r, 4)?,
        enrolments: Vec::new(),
        categories: Vec::new(),
        chronic: Vec::new(),
        offsite: Vec::new(),
        suspensions: Vec::new(),
    })
}

/// The rows a person's record is built from, each table's in its order.
#[derive(Default)]
struct PersonRows {
    enrolments: Vec<EnrolmentRow>,
    contributions: Vec<ContributionRow>,
    categories: Vec<(i64, String, DateRange)>,
    registrations: Vec<Registration>,
    locks: Vec<(i64, String, DateRange)>,
}

/// The rows of every person in `who`, by person number: one query per table.
async fn rows_of(
    conn: &mut AnyConnection,
    who: Persons<'_>,
    as_of: Date,
) -> Result<HashMap<String, PersonRows>> {
    let mut out: HashMap<String, PersonRows> = HashMap::new();
    let sql = format!(
        "SELECT psn_no, year, insutype, hh_no FROM enrolments WHERE {} ORDER BY psn_no, year",
        who.condition("psn_no")
    );
    for r in &who.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let year: i64 = r.try_get(1)?;
        out.entry(r.try_get(0)?)
            .or_default()
            .enrolments
            .push(EnrolmentRow {
                year: u16::try_from(year).unwrap_or_default(),
                insutype: r.try_get(2)?,
                hh_no: r.try_get(3)?,
            });
    }
    let sql = format!(
        "SELECT psn_no, insutype, year, source, amount_fen, paid_on FROM contributions \
         WHERE {} ORDER BY psn_no, paid_on, id",
        who.condition("psn_no")
    );
    for r in &who.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let year: i64 = r.try_get(2)?;
        out.entry(r.try_get(0)?)
            .or_default()
            .contributions
            .push(ContributionRow {
                insutype: r.try_get(1)?,
                year: u16::try_from(year).unwrap_or_default(),
                source: r.try_get(3)?,
                amount_fen: r.try_get(4)?,
                paid_on: date_of(r, 5)?,
            });
    }
    for (psn_no, id, code, range) in spans_of(conn, "person_categories", "code", who).await? {
        out.entry(psn_no)
            .or_default()
            .categories
            .push((id, code, range));
    }
    for reg in registrations_of(conn, who, as_of).await? {
        out.entry(reg.psn_no.clone())
            .or_default()
            .registrations
            .push(reg);
    }
    for (psn_no, id, reason, range) in spans_of(conn, "locks", "reason", who).await? {
        out.entry(psn_no)
            .or_default()
            .locks
            .push((id, reason, range));
    }
    Ok(out)
}

/// Builds the engine's person from the store. Registration states are taken as of `as_of`
/// (only for the 到期 label: validity ranges themselves are dated).
pub(crate) async fn person_record(
    conn: &mut AnyConnection,
    policies: &PolicyCache,
    psn_no: &str,
    as_of: Date,
) -> Result<Option<StoredPerson>> {
    let Some(r) = sqlx::query(&format!("{PERSON_SELECT} WHERE psn_no = $1"))
        .bind(psn_no)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let person = base_person(&r)?;
    let rows = rows_of(conn, Persons::One(psn_no), as_of)
        .await?
        .remove(psn_no)
        .unwrap_or_default();
    Ok(Some(build(conn, policies, person, rows, as_of).await?))
}

/// A person's record from their rows: paid years under the policy's contribution rules,
/// suspensions, categories, approved registrations, locks.
async fn build(
    conn: &mut AnyConnection,
    policies: &PolicyCache,
    mut person: Person,
    rows: PersonRows,
    as_of: Date,
) -> Result<StoredPerson> {
    for e in &rows.enrolments {
        if let Some(cover) = crate::contribution::coverage(
            conn,
            policies,
            &person.psn_no,
            &e.insutype,
            e.year,
            as_of,
            &rows.categories,
            &rows.contributions,
        )
        .await?
        {
            person.enrolments.push(e.year);
            person.suspensions.extend(cover.suspensions);
        }
    }
    for (_, code, range) in rows.categories {
        person.categories.push(CategorySpan { code, range });
    }
    for reg in &rows.registrations {
        let Some(range) = reg.effective() else {
            continue;
        };
        match reg.kind {
            RegistrationKind::Chronic => person.chronic.push(ChronicRegistration {
                dise_codg: reg.dise_codg.clone(),
                range,
            }),
            RegistrationKind::Offsite => person.offsite.push(range),
        }
    }
    for (_, reason, range) in rows.locks {
        person.suspensions.push(Suspension {
            range,
            reason: format!("人员已锁定：{reason}"),
        });
    }
    Ok(StoredPerson {
        person,
        enrolments: rows.enrolments,
        registrations: rows.registrations,
    })
}
