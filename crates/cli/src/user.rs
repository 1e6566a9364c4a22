//! `yibao user add|disable`: the console's users (interface.md §7).

use crate::register::{block_on, open, DbArg};
use anyhow::{anyhow, Result};
use std::io::BufRead;
use yibao_store::Operator;

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// 新建控制台用户；密码从标准输入读一行
    Add {
        /// 登录名（字母、数字、'_'、'-'、'.'）
        #[arg(long)]
        login: String,
        /// 角色：operator 经办员、auditor 审核员、finance 财务、admin 管理员、insurer 保险公司（只读）
        #[arg(long)]
        role: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// 停用控制台用户（并结束其会话）
    Disable {
        #[arg(long)]
        login: String,
        #[command(flatten)]
        db: DbArg,
    },
}

/// The shortest password accepted.
const MIN_PASSWORD_CHARS: usize = 8;

pub fn user(cmd: UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Add { login, role, db } => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| anyhow!("无法从标准输入读密码：{e}"))?;
            let password = line.trim_end_matches(['\r', '\n']);
            if password.chars().count() < MIN_PASSWORD_CHARS {
                return Err(anyhow!(
                    "密码（标准输入的第一行）太短：至少 {MIN_PASSWORD_CHARS} 个字符"
                ));
            }
            let hash = yibao_console::hash_password(password)
                .map_err(|e| anyhow!("无法计算密码哈希：{e}"))?;
            block_on(async move {
                let store = open(&db).await?;
                store
                    .add_console_user(&Operator::from_env(), login.trim(), role.trim(), &hash)
                    .await?;
                println!("已新建控制台用户 {}（{}）", login.trim(), role.trim());
                Ok(())
            })
        }
        UserCommand::Disable { login, db } => block_on(async move {
            let store = open(&db).await?;
            store
                .disable_console_user(&Operator::from_env(), login.trim())
                .await?;
            println!("已停用控制台用户 {}", login.trim());
            Ok(())
        }),
    }
}
