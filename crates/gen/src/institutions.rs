//! 定点医疗机构 (designated medical institutions) of the county and beyond.
//!
//! Codes are `H` + a 6-digit region code + a 5-digit serial (`H99010110000`), 12
//! characters like the national 定点医药机构编码. The mix follows a real county: many
//! township health centres and village clinics (level 1), a few county hospitals
//! (level 2), a few city hospitals (level 3), one or two provincial hospitals (3P) and
//! a couple of out-of-province hospitals used for 异地就医.

use std::io::{self, Write};

/// Hospital level as written in `institutions.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// 一级: 乡镇卫生院 / 村卫生室.
    L1 = 0,
    /// 二级: county hospitals.
    L2 = 1,
    /// 三级: city hospitals in the province.
    L3 = 2,
    /// 省级三级: provincial hospitals.
    L3P = 3,
    /// 省外: out of province.
    Out = 4,
}

impl Level {
    pub(crate) const ALL: [Level; 5] = [Level::L1, Level::L2, Level::L3, Level::L3P, Level::Out];

    /// The `level` column value.
    pub(crate) fn code(self) -> &'static str {
        ["1", "2", "3", "3P", "OUT"][self as usize]
    }
}

/// Township (乡镇) names; their health centres come first, villages hang off them.
const TOWNS: [&str; 32] = [
    "城关镇",
    "青山镇",
    "石桥镇",
    "河口镇",
    "柳林镇",
    "白沙镇",
    "龙泉镇",
    "新店乡",
    "马坪乡",
    "东岳乡",
    "桃源镇",
    "双河镇",
    "高桥镇",
    "杨柳乡",
    "清水镇",
    "长岭乡",
    "黄土镇",
    "金鸡镇",
    "梅花乡",
    "太平镇",
    "松林镇",
    "三合乡",
    "永兴镇",
    "大坪乡",
    "古城镇",
    "安乐乡",
    "红星镇",
    "凤凰镇",
    "水口乡",
    "塘坊镇",
    "西湖乡",
    "南岗镇",
];

/// Village (村) names.
const VILLAGES: [&str; 30] = [
    "李家", "王庄", "张湾", "刘岗", "陈塘", "杨树", "黄坡", "赵集", "周营", "吴桥", "孙寨", "马头",
    "朱岭", "胡村", "郭庄", "林场", "何湾", "高坎", "罗山", "梁家", "宋庄", "郑楼", "谢家", "韩岗",
    "唐湾", "冯庄", "董家", "程岭", "曹店", "彭冲",
];

const COUNTY_HOSPITALS: [&str; 8] = [
    "示范县第一人民医院",
    "示范县中医医院",
    "示范县妇幼保健院",
    "示范县第二人民医院",
    "示范县精神卫生中心",
    "示范县第三人民医院",
    "示范县中西医结合医院",
    "示范县骨科医院",
];

const CITY_HOSPITALS: [&str; 6] = [
    "示范市第一人民医院",
    "示范市中心医院",
    "示范市中医院",
    "示范市第二人民医院",
    "示范市妇幼保健院",
    "示范市肿瘤医院",
];

const PROVINCIAL_HOSPITALS: [&str; 6] = [
    "省人民医院",
    "省医科大学附属第一医院",
    "省肿瘤医院",
    "省中医院",
    "省儿童医院",
    "省医科大学附属第二医院",
];

/// Out-of-province hospitals: (region code of the host city, name).
const OUT_HOSPITALS: [(&str, &str); 6] = [
    ("110105", "北京某大学附属医院"),
    ("310104", "上海某三甲医院"),
    ("440104", "广州某中心医院"),
    ("510107", "成都某大学华西医院"),
    ("420106", "武汉某协和医院"),
    ("330106", "杭州某省级医院"),
];

/// Region codes: the county, the city, the province (fictional, 99).
const COUNTY_REGION: &str = "990101";
const CITY_REGION: &str = "990102";
const PROVINCE_REGION: &str = "990100";

/// Chinese numeral for 1..=99 (`第十二人民医院`).
fn chinese_number(n: usize) -> String {
    const D: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    // 十, 十二, 二十, 二十三: the units digit is silent when zero.
    let units = match n % 10 {
        0 => "",
        u => D[u],
    };
    match n {
        0..=9 => D[n].to_string(),
        10..=19 => format!("十{units}"),
        20..=99 => format!("{}十{units}", D[n / 10]),
        _ => n.to_string(),
    }
}

/// Numbers of institutions per level for `n` in total: level 1 always exists, then
/// 2, 3, 3P and OUT appear as `n` grows.
fn level_counts(n: usize) -> [usize; 5] {
    let l2 = if n >= 2 { (n * 7 / 100).max(1) } else { 0 };
    let l3 = if n >= 3 { (n * 5 / 100).max(1) } else { 0 };
    let l3p = match n {
        0..=3 => 0,
        4..=29 => 1,
        _ => 2 + n / 500,
    };
    let out = match n {
        0..=4 => 0,
        5..=19 => 1,
        _ => 2 + n / 200,
    };
    [n - l2 - l3 - l3p - out, l2, l3, l3p, out]
}

/// All institutions, in file order (by level, then serial).
pub(crate) struct Institutions {
    /// 12-character codes.
    pub codes: Vec<String>,
    /// Chinese names.
    pub names: Vec<String>,
    /// Levels.
    pub levels: Vec<Level>,
    /// Institution indices per level.
    pub by_level: [Vec<u32>; 5],
    /// Indices of the level-1 township health centres (乡镇卫生院), which admit
    /// inpatients; the other level-1 institutions are village clinics (村卫生室).
    pub centres: Vec<u32>,
}

impl Institutions {
    /// Builds `n ≥ 1` institutions. Deterministic without randomness: names and codes
    /// follow from the serial.
    pub(crate) fn build(n: usize) -> Institutions {
        let counts = level_counts(n);
        let mut out = Institutions {
            codes: Vec::with_capacity(n),
            names: Vec::with_capacity(n),
            levels: Vec::with_capacity(n),
            by_level: Default::default(),
            centres: Vec::new(),
        };
        let n_centres = counts[0].min(TOWNS.len());
        for level in Level::ALL {
            for j in 0..counts[level as usize] {
                let (region, name) = match level {
                    Level::L1 if j < n_centres => (COUNTY_REGION, format!("{}卫生院", TOWNS[j])),
                    Level::L1 => {
                        let k = j - n_centres;
                        let town = TOWNS[k % n_centres];
                        let village = VILLAGES[(k / n_centres) % VILLAGES.len()];
                        let round = k / (n_centres * VILLAGES.len());
                        let suffix = if round == 0 {
                            String::new()
                        } else {
                            format!("第{}", round + 1)
                        };
                        (COUNTY_REGION, format!("{town}{village}村{suffix}卫生室"))
                    }
                    Level::L2 => (
                        COUNTY_REGION,
                        named(&COUNTY_HOSPITALS, j, "示范县第", "人民医院"),
                    ),
                    Level::L3 => (
                        CITY_REGION,
                        named(&CITY_HOSPITALS, j, "示范市第", "人民医院"),
                    ),
                    Level::L3P => (
                        PROVINCE_REGION,
                        named(&PROVINCIAL_HOSPITALS, j, "省第", "人民医院"),
                    ),
                    Level::Out => {
                        let (region, name) = OUT_HOSPITALS[j % OUT_HOSPITALS.len()];
                        let round = j / OUT_HOSPITALS.len();
                        let name = if round == 0 {
                            name.to_string()
                        } else {
                            format!("{name}{}", round + 1)
                        };
                        (region, name)
                    }
                };
                let idx = out.codes.len();
                if level == Level::L1 && j < n_centres {
                    out.centres.push(idx as u32);
                }
                out.codes.push(format!("H{region}{:05}", 10_000 + idx));
                out.names.push(name);
                out.levels.push(level);
                out.by_level[level as usize].push(idx as u32);
            }
        }
        out
    }

    /// Writes `institutions.csv` (`code,name,level`).
    pub(crate) fn write_csv(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(b"code,name,level\n")?;
        for i in 0..self.codes.len() {
            writeln!(
                w,
                "{},{},{}",
                self.codes[i],
                self.names[i],
                self.levels[i].code()
            )?;
        }
        Ok(())
    }

    /// The township centre a level-1 institution belongs to (itself for a centre).
    pub(crate) fn centre_of(&self, level1_pos: usize) -> u32 {
        let n_centres = self.centres.len().max(1);
        self.centres
            .get(level1_pos % n_centres)
            .copied()
            .unwrap_or(0)
    }
}

/// Name `j` from a list, then generated `{prefix}{中文数字}{suffix}` names.
fn named(list: &[&str], j: usize, prefix: &str, suffix: &str) -> String {
    match list.get(j) {
        Some(name) => (*name).to_string(),
        None => format!("{prefix}{}{suffix}", chinese_number(j - list.len() + 4)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cover_every_size() {
        for n in 1..5000 {
            let c = level_counts(n);
            assert_eq!(c.iter().sum::<usize>(), n);
            assert!(c[0] >= 1);
        }
        assert_eq!(level_counts(5), [1, 1, 1, 1, 1]);
        assert_eq!(level_counts(60), [49, 4, 3, 2, 2]);
    }

    #[test]
    fn codes_unique_and_sized() {
        let inst = Institutions::build(2000);
        let mut codes = inst.codes.clone();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), 2000);
        assert!(inst.codes.iter().all(|c| c.len() == 12));
        assert_eq!(chinese_number(12), "十二");
        assert_eq!(chinese_number(40), "四十");
    }
}
