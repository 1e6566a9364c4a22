-- 职工医保个人账户 as a ledger: every movement appended, never changed. The balance on a date
-- is the sum of the movements dated up to it. Kinds: opening 期初余额 (reference data, on
-- 1 January), credit 划入, interest 利息, payment 支付 (negative, at settlement, dated by the
-- visit's end date, ref = setl_id), restoration 撤销退回 (positive, at a reversal, the same
-- date and ref). Only the gateway writes payments and restorations; the register writes
-- only movements that add money, so a settlement that read a balance before one of them
-- never pays more than the account holds.
CREATE TABLE account_movements (
    id BIGSERIAL PRIMARY KEY,
    psn_no TEXT NOT NULL,
    on_date BIGINT NOT NULL,
    kind TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    ref TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX account_movements_psn ON account_movements (psn_no, on_date);

-- The employee status a benefit policy reads (退休, 公务员) for a person and year, where no
-- employment says it (a reference data directory has no employers).
CREATE TABLE employee_status (
    psn_no TEXT NOT NULL,
    year BIGINT NOT NULL,
    retired BIGINT NOT NULL,
    civil_servant BIGINT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (psn_no, year)
);
-- 公务员医疗补助 follows the employment (机关事业单位).
ALTER TABLE employments ADD COLUMN civil_servant BIGINT NOT NULL DEFAULT 0;
