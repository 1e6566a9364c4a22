//! Unit tests of the gateway's storage (moved with the code from `gateway.rs`).

use super::writes::shift_placeholders;
use super::{Key, MessageMeta};
use yibao_core::YearAccumulators;

#[test]
fn placeholders_shift_for_a_shared_batch() {
    assert_eq!(
        shift_placeholders("UPDATE t SET a = $1, b = $12 WHERE c = $2", 10),
        "UPDATE t SET a = $11, b = $22 WHERE c = $12"
    );
    assert_eq!(shift_placeholders("SELECT 1", 5), "SELECT 1");
    assert_eq!(shift_placeholders("a $ b $x", 3), "a $ b $x");
}

/// Requests dropped at any moment (a HIS that hangs up; hyper then drops the request's
/// future), some of them while committing the group that holds other requests' writes:
/// every request not dropped is answered and recorded, and nothing stays in flight.
#[test]
fn dropped_requests_stop_no_other_answer() {
    crate::testing::runtime().block_on(async {
        for (backend, store) in crate::testing::stores("gw_dropped").await {
            let mut answered = Vec::new();
            for round in 0..30u32 {
                let mut tasks = Vec::new();
                for i in 0..16 {
                    let store = store.clone();
                    let meta = MessageMeta {
                        fixmedins_code: "H0001".into(),
                        msgid: format!("H0001{round:03}{i:022}"),
                        nonce: format!("n-{round}-{i}"),
                        infno: "2207".into(),
                        digest: String::new(),
                        opter: "test".into(),
                        target: String::new(),
                    };
                    tasks.push(tokio::spawn(async move {
                        let mut g = store.begin_gateway().await?;
                        let acc = YearAccumulators {
                            admissions: i64::from(round * 16 + i),
                            ..Default::default()
                        };
                        g.put_accumulators(&format!("P{}", i % 4), 2024, &acc);
                        g.finish(&meta, 0, "", "{}").await.map(|_| meta.msgid)
                    }));
                }
                for (i, t) in tasks.iter().enumerate() {
                    if i % 2 == 1 {
                        for _ in 0..(i + round as usize) % 5 {
                            tokio::task::yield_now().await;
                        }
                        t.abort();
                    }
                }
                for (i, t) in tasks.into_iter().enumerate() {
                    match t.await {
                        Ok(r) => answered.push(r.unwrap_or_else(|e| {
                            panic!("{backend}: 第 {round} 轮第 {i} 笔未被丢弃却失败：{e}")
                        })),
                        Err(e) => assert!(e.is_cancelled(), "{backend}: {e}"),
                    }
                }
            }
            // One more transaction commits whatever a dropped request left queued.
            let g = store.begin_gateway().await.expect("开始交易");
            let last = MessageMeta {
                fixmedins_code: "H0001".into(),
                msgid: format!("H0001999{:022}", 0),
                nonce: "n-last".into(),
                infno: "2207".into(),
                digest: String::new(),
                opter: "test".into(),
                target: String::new(),
            };
            g.finish(&last, 0, "", "{}").await.expect("最后一笔");
            for msgid in &answered {
                assert_eq!(
                    store
                        .answered("H0001", msgid)
                        .await
                        .expect("读报文")
                        .as_deref(),
                    Some("{}"),
                    "{backend}: 已应答的 {msgid} 应已记录"
                );
            }
            assert!(answered.len() >= 30 * 8, "{backend}: {}", answered.len());
            // SQLite only: PostgreSQL keeps no versions.
            for p in 0..4 {
                let Some(engine) = &store.sqlite else { break };
                let psn_no = format!("P{p}");
                let key = Key::Accumulators(&psn_no).version();
                assert!(
                    engine.settled(key).is_some(),
                    "{backend}: P{p} 的写入仍在途"
                );
            }
        }
    });
}

fn meta_of(msgid: String) -> MessageMeta {
    MessageMeta {
        fixmedins_code: "H0001".into(),
        nonce: format!("n-{msgid}"),
        msgid,
        infno: "2207".into(),
        digest: String::new(),
        opter: "test".into(),
        target: String::new(),
    }
}

/// Transactions of `msgids` at once (some commit in a group), each writing accumulators.
async fn commit_all(store: &crate::Store, msgids: &[String]) -> Vec<crate::Result<String>> {
    let mut tasks = Vec::new();
    for (i, msgid) in msgids.iter().enumerate() {
        let (store, meta) = (store.clone(), meta_of(msgid.clone()));
        tasks.push(tokio::spawn(async move {
            let mut g = store.begin_gateway().await?;
            let acc = YearAccumulators {
                admissions: 1,
                ..Default::default()
            };
            g.put_accumulators(&format!("R{}", i % 3), 2024, &acc);
            g.finish(&meta, 0, "", "{}").await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("交易任务"));
    }
    out
}

/// The read-only seam (`testing::set_sqlite_read_only`): while on, every commit fails with
/// SQLite's own error, a store fault and not a refusal, and records nothing (also with the
/// writing connection opened again after a failure); once off, the same msgids commit.
#[test]
fn read_only_writer_fails_commits_and_recovers() {
    crate::testing::runtime().block_on(async {
        for (backend, store) in crate::testing::stores("gw_read_only").await {
            if store.sqlite.is_none() {
                continue;
            }
            // The writing connection is open when the fault is set.
            let first = commit_all(&store, &["H0001R00".to_string()]).await;
            assert!(first[0].is_ok(), "{backend}: {:?}", first[0]);
            crate::testing::set_sqlite_read_only(&store, true)
                .await
                .expect("只读");
            let msgids: Vec<String> = (0..8).map(|i| format!("H0001R{i:02}x")).collect();
            for round in 0..2 {
                for (msgid, r) in msgids.iter().zip(commit_all(&store, &msgids).await) {
                    match r {
                        Err(crate::StoreError::Sqlite(e)) => assert!(
                            e.to_string().contains("readonly"),
                            "{backend}: 第 {round} 轮 {msgid}：{e}"
                        ),
                        other => {
                            panic!("{backend}: 第 {round} 轮 {msgid} 应为数据库错误：{other:?}")
                        }
                    }
                    let answered = store.answered("H0001", msgid).await.expect("读报文");
                    assert_eq!(answered, None, "{backend}: {msgid} 不应记录");
                }
            }
            let before = store.all_accumulators().await.expect("读累计");
            crate::testing::set_sqlite_read_only(&store, false)
                .await
                .expect("可写");
            for (msgid, r) in msgids.iter().zip(commit_all(&store, &msgids).await) {
                assert_eq!(r.expect("恢复后提交").as_str(), "{}", "{backend}: {msgid}");
                let answered = store.answered("H0001", msgid).await.expect("读报文");
                assert_eq!(answered.as_deref(), Some("{}"), "{backend}: {msgid}");
            }
            assert_eq!(before.len(), 1, "{backend}: 只读时不应写累计");
            assert_eq!(store.all_accumulators().await.expect("读累计").len(), 3);
            for p in 0..3 {
                let psn_no = format!("R{p}");
                let key = Key::Accumulators(&psn_no).version();
                let engine = store.sqlite.as_ref().expect("SQLite");
                assert!(engine.settled(key).is_some(), "{backend}: R{p} 仍在途");
            }
        }
    });
}
