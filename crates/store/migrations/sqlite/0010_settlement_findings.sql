-- 智能审核疑点：网关结算时按审核规则对就诊的费用明细筛查出的疑点，与结算单同一事务写入；只追加。
-- 疑点不改变结算金额（不变量 19）；seq 为疑点在结算单内的次序（从 1 起），amount_fen 为涉及金额（分）。
CREATE TABLE settlement_findings (
    setl_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    family TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    message TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (setl_id, seq)
);
