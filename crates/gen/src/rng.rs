//! Seeded random streams. Every entity (person, visit, bad record) draws from its own
//! ChaCha8 stream keyed by `(seed, tag, index)`, so its content does not depend on how
//! much randomness anything else consumed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Stream tags: one per kind of entity.
pub(crate) const TAG_CATALOG: u64 = 1;
pub(crate) const TAG_PERSON: u64 = 2;
pub(crate) const TAG_PLAN: u64 = 3;
pub(crate) const TAG_VISIT: u64 = 4;
pub(crate) const TAG_BAD: u64 = 5;
pub(crate) const TAG_WRITE: u64 = 6;
// 7 is the roster's (`roster.rs`).
pub(crate) const TAG_EMPLOYEE: u64 = 8;
/// Audit-mode planning and injection (`claims/audit.rs`).
pub(crate) const TAG_AUDIT: u64 = 9;

/// SplitMix64 finaliser: a bijective, well-mixing step.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Sub-seed for entity `index` of kind `tag` under the run's `seed`.
pub(crate) fn derive(seed: u64, tag: u64, index: u64) -> u64 {
    splitmix(splitmix(splitmix(seed) ^ tag.wrapping_mul(0xD6E8_FEB8_6659_FD93)) ^ index)
}

/// The ChaCha8 stream of entity `index` of kind `tag`.
pub(crate) fn stream(seed: u64, tag: u64, index: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(derive(seed, tag, index))
}

/// Index drawn with probability proportional to `weights` (integers, so the draw is
/// exact and platform-independent). All-zero weights give index 0.
pub(crate) fn pick_weighted<R: Rng>(rng: &mut R, weights: &[u32]) -> usize {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    if total == 0 {
        return 0;
    }
    let mut r = rng.gen_range(0..total);
    for (i, &w) in weights.iter().enumerate() {
        let w = u64::from(w);
        if r < w {
            return i;
        }
        r -= w;
    }
    weights.len() - 1
}

/// True with probability `per_mille / 1000`.
pub(crate) fn chance<R: Rng>(rng: &mut R, per_mille: u32) -> bool {
    rng.gen_range(0..1000u32) < per_mille
}

/// Index of the first cumulative total above `r` (`cum` is non-decreasing, `r` below
/// its last element).
pub(crate) fn search_cumulative(cum: &[u64], r: u64) -> usize {
    cum.partition_point(|&c| c <= r)
        .min(cum.len().saturating_sub(1))
}
