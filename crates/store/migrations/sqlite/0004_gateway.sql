-- 医院网关：机构密钥、报文（按 msgid 幂等）、就诊、费用明细、结算与撤销、年度累计。
-- Settlements and reversals are append-only; a visit's state and a fee line's withdrawal
-- are the only rows updated in place, always in the transaction that answers the hospital.

-- 机构密钥：secret_enc is the secret sealed with the master key kept outside the database.
CREATE TABLE institution_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    institution TEXT NOT NULL,
    secret_enc TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    issued_by TEXT NOT NULL
);
CREATE INDEX institution_keys_inst ON institution_keys (institution);
CREATE TABLE key_revocations (
    key_id BIGINT PRIMARY KEY REFERENCES institution_keys (id),
    revoked_at TEXT NOT NULL,
    revoked_by TEXT NOT NULL
);

-- 报文：every answered message, by institution and msgid (a repeat gets this response).
CREATE TABLE gateway_messages (
    fixmedins_code TEXT NOT NULL,
    msgid TEXT NOT NULL,
    nonce TEXT NOT NULL,
    infno TEXT NOT NULL,
    infcode BIGINT NOT NULL,
    response TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (fixmedins_code, msgid)
);
CREATE UNIQUE INDEX gateway_messages_nonce ON gateway_messages (fixmedins_code, nonce);

-- 就诊 (mdtrt_id): kind otp/ipt; dates yyyymmdd, enddate 0 until known.
CREATE TABLE visits (
    mdtrt_id TEXT PRIMARY KEY,
    fixmedins_code TEXT NOT NULL,
    psn_no TEXT NOT NULL REFERENCES persons (psn_no),
    kind TEXT NOT NULL,
    insutype TEXT NOT NULL,
    med_type TEXT NOT NULL,
    ipt_otp_no TEXT NOT NULL,
    mdtrt_cert_type TEXT NOT NULL,
    mdtrt_cert_no TEXT NOT NULL,
    begndate BIGINT NOT NULL,
    enddate BIGINT NOT NULL,
    dise_codg TEXT NOT NULL,
    state TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX visits_psn ON visits (psn_no);

-- 费用明细: prices and quantities as sent (decimal text), amount in fen.
CREATE TABLE fee_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mdtrt_id TEXT NOT NULL REFERENCES visits (mdtrt_id),
    feedetl_sn TEXT NOT NULL,
    chrg_bchno TEXT NOT NULL,
    med_list_codg TEXT NOT NULL,
    pric TEXT NOT NULL,
    cnt TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    fee_ocur_date BIGINT NOT NULL,
    withdrawn BIGINT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE INDEX fee_lines_visit ON fee_lines (mdtrt_id);

-- 结算: the amounts answered, and the accumulator delta a reversal gives back.
CREATE TABLE settlements (
    setl_id TEXT PRIMARY KEY,
    mdtrt_id TEXT NOT NULL REFERENCES visits (mdtrt_id),
    psn_no TEXT NOT NULL,
    fixmedins_code TEXT NOT NULL,
    insutype TEXT NOT NULL,
    clr_type TEXT NOT NULL,
    year BIGINT NOT NULL,
    setl_date BIGINT NOT NULL,
    medfee_sumamt BIGINT NOT NULL,
    fund_pay_sumamt BIGINT NOT NULL,
    acct_pay BIGINT NOT NULL,
    delta TEXT NOT NULL,
    output TEXT NOT NULL,
    settled_at TEXT NOT NULL,
    msgid TEXT NOT NULL
);
CREATE INDEX settlements_visit ON settlements (mdtrt_id);
CREATE INDEX settlements_inst ON settlements (fixmedins_code, setl_date);
CREATE TABLE settlement_reversals (
    setl_id TEXT PRIMARY KEY REFERENCES settlements (setl_id),
    reversed_at TEXT NOT NULL,
    msgid TEXT NOT NULL
);

-- 年度累计 per person and year: the sum of the deltas of settlements not reversed.
CREATE TABLE accumulators (
    psn_no TEXT NOT NULL,
    year BIGINT NOT NULL,
    counters TEXT NOT NULL,
    PRIMARY KEY (psn_no, year)
);
