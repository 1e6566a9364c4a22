//! Precision and recall of findings against ground-truth labels, per family
//! (`yibao audit eval`). A finding and a label match on (claim id, family).

use super::Family;
use rustc_hash::FxHashSet;

/// The score of one family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FamilyScore {
    pub family: String,
    /// Claims flagged with this family.
    pub flagged: usize,
    /// Claims labelled with this family.
    pub labelled: usize,
    /// Claims both flagged and labelled.
    pub hits: usize,
}

impl FamilyScore {
    /// hits / flagged in ppm; `None` when nothing was flagged.
    pub fn precision_ppm(&self) -> Option<i64> {
        ppm(self.hits, self.flagged)
    }

    /// hits / labelled in ppm; `None` when nothing was labelled.
    pub fn recall_ppm(&self) -> Option<i64> {
        ppm(self.hits, self.labelled)
    }
}

fn ppm(a: usize, b: usize) -> Option<i64> {
    (b > 0).then(|| (a as i128 * 1_000_000 / b as i128) as i64)
}

/// A ratio in ppm with four decimals, truncated (`0.9512`); `-` for none.
pub fn ratio_text(v: Option<i64>) -> String {
    match v {
        Some(p) => format!("{}.{:04}", p / 1_000_000, (p % 1_000_000) / 100),
        None => "-".into(),
    }
}

/// Scores `flags` against `labels`, each a list of (claim id, family code); repeated pairs
/// count once. Families in [`Family::ALL`] order, then any other codes alphabetically.
pub fn score(flags: &[(String, String)], labels: &[(String, String)]) -> Vec<FamilyScore> {
    let flags: FxHashSet<&(String, String)> = flags.iter().collect();
    let labels: FxHashSet<&(String, String)> = labels.iter().collect();
    let mut families: Vec<&str> = flags
        .iter()
        .chain(labels.iter())
        .map(|(_, f)| f.as_str())
        .collect();
    families.sort_by_key(|f| (Family::parse(f).map_or(usize::MAX, |x| x as usize), *f));
    families.dedup();
    families
        .into_iter()
        .map(|family| {
            let of =
                |set: &FxHashSet<&(String, String)>| set.iter().filter(|p| p.1 == family).count();
            FamilyScore {
                family: family.to_string(),
                flagged: of(&flags),
                labelled: of(&labels),
                hits: flags
                    .iter()
                    .filter(|p| p.1 == family && labels.contains(*p))
                    .count(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn precision_and_recall_per_family() {
        let flags = pairs(&[
            ("S1", "DUPLICATE_CHARGE"),
            ("S2", "DUPLICATE_CHARGE"),
            ("S2", "DUPLICATE_CHARGE"),
            ("S3", "SEX_CONFLICT"),
        ]);
        let labels = pairs(&[
            ("S1", "DUPLICATE_CHARGE"),
            ("S4", "DUPLICATE_CHARGE"),
            ("S5", "AGE_CONFLICT"),
        ]);
        let s = score(&flags, &labels);
        let names: Vec<&str> = s.iter().map(|f| f.family.as_str()).collect();
        assert_eq!(names, ["DUPLICATE_CHARGE", "SEX_CONFLICT", "AGE_CONFLICT"]);
        assert_eq!((s[0].flagged, s[0].labelled, s[0].hits), (2, 2, 1));
        assert_eq!(ratio_text(s[0].precision_ppm()), "0.5000");
        assert_eq!(ratio_text(s[1].recall_ppm()), "-");
        assert_eq!(ratio_text(s[2].recall_ppm()), "0.0000");
    }
}
