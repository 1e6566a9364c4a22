-- 控制台（操作员网页）：用户与角色、会话、登录失败计数。
-- 用户只追加：停用是 console_user_disables 的一行，不改 console_users；每次变更都写操作日志。
-- role: operator 经办员、auditor 审核员、finance 财务、admin 管理员、insurer 保险公司（只读）。
CREATE TABLE console_users (
    login TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE TABLE console_user_disables (
    id BIGSERIAL PRIMARY KEY,
    login TEXT NOT NULL REFERENCES console_users (login),
    disabled_at TEXT NOT NULL,
    disabled_by TEXT NOT NULL
);
CREATE INDEX console_user_disables_login ON console_user_disables (login);
-- 会话：只存随机 token 的 SHA-256（库泄露也冒充不了会话）；expires_at 为 Unix 秒；csrf 为该会话的表单令牌。
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    login TEXT NOT NULL REFERENCES console_users (login),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_login ON console_sessions (login);
-- 连续密码错误次数；达到上限时 locked_until（Unix 秒）之前拒绝登录，正确登录后清零。
CREATE TABLE console_login_failures (
    login TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
