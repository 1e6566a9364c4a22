//! Eligibility (待遇资格): for a person and a date, what the store says: enrolment and
//! whether it is paid, categories, registrations, suspension or lock. The same record feeds
//! the engine (as a [`yibao_core::Person`]) in batch and at the gateway.

use crate::contribution::PolicyCache;
use crate::register::{
    current_categories, current_locks, registrations_of, Registration, RegistrationKind,
};
use crate::{date_of, Result, Store};
use sqlx::{AnyConnection, Row};
use yibao_core::refdata::{CategorySpan, ChronicRegistration, Person, Suspension};
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

    /// Adds every registered person to `refdata`, for a batch run against the store.
    pub async fn add_persons_to(&self, refdata: &mut RefData) -> Result<usize> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query("SELECT psn_no FROM persons ORDER BY psn_no")
            .fetch_all(&mut *conn)
            .await?;
        let today = crate::today();
        let mut n = 0;
        for r in &rows {
            let psn_no: String = r.try_get(0)?;
            if let Some(s) = person_record(&mut conn, &self.policies, &psn_no, today).await? {
                refdata
                    .add_person(s.person)
                    .map_err(|e| crate::StoreError::Refused(format!("人员 {psn_no}：{e}")))?;
                n += 1;
            }
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

/// Builds the engine's person from the store. Registration states are taken as of `as_of`
/// (only for the 到期 label: validity ranges themselves are dated).
pub(crate) async fn person_record(
    conn: &mut AnyConnection,
    policies: &PolicyCache,
    psn_no: &str,
    as_of: Date,
) -> Result<Option<StoredPerson>> {
    let Some(r) =
        sqlx::query("SELECT psn_no, certno, name, gend, brdy FROM persons WHERE psn_no = $1")
            .bind(psn_no)
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(None);
    };
    let mut person = Person {
        psn_no: r.try_get(0)?,
        certno: r.try_get(1)?,
        name: r.try_get(2)?,
        gend: r.try_get(3)?,
        brdy: date_of(&r, 4)?,
        enrolments: Vec::new(),
        categories: Vec::new(),
        chronic: Vec::new(),
        offsite: Vec::new(),
        suspensions: Vec::new(),
    };
    let years =
        sqlx::query("SELECT year, insutype, hh_no FROM enrolments WHERE psn_no = $1 ORDER BY year")
            .bind(psn_no)
            .fetch_all(&mut *conn)
            .await?;
    let categories = current_categories(conn, psn_no).await?;
    let mut enrolments = Vec::with_capacity(years.len());
    for y in &years {
        let year: i64 = y.try_get(0)?;
        let year = u16::try_from(year).unwrap_or_default();
        let insutype: String = y.try_get(1)?;
        if let Some(cover) = crate::contribution::coverage(
            conn,
            policies,
            psn_no,
            &insutype,
            year,
            as_of,
            &categories,
        )
        .await?
        {
            person.enrolments.push(year);
            person.suspensions.extend(cover.suspensions);
        }
        enrolments.push(EnrolmentRow {
            year,
            insutype,
            hh_no: y.try_get(2)?,
        });
    }
    for (_, code, range) in categories {
        person.categories.push(CategorySpan { code, range });
    }
    let registrations = registrations_of(conn, psn_no, as_of).await?;
    for reg in &registrations {
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
    for (_, range, reason) in current_locks(conn, psn_no).await? {
        person.suspensions.push(Suspension {
            range,
            reason: format!("人员已锁定：{reason}"),
        });
    }
    Ok(Some(StoredPerson {
        person,
        enrolments,
        registrations,
    }))
}
