-- 与定点机构的清算（国家接口 3202、3203/3204、9101/9102）。
-- 网关文件：9101 上传的文件与 3202 生成的对账结果文件。content 是文件字节的 base64（两种库的 sqlx Any
-- 都能读写的 TEXT）；只有 fixmedins_code 本机构能在 dld_endtime（北京时间 yyyy-MM-dd HH:mm:ss）之前下载或使用。
-- 与它的应答报文同一事务写入；只追加。
CREATE TABLE gateway_files (
    file_qury_no TEXT PRIMARY KEY,
    fixmedins_code TEXT NOT NULL,
    filename TEXT NOT NULL,
    kind TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    content TEXT NOT NULL,
    msgid TEXT NOT NULL,
    created_at TEXT NOT NULL,
    dld_endtime TEXT NOT NULL
);
-- 3203 清算申请：机构申报的一个月的清算总额（核对过与中心结算一致才记录），金额为分。
CREATE TABLE clearing_applications (
    clr_appy_evt_id TEXT PRIMARY KEY,
    fixmedins_code TEXT NOT NULL,
    clr_type TEXT NOT NULL,
    clr_way TEXT NOT NULL,
    setlym TEXT NOT NULL,
    psntime BIGINT NOT NULL,
    medfee_sumamt BIGINT NOT NULL,
    med_sumfee BIGINT NOT NULL,
    fund_appy_sum BIGINT NOT NULL,
    cash_payamt BIGINT NOT NULL,
    acct_pay BIGINT NOT NULL,
    begndate BIGINT NOT NULL,
    enddate BIGINT NOT NULL,
    msgid TEXT NOT NULL,
    applied_at TEXT NOT NULL
);
CREATE INDEX clearing_applications_month ON clearing_applications (fixmedins_code, setlym, clr_type);
-- 3204 清算撤销：追加一行，不删除申请；一个申请只能撤销一次（主键）。
CREATE TABLE clearing_cancellations (
    clr_appy_evt_id TEXT PRIMARY KEY,
    msgid TEXT NOT NULL,
    cancelled_at TEXT NOT NULL
);
