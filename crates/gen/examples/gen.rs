//! Generates a data directory and reports the time taken.
//!
//! `cargo run --release -p yibao-gen --example gen -- DIR [PERSONS] [CLAIMS] [BAD_PER_MILLE] [SEED]`

use std::time::Instant;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).and_then(|s| s.parse::<u64>().ok());
    let dir = args
        .first()
        .map(String::as_str)
        .unwrap_or("target/gen-example");
    let mut cfg = yibao_gen::GenConfig::default();
    if let Some(p) = arg(1) {
        cfg.persons = p as usize;
    }
    cfg.claims = arg(2).filter(|&n| n > 0).map(|n| n as usize);
    cfg.bad_per_mille = arg(3).unwrap_or(0) as u32;
    cfg.seed = arg(4).unwrap_or(cfg.seed);
    let start = Instant::now();
    let summary = yibao_gen::generate(&cfg, std::path::Path::new(dir))?;
    println!("{summary:?} in {:.2?}", start.elapsed());
    Ok(())
}
