-- Look-ups by person and year (eligibility, duplicate checks) must not fall back on the
-- (year, insutype) index, which covers every enrolee of a year: SQLite without statistics
-- picked it and scanned the whole year per look-up.
CREATE INDEX enrolments_psn_year ON enrolments (psn_no, year);
