//! The funds' books on SQLite and PostgreSQL: contributions post balanced entries in their own
//! transaction, a source the chart lacks is refused and records nothing, the fund report's
//! income equals what was recorded, and `ledger_check` finds a tampered journal.

mod common;

use common::{date, on_every_backend, op, root};
use yibao_core::Policy;
use yibao_store::{Contribution, NewPerson, Store};

async fn resident_policy(store: &Store) {
    let source = std::fs::read_to_string(root().join("policies/sample-county-2024.toml")).unwrap();
    let policy = Policy::from_toml("resident", &source).unwrap();
    store.load_policy(&op(), &policy, &source).await.unwrap();
}

async fn count(store: &Store, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(store.pool())
        .await
        .unwrap()
}

fn paid(psn_no: &str, source: &str, fen: i64) -> Contribution {
    Contribution {
        psn_no: psn_no.into(),
        insutype: "390".into(),
        year: 2024,
        source: source.into(),
        amount_fen: fen,
        paid_on: date("2023-11-20"),
    }
}

#[test]
fn contributions_post_balanced_entries_and_the_check_finds_tampering() {
    on_every_backend("books", |backend, store| async move {
        resident_policy(&store).await;
        let psn = store
            .register_person(
                &op(),
                &NewPerson {
                    certno: "110105198001010032".into(),
                    name: "钱七".into(),
                    gend: "1".into(),
                    brdy: date("1980-01-01"),
                },
            )
            .await
            .unwrap();
        store
            .enrol(&op(), &psn, "390", 2024, "H001", "01")
            .await
            .unwrap();
        // 个人缴费 380 元、中央财政补助 400 元，再冲正个人缴费 10 元。
        for (source, fen) in [
            ("personal", 38_000),
            ("central", 40_000),
            ("personal", -1_000),
        ] {
            store
                .record_contribution(&op(), &paid(&psn, source, fen))
                .await
                .unwrap();
        }
        assert_eq!(count(&store, "journal_entries").await, 3, "{backend}");
        assert_eq!(count(&store, "journal_postings").await, 6, "{backend}");
        assert!(store.ledger_check().await.unwrap().is_empty(), "{backend}");

        // A source the chart has no account for: refused, nothing recorded.
        let before = (
            count(&store, "contributions").await,
            count(&store, "journal_entries").await,
        );
        let e = store
            .record_contribution(&op(), &paid(&psn, "lottery", 5_000))
            .await
            .unwrap_err();
        assert!(e.is_refusal(), "{backend}: {e}");
        assert!(e.to_string().contains("lottery"), "{backend}: {e}");
        let after = (
            count(&store, "contributions").await,
            count(&store, "journal_entries").await,
        );
        assert_eq!(before, after, "{backend}");

        let report = store.fund_report(2024).await.unwrap();
        let f = &report.funds[0];
        assert_eq!(f.insutype, "390");
        assert_eq!(f.income["personal"], 37_000, "{backend}");
        assert_eq!(f.income["central"], 40_000, "{backend}");
        assert_eq!(f.income_total(), 77_000);
        assert_eq!(f.spending(), 0);
        assert_eq!(f.balance(), 77_000);
        assert_eq!(f.enrolled, 1);
        assert_eq!(f.names["central"], "中央财政补助收入");

        // Tampering: one posting's debit changed. The entry no longer balances and the
        // contributions no longer equal their postings.
        sqlx::query(
            "UPDATE journal_postings SET debit_fen = debit_fen + 1 \
             WHERE debit_fen > 0 AND reference = (SELECT MIN(reference) FROM journal_postings)",
        )
        .execute(store.pool())
        .await
        .unwrap();
        let v = store.ledger_check().await.unwrap();
        assert!(v.iter().any(|m| m.contains("借贷不平")), "{backend}: {v:?}");
        // A posting to an account no chart has, in an entry of its own.
        sqlx::query(
            "INSERT INTO journal_postings (reference, line, account, sub, debit_fen, credit_fen) \
             VALUES ('contribution:orphan', 1, '999999', '', 100, 0)",
        )
        .execute(store.pool())
        .await
        .unwrap();
        let v = store.ledger_check().await.unwrap();
        assert!(v.iter().any(|m| m.contains("999999")), "{backend}: {v:?}");
        assert!(
            v.iter()
                .any(|m| m.contains("不存在的凭证 contribution:orphan")),
            "{backend}: {v:?}"
        );
    });
}
