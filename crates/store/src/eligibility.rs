//! Eligibility (待遇资格): for a person and a date, what the store says: enrolment and
//! whether it is paid, categories, registrations, suspension or lock. The same record feeds
//! the engine (as a [`yibao_core::Person`]) in batch and at the gateway.

use crate::contribution::ContributionRow;
use crate::contribution::PolicyCache;
use crate::register::{Registration, RegistrationRow};
use crate::{date_of, Result, Store};
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;
use yibao_core::enrolment::assemble_person;
use yibao_core::refdata::{Person, Suspension};
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
        let Some(stored) = self.stored_person(psn_no, on).await? else {
            return Ok(None);
        };
        let StoredPerson {
            person,
            enrolments,
            registrations,
        } = &*stored;
        let (insutype, hh_no) = match enrolments.iter().find(|e| e.year == on.year()) {
            Some(e) => (Some(e.insutype.clone()), Some(e.hh_no.clone())),
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
            registrations: registrations.clone(),
            offsite: person.offsite_registered(on),
            eligible: paid && suspension.is_none(),
            suspension,
        }))
    }

    /// The engine's view of one person (paid years, categories, approved registrations,
    /// suspensions), or `None` when unknown.
    pub async fn person(&self, psn_no: &str) -> Result<Option<Person>> {
        self.person_on(psn_no, crate::today()).await
    }

    /// The engine's view of one person with registration states as of `on`.
    pub async fn person_on(&self, psn_no: &str, on: Date) -> Result<Option<Person>> {
        Ok(self
            .stored_person(psn_no, on)
            .await?
            .map(|s| s.person.clone()))
    }

    /// What the store holds of a person as of `on`: from memory while the register
    /// generation last read (see [`PersonCache`]) is unchanged, else from the database.
    async fn stored_person(
        &self,
        psn_no: &str,
        on: Date,
    ) -> Result<Option<std::sync::Arc<StoredPerson>>> {
        let label = match self.persons.lookup(psn_no, on) {
            Ok(cached) => return Ok(cached),
            Err(label) => label,
        };
        let mut conn = self.pool.acquire().await?;
        let stored = person_record(&mut conn, &self.policies, psn_no, on)
            .await?
            .map(std::sync::Arc::new);
        if let Some(label) = label {
            self.persons.insert(label, psn_no, on, stored.clone());
        }
        Ok(stored)
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

/// Persons as last read (by number and date), kept while the register generation is the
/// one they were read under. The generation is a counter every change to what a person's
/// record is built from bumps, by trigger (migration 0005); the gateway reads it with each
/// request's key ([`Store::auth_facts`]) and calls [`PersonCache::observe`]. A person read
/// after observing generation `g` is at least as new as `g`, so it is stored under `g` and
/// served only while `g` is still the newest observed. A store that never observes (the
/// command line) never caches.
#[derive(Clone, Debug, Default)]
pub(crate) struct PersonCache {
    inner: std::sync::Arc<std::sync::Mutex<CachedPersons>>,
}

#[derive(Debug, Default)]
struct CachedPersons {
    generation: Option<i64>,
    persons: HashMap<(String, Date), Option<std::sync::Arc<StoredPerson>>>,
}

/// How many (person, date) records are kept before the cache starts afresh.
const PERSON_CACHE_MAX: usize = 100_000;

impl PersonCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CachedPersons> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes that the register is at `generation` (or newer): what was read before is dropped.
    pub(crate) fn observe(&self, generation: i64) {
        let mut c = self.lock();
        if c.generation.is_none_or(|g| g < generation) {
            c.generation = Some(generation);
            c.persons.clear();
        }
    }

    /// The cached record, or the generation to store a fresh read under (`None`: do not).
    fn lookup(
        &self,
        psn_no: &str,
        on: Date,
    ) -> Result<Option<std::sync::Arc<StoredPerson>>, Option<i64>> {
        let c = self.lock();
        match c.persons.get(&(psn_no.to_string(), on)) {
            Some(p) => Ok(p.clone()),
            None => Err(c.generation),
        }
    }

    fn insert(
        &self,
        generation: i64,
        psn_no: &str,
        on: Date,
        person: Option<std::sync::Arc<StoredPerson>>,
    ) {
        let mut c = self.lock();
        if c.generation != Some(generation) {
            return;
        }
        if c.persons.len() >= PERSON_CACHE_MAX {
            c.persons.clear();
        }
        c.persons.insert((psn_no.to_string(), on), person);
    }
}

/// One enrolment row: year, 险种 and household.
#[derive(Debug)]
struct EnrolmentRow {
    year: u16,
    insutype: String,
    hh_no: String,
}

/// What [`person_record`] read: the engine's person and the rows it was built from that
/// eligibility also reports.
#[derive(Debug)]
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
        scheme: Default::default(),
        family_aid: Vec::new(),
    })
}

/// Whose rows a read is for: one person, or every person number in `[first, last]` (in the
/// database's own order, the same for every table).
#[derive(Clone, Copy, Debug)]
enum Persons<'a> {
    One(&'a str),
    Range(&'a str, &'a str),
}

impl<'a> Persons<'a> {
    /// The condition on `column` (this crate's own name), binding `$1` (and `$2`).
    fn condition(self, column: &str) -> String {
        match self {
            Persons::One(_) => format!("{column} = $1"),
            Persons::Range(..) => format!("{column} >= $1 AND {column} <= $2"),
        }
    }

    fn bind<'q>(
        self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>
    where
        'a: 'q,
    {
        match self {
            Persons::One(p) => q.bind(p),
            Persons::Range(first, last) => q.bind(first).bind(last),
        }
    }
}

/// The rows a person's record is built from, each table's in its order.
#[derive(Default)]
struct PersonRows {
    enrolments: Vec<EnrolmentRow>,
    contributions: Vec<ContributionRow>,
    categories: Vec<(i64, String, DateRange)>,
    registrations: Vec<Registration>,
    locks: Vec<(i64, String, DateRange)>,
    /// Employments: (valid range, retired, civil servant).
    employments: Vec<(DateRange, bool, bool)>,
    /// Employee status by year where no employment says it: (year, retired, civil servant).
    status: Vec<(u16, bool, bool)>,
    /// Personal-account movements that add money (opening, 划入, interest): (date, fen).
    credits: Vec<(Date, i64)>,
}

/// The rows of every person in `who`, by person number, in one query: each table's rows as `(kind,
/// psn_no, three texts, four numbers, state, two order keys)`, in the order the record needs
/// them (enrolments by year, contributions by payment, spans by id, registrations with
/// their events in order).
async fn rows_of(
    conn: &mut AnyConnection,
    who: Persons<'_>,
    as_of: Date,
) -> Result<HashMap<String, PersonRows>> {
    let c = who.condition("psn_no");
    let rc = who.condition("r.psn_no");
    let current =
        |table: &str| format!("NOT EXISTS (SELECT 1 FROM {table} s WHERE s.supersedes = c.id)");
    let branches = [
        format!(
            "SELECT 'e', psn_no, insutype, hh_no, '', CAST(year AS BIGINT), CAST(0 AS BIGINT), \
             CAST(0 AS BIGINT), CAST(0 AS BIGINT), '', CAST(year AS BIGINT), CAST(0 AS BIGINT) \
             FROM enrolments WHERE {c}"
        ),
        format!(
            "SELECT 'c', psn_no, insutype, source, '', CAST(year AS BIGINT), \
             CAST(amount_fen AS BIGINT), CAST(paid_on AS BIGINT), CAST(0 AS BIGINT), '', \
             CAST(paid_on AS BIGINT), CAST(id AS BIGINT) FROM contributions WHERE {c}"
        ),
        format!(
            "SELECT 'g', psn_no, code, '', '', CAST(id AS BIGINT), CAST(valid_from AS BIGINT), \
             CAST(valid_to AS BIGINT), CAST(0 AS BIGINT), '', CAST(id AS BIGINT), CAST(0 AS BIGINT) \
             FROM person_categories c WHERE {c} AND {}",
            current("person_categories")
        ),
        format!(
            "SELECT 'l', psn_no, reason, '', '', CAST(id AS BIGINT), CAST(valid_from AS BIGINT), \
             CAST(valid_to AS BIGINT), CAST(0 AS BIGINT), '', CAST(id AS BIGINT), CAST(0 AS BIGINT) \
             FROM locks c WHERE {c} AND {}",
            current("locks")
        ),
        format!(
            "SELECT 'm', psn_no, unit_no, '', '', CAST(civil_servant AS BIGINT), \
             CAST(valid_from AS BIGINT), CAST(valid_to AS BIGINT), CAST(retired AS BIGINT), '', \
             CAST(id AS BIGINT), CAST(0 AS BIGINT) FROM employments WHERE {c}"
        ),
        format!(
            "SELECT 's', psn_no, '', '', '', CAST(year AS BIGINT), CAST(retired AS BIGINT), \
             CAST(civil_servant AS BIGINT), CAST(0 AS BIGINT), '', CAST(year AS BIGINT), \
             CAST(0 AS BIGINT) FROM employee_status WHERE {c}"
        ),
        format!(
            "SELECT 'a', psn_no, kind, '', '', CAST(on_date AS BIGINT), CAST(amount_fen AS BIGINT), \
             CAST(0 AS BIGINT), CAST(0 AS BIGINT), '', CAST(on_date AS BIGINT), CAST(id AS BIGINT) \
             FROM account_movements WHERE {c} AND kind IN ('{}', '{}', '{}')",
            crate::account::OPENING,
            crate::account::CREDIT,
            crate::account::INTEREST
        ),
        format!(
            "SELECT 'r', r.psn_no, r.reg_no, r.kind, r.dise_codg, CAST(r.valid_from AS BIGINT), \
             CAST(r.valid_to AS BIGINT), CAST(COALESCE(e.effective, 0) AS BIGINT), CAST(0 AS BIGINT), \
             COALESCE(e.state, ''), CAST(0 AS BIGINT), CAST(COALESCE(e.id, 0) AS BIGINT) \
             FROM registrations r LEFT JOIN registration_events e ON e.reg_no = r.reg_no WHERE {rc}"
        ),
    ];
    let sql = format!("{} ORDER BY 2, 1, 11, 3, 12", branches.join(" UNION ALL "));
    let rows = who.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await?;
    let mut out: HashMap<String, PersonRows> = HashMap::new();
    for r in &rows {
        let kind: String = r.try_get(0)?;
        let psn_no: String = r.try_get(1)?;
        let (t1, t2, t3): (String, String, String) = (r.try_get(2)?, r.try_get(3)?, r.try_get(4)?);
        let (n1, n2, n3): (i64, i64, i64) = (r.try_get(5)?, r.try_get(6)?, r.try_get(7)?);
        let year = || u16::try_from(n1).unwrap_or_default();
        let date = |n: i64| crate::date_from_value(n);
        let rows = out.entry(psn_no.clone()).or_default();
        match kind.as_str() {
            "e" => rows.enrolments.push(EnrolmentRow {
                year: year(),
                insutype: t1,
                hh_no: t2,
            }),
            "c" => rows.contributions.push(ContributionRow {
                insutype: t1,
                year: year(),
                source: t2,
                amount_fen: n2,
                paid_on: date(n3)?,
            }),
            "m" => {
                let range = DateRange {
                    from: date(n2)?,
                    to: date(n3)?,
                };
                let retired: i64 = r.try_get(8)?;
                rows.employments.push((range, retired != 0, n1 != 0));
            }
            "s" => rows.status.push((year(), n2 != 0, n3 != 0)),
            "a" => rows.credits.push((date(n1)?, n2)),
            "g" | "l" => {
                let range = DateRange {
                    from: date(n2)?,
                    to: date(n3)?,
                };
                if range.from <= range.to {
                    let spans = if kind == "g" {
                        &mut rows.categories
                    } else {
                        &mut rows.locks
                    };
                    spans.push((n1, t1, range));
                }
            }
            _ => {
                let state: String = r.try_get(9)?;
                let event = (!state.is_empty()).then_some((state, n3));
                crate::register::fold_registration_row(
                    &mut rows.registrations,
                    RegistrationRow {
                        reg_no: t1,
                        psn_no,
                        kind: t2,
                        dise_codg: t3,
                        valid_from: n1,
                        valid_to: n2,
                        event,
                    },
                )?;
            }
        }
    }
    for rows in out.values_mut() {
        crate::register::settle_registration_states(&mut rows.registrations, as_of);
    }
    Ok(out)
}

/// The person's scheme on `as_of`: the 险种 of that year's enrolment (else the latest
/// before it); retired and 公务员 as an employment in force then says, else as the year's
/// employee status; the account balance from what was credited up to then (the gateway
/// reads the account's whole ledger instead).
fn scheme_on(rows: &PersonRows, as_of: Date) -> yibao_core::refdata::Scheme {
    let year = as_of.year();
    let enrolment = rows
        .enrolments
        .iter()
        .filter(|e| e.year <= year)
        .max_by_key(|e| e.year)
        .or(rows.enrolments.first());
    let mut scheme = yibao_core::refdata::Scheme::default();
    if let Some(e) = enrolment {
        scheme.insutype = e.insutype.clone();
    }
    let employed = rows.employments.iter().find(|(r, ..)| r.contains(as_of));
    let status = rows.status.iter().find(|(y, ..)| *y == year);
    (scheme.retired, scheme.civil_servant) = match (employed, status) {
        (Some((_, retired, cs)), _) => (*retired, *cs),
        (None, Some((_, retired, cs))) => (*retired, *cs),
        (None, None) => (false, false),
    };
    scheme.acct_balance = yibao_core::account::balance_on(&rows.credits, as_of);
    scheme
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

/// A person's record from their rows: paid years under the policy's contribution rules
/// (read here), then the core assembles the engine's person (suspensions, categories,
/// approved registrations, locks).
async fn build(
    conn: &mut AnyConnection,
    policies: &PolicyCache,
    person: Person,
    rows: PersonRows,
    as_of: Date,
) -> Result<StoredPerson> {
    let mut covered = Vec::new();
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
            covered.push((e.year, cover));
        }
    }
    let spans = |v: Vec<(i64, String, DateRange)>| v.into_iter().map(|(_, c, r)| (c, r)).collect();
    let mut person = person;
    person.scheme = scheme_on(&rows, as_of);
    let person = assemble_person(
        person,
        covered,
        spans(rows.categories),
        &rows.registrations,
        spans(rows.locks),
    );
    Ok(StoredPerson {
        person,
        enrolments: rows.enrolments,
        registrations: rows.registrations,
    })
}
