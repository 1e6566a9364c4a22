//! The README's list of transactions is the gateway's table.

use yibao_gateway::TRANSACTIONS;

/// The `infno 名称` pairs of the README's "受理交易" paragraph, in order.
fn readme_transactions() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md at the repository root");
    let start = readme.find("- 受理交易").expect("README lists 受理交易");
    let para = &readme[start..];
    let body = &para[para.find('：').expect("the list follows a colon") + '：'.len_utf8()..];
    let body = &body[..body.find('。').expect("the list ends with 。")];
    body.split('；')
        .map(|item| {
            let item = item.trim();
            let (infno, name) = item.split_once(' ').unwrap_or((item, ""));
            (infno.to_string(), name.trim().to_string())
        })
        .collect()
}

#[test]
fn readme_lists_the_gateway_transactions() {
    let table: Vec<(String, String)> = TRANSACTIONS
        .iter()
        .map(|t| (t.infno.to_string(), t.name.to_string()))
        .collect();
    assert_eq!(readme_transactions(), table);
}

#[test]
fn each_infno_once_in_order() {
    let infnos: Vec<&str> = TRANSACTIONS.iter().map(|t| t.infno).collect();
    assert!(infnos.windows(2).all(|w| w[0] < w[1]), "{infnos:?}");
}
