-- 参保登记、缴费、资格：PostgreSQL。与 migrations/sqlite 保持逐表一致。
-- Dates are BIGINT yyyymmdd; money is BIGINT fen; flags are BIGINT 0/1 (the same on both
-- databases). Rows of record are append-only: a change is a new row that supersedes an old one.

CREATE TABLE operation_log (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    operator TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    result TEXT NOT NULL
);

CREATE TABLE policies (
    id BIGSERIAL PRIMARY KEY,
    year BIGINT NOT NULL,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    loaded_at TEXT NOT NULL
);

CREATE TABLE institutions (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    level TEXT NOT NULL
);

CREATE TABLE catalog_items (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    class TEXT NOT NULL,
    selfpay_prop TEXT NOT NULL,
    price_limit TEXT NOT NULL,
    sex_limit TEXT NOT NULL,
    age_min TEXT NOT NULL,
    age_max TEXT NOT NULL,
    max_qty_per_day TEXT NOT NULL,
    indication TEXT NOT NULL
);

CREATE TABLE persons (
    psn_no TEXT PRIMARY KEY,
    certno TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    gend TEXT NOT NULL,
    brdy BIGINT NOT NULL,
    recorded_at TEXT NOT NULL
);

CREATE TABLE household_members (
    id BIGSERIAL PRIMARY KEY,
    hh_no TEXT NOT NULL,
    psn_no TEXT NOT NULL REFERENCES persons (psn_no),
    relation TEXT NOT NULL,
    year BIGINT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX household_members_psn ON household_members (psn_no, year);
CREATE INDEX household_members_hh ON household_members (hh_no, year);

-- 参保：one row per person, scheme and year.
CREATE TABLE enrolments (
    id BIGSERIAL PRIMARY KEY,
    psn_no TEXT NOT NULL REFERENCES persons (psn_no),
    insutype TEXT NOT NULL,
    year BIGINT NOT NULL,
    hh_no TEXT NOT NULL,
    school TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (psn_no, insutype, year)
);
CREATE INDEX enrolments_year ON enrolments (year, insutype);

-- 缴费：every payment or subsidy as a row (a correction is a negative row).
CREATE TABLE contributions (
    id BIGSERIAL PRIMARY KEY,
    psn_no TEXT NOT NULL REFERENCES persons (psn_no),
    insutype TEXT NOT NULL,
    year BIGINT NOT NULL,
    source TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    paid_on BIGINT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX contributions_psn ON contributions (psn_no, year);

-- 人员类别 (pk/db/tk …) with validity; a later row may supersede an earlier one.
CREATE TABLE person_categories (
    id BIGSERIAL PRIMARY KEY,
    psn_no TEXT NOT NULL REFERENCES persons (psn_no),
    code TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT NOT NULL,
    supersedes BIGINT,
    source TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX person_categories_psn ON person_categories (psn_no);

-- 门诊慢特病 / 异地就医 registrations (备案) and their state changes.
CREATE TABLE registrations (
    reg_no TEXT PRIMARY KEY,
    psn_no TEXT NOT NULL REFERENCES persons (psn_no),
    kind TEXT NOT NULL,
    dise_codg TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX registrations_psn ON registrations (psn_no);
CREATE TABLE registration_events (
    id BIGSERIAL PRIMARY KEY,
    reg_no TEXT NOT NULL REFERENCES registrations (reg_no),
    state TEXT NOT NULL,
    effective BIGINT NOT NULL,
    operator TEXT NOT NULL,
    note TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX registration_events_reg ON registration_events (reg_no);

-- 锁定 (an enrolee under investigation); unlocking supersedes the lock with an end date.
CREATE TABLE locks (
    id BIGSERIAL PRIMARY KEY,
    psn_no TEXT NOT NULL REFERENCES persons (psn_no),
    valid_from BIGINT NOT NULL,
    valid_to BIGINT NOT NULL,
    reason TEXT NOT NULL,
    supersedes BIGINT,
    recorded_at TEXT NOT NULL
);
CREATE INDEX locks_psn ON locks (psn_no);

-- 城镇职工: employer units, employments, declared bases, unit payments, deferrals.
CREATE TABLE employers (
    unit_no TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE TABLE employments (
    id BIGSERIAL PRIMARY KEY,
    psn_no TEXT NOT NULL REFERENCES persons (psn_no),
    unit_no TEXT NOT NULL REFERENCES employers (unit_no),
    valid_from BIGINT NOT NULL,
    valid_to BIGINT NOT NULL,
    retired BIGINT NOT NULL,
    pension_fen BIGINT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX employments_psn ON employments (psn_no);
CREATE INDEX employments_unit ON employments (unit_no);
CREATE TABLE contribution_bases (
    id BIGSERIAL PRIMARY KEY,
    psn_no TEXT NOT NULL REFERENCES persons (psn_no),
    unit_no TEXT NOT NULL REFERENCES employers (unit_no),
    year BIGINT NOT NULL,
    base_fen BIGINT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX contribution_bases_unit ON contribution_bases (unit_no, year);
CREATE TABLE unit_payments (
    id BIGSERIAL PRIMARY KEY,
    unit_no TEXT NOT NULL REFERENCES employers (unit_no),
    amount_fen BIGINT NOT NULL,
    paid_on BIGINT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX unit_payments_unit ON unit_payments (unit_no);
CREATE TABLE deferrals (
    agreement_no TEXT PRIMARY KEY,
    unit_no TEXT NOT NULL REFERENCES employers (unit_no),
    valid_from BIGINT NOT NULL,
    valid_to BIGINT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX deferrals_unit ON deferrals (unit_no);
