-- 基金会计（复式记账）的日记账：记账凭证与分录行，只追加，不改写。reference 唯一：一笔业务只记一次
-- （结算 settlement:{setl_id}、撤销 reversal:{setl_id}、缴费 contribution:{id}）；每笔凭证借贷相等，
-- 与它的业务记录在同一事务中写入。year 是业务所属年度（撤销随原结算的年度），on_date 是记账日期。
-- 科目表在政策文件的 [books] 中（yibao ledger check 与 yibao fund report 按它读）。
CREATE TABLE journal_entries (
    reference TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    insutype TEXT NOT NULL,
    year BIGINT NOT NULL,
    on_date BIGINT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX journal_entries_year ON journal_entries (year, kind);
CREATE TABLE journal_postings (
    reference TEXT NOT NULL,
    line BIGINT NOT NULL,
    account TEXT NOT NULL,
    sub TEXT NOT NULL,
    debit_fen BIGINT NOT NULL,
    credit_fen BIGINT NOT NULL,
    PRIMARY KEY (reference, line)
);

-- 医院负担（hosp_part_amt）不动用基金、不记账；基金报告从结算记录读它。
ALTER TABLE settlements ADD COLUMN hosp_part_amt BIGINT NOT NULL DEFAULT 0;

-- 基金的对外支付与收回：向定点机构拨付（payment）、大病保险保费（premium）、大病保险赔付结算
-- （insurer_claims）、年终盈亏调节（corridor）。每行与它的分录（reference 相同）同一事务写入；
-- reference 唯一，同一机构同一月份不会拨付两次；document 是当时的结算单（JSON），可复核。
CREATE TABLE fund_transfers (
    reference TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    insutype TEXT NOT NULL,
    party TEXT NOT NULL,
    year BIGINT NOT NULL,
    period TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    document TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

-- 基金报告按年度、险种、医疗类别数人次与受益人：结算记下医疗类别，一个覆盖索引让报告只读索引，
-- 不读结算记录（其中有整份应答）。
ALTER TABLE settlements ADD COLUMN med_type TEXT NOT NULL DEFAULT '';
CREATE INDEX settlements_report ON settlements (year, insutype, med_type, psn_no, hosp_part_amt, setl_id);
