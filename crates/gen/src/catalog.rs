//! 医保目录 (the medical-insurance catalogue): drugs, services and materials with their
//! 甲/乙/丙 class, 乙类先行自付 proportion, 限价 (price cap) and audit limits.
//!
//! Items are drawn from a table of real-world item types ([`BASES`]) with a typical unit
//! price range each; a catalogue larger than the table repeats types under other
//! manufacturers or models. The reference (typical) unit price of each item is kept in
//! memory only: `catalog.csv` has no price column, claims carry the price.

use std::io::{self, Write};

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::rng::{chance, pick_weighted};
use crate::text::{push_fen, push_padded, push_u64};

/// Item kind (`kind` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Drug = 0,
    Service = 1,
    Material = 2,
}

impl Kind {
    /// Code prefix letter.
    pub(crate) fn letter(self) -> u8 {
        [b'D', b'S', b'M'][self as usize]
    }
    fn word(self) -> &'static str {
        ["drug", "service", "material"][self as usize]
    }
}

/// 甲类 / 乙类 / 丙类.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    A,
    B,
    C,
}

/// Clinical area of an item or diagnosis; a visit draws most items from its
/// diagnosis' area, so 限定支付范围 (`indication`) is mostly respected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Group {
    Gen = 0,
    Resp,
    Card,
    Diab,
    Dig,
    Ortho,
    Obs,
    Uro,
    Ped,
    Onco,
    Renal,
    Neuro,
    Transp,
    /// Operating-theatre items (anaesthesia, sutures, staplers).
    Surg,
    /// Daily ward charges (bed, nursing, ward rounds).
    Ward,
    /// 重症监护.
    Icu,
}

const GROUPS: usize = 16;

impl Group {
    /// ICD-10 prefixes a 乙类 drug of this area may be limited to (`indication`).
    pub(crate) fn indication(self) -> Option<&'static str> {
        Some(match self {
            Group::Resp => "J",
            Group::Card => "I10;I11;I12;I13;I15;I20;I21;I25;I50;I63",
            Group::Diab => "E10;E11;E12;E13;E14",
            Group::Dig => "K;A09",
            Group::Ortho => "M;S",
            Group::Obs => "O;N7",
            Group::Uro => "N40",
            Group::Onco => "C",
            Group::Renal => "N18",
            Group::Neuro => "I60;I61;I62;I63;I64;S06",
            Group::Transp => "Z94",
            _ => return None,
        })
    }
}

/// Usable in outpatient visits (11/14).
pub(crate) const F_OUT: u8 = 1;
/// Usable in inpatient stays (21).
pub(crate) const F_IN: u8 = 2;
/// Billed once per day of stay (quantity = length of stay).
pub(crate) const F_DAY: u8 = 4;
/// 诊查费: the visit's consultation fee.
pub(crate) const F_CONSULT: u8 = 8;
/// The main operation of a surgical stay.
pub(crate) const F_OP: u8 = 16;
const OI: u8 = F_OUT | F_IN;

/// One item type of the table.
struct Base {
    name: &'static str,
    kind: Kind,
    group: Group,
    /// Typical unit price range in whole yuan (the table's unit; items are priced in fen).
    lo: u32,
    hi: u32,
    flags: u8,
    /// `1` male only, `2` female only, `0` both.
    sex: u8,
    age_min: u8,
    age_max: u8,
    /// Fixed class, or `None` to draw one by kind.
    class: Option<Class>,
}

const fn base(name: &'static str, kind: Kind, group: Group, lo: u32, hi: u32, flags: u8) -> Base {
    Base {
        name,
        kind,
        group,
        lo,
        hi,
        flags,
        sex: 0,
        age_min: 0,
        age_max: 0,
        class: None,
    }
}
const fn d(name: &'static str, group: Group, lo: u32, hi: u32, flags: u8) -> Base {
    base(name, Kind::Drug, group, lo, hi, flags)
}
const fn s(name: &'static str, group: Group, lo: u32, hi: u32, flags: u8) -> Base {
    base(name, Kind::Service, group, lo, hi, flags)
}
const fn m(name: &'static str, group: Group, lo: u32, hi: u32, flags: u8) -> Base {
    base(name, Kind::Material, group, lo, hi, flags)
}

impl Base {
    const fn female(mut self) -> Base {
        self.sex = 2;
        self
    }
    const fn male(mut self) -> Base {
        self.sex = 1;
        self
    }
    const fn ages(mut self, min: u8, max: u8) -> Base {
        self.age_min = min;
        self.age_max = max;
        self
    }
    const fn class(mut self, class: Class) -> Base {
        self.class = Some(class);
        self
    }
}

use Group::*;

/// Item types with their typical unit price range in whole yuan.
#[rustfmt::skip]
const BASES: &[Base] = &[
    // Drugs, general use.
    d("阿莫西林胶囊", Gen, 8, 25, OI),
    d("头孢克肟分散片", Gen, 15, 45, OI),
    d("左氧氟沙星片", Gen, 10, 35, OI).ages(18, 0),
    d("布洛芬缓释胶囊", Gen, 6, 20, OI),
    d("对乙酰氨基酚片", Gen, 3, 12, OI),
    d("维生素C片", Gen, 2, 6, F_OUT).class(Class::C),
    d("复合维生素B片", Gen, 3, 9, F_OUT),
    d("葡萄糖注射液", Gen, 2, 8, OI),
    d("氯化钠注射液", Gen, 2, 8, OI),
    d("注射用头孢曲松钠", Gen, 8, 60, OI),
    d("地塞米松磷酸钠注射液", Gen, 1, 5, OI),
    d("氯雷他定片", Gen, 10, 30, F_OUT),
    d("炉甘石洗剂", Gen, 4, 10, F_OUT),
    d("红霉素软膏", Gen, 3, 8, F_OUT),
    d("中药饮片（配方颗粒）", Gen, 1, 6, F_OUT),
    d("人血白蛋白注射液", Gen, 300, 600, F_IN),
    d("注射用美罗培南", Gen, 100, 400, F_IN),
    d("注射用头孢哌酮钠舒巴坦钠", Gen, 30, 150, F_IN),
    d("注射用泮托拉唑钠", Gen, 10, 60, F_IN),
    d("氯化钾注射液", Gen, 1, 4, F_IN),
    // Respiratory.
    d("复方甘草片", Resp, 3, 10, F_OUT),
    d("板蓝根颗粒", Resp, 8, 20, F_OUT),
    d("连花清瘟胶囊", Resp, 12, 30, F_OUT),
    d("氨溴索口服溶液", Resp, 10, 30, OI),
    d("盐酸氨溴索注射液", Resp, 5, 30, F_IN),
    d("噻托溴铵粉吸入剂", Resp, 40, 180, OI),
    d("布地奈德福莫特罗吸入剂", Resp, 100, 300, OI),
    d("沙丁胺醇气雾剂", Resp, 20, 40, OI),
    d("多索茶碱注射液", Resp, 10, 40, F_IN),
    // Cardiovascular.
    d("硝苯地平缓释片", Card, 8, 35, OI),
    d("苯磺酸氨氯地平片", Card, 5, 30, OI),
    d("厄贝沙坦片", Card, 10, 40, OI),
    d("缬沙坦胶囊", Card, 15, 45, OI),
    d("酒石酸美托洛尔缓释片", Card, 10, 40, OI),
    d("阿司匹林肠溶片", Card, 8, 20, OI),
    d("阿托伐他汀钙片", Card, 10, 50, OI),
    d("硝酸甘油片", Card, 5, 15, OI),
    d("硫酸氢氯吡格雷片", Card, 20, 120, OI),
    d("注射用重组人脑利钠肽", Card, 400, 1500, F_IN),
    d("替格瑞洛片", Card, 30, 200, OI),
    // Diabetes.
    d("盐酸二甲双胍片", Diab, 5, 25, OI),
    d("格列美脲片", Diab, 10, 35, OI),
    d("阿卡波糖片", Diab, 20, 60, OI),
    d("门冬胰岛素注射液", Diab, 50, 90, OI),
    d("甘精胰岛素注射液", Diab, 70, 180, OI),
    d("达格列净片", Diab, 30, 150, OI),
    // Digestive.
    d("奥美拉唑肠溶胶囊", Dig, 8, 30, OI),
    d("蒙脱石散", Dig, 10, 25, OI),
    d("多潘立酮片", Dig, 10, 25, F_OUT),
    d("铝碳酸镁咀嚼片", Dig, 15, 35, F_OUT),
    d("双歧杆菌三联活菌胶囊", Dig, 20, 45, OI),
    d("注射用生长抑素", Dig, 200, 600, F_IN),
    // Orthopaedics.
    d("塞来昔布胶囊", Ortho, 10, 60, OI),
    d("盐酸氨基葡萄糖胶囊", Ortho, 30, 90, F_OUT),
    d("依诺肝素钠注射液", Ortho, 20, 80, F_IN),
    d("双氯芬酸钠缓释片", Ortho, 5, 25, F_OUT),
    // Obstetrics and gynaecology.
    d("缩宫素注射液", Obs, 2, 15, F_IN).female(),
    d("黄体酮注射液", Obs, 3, 20, OI).female(),
    d("甲硝唑阴道泡腾片", Obs, 10, 30, F_OUT).female(),
    // Urology (men).
    d("盐酸坦索罗辛缓释胶囊", Uro, 30, 80, OI).male(),
    d("非那雄胺片", Uro, 30, 90, F_OUT).male(),
    // Paediatrics.
    d("小儿氨酚黄那敏颗粒", Ped, 5, 15, F_OUT).ages(0, 14),
    d("小儿肺热咳喘口服液", Ped, 15, 35, OI).ages(0, 14),
    d("布洛芬混悬液（儿童）", Ped, 10, 25, OI).ages(0, 14),
    d("小儿电解质补给注射液", Ped, 5, 20, F_IN).ages(0, 14),
    // Oncology.
    d("顺铂注射液", Onco, 20, 100, OI),
    d("紫杉醇注射液", Onco, 300, 2500, OI),
    d("吉非替尼片", Onco, 500, 2500, OI),
    d("甲磺酸奥希替尼片", Onco, 4000, 6000, F_OUT),
    d("注射用曲妥珠单抗", Onco, 1800, 5000, OI),
    d("盐酸昂丹司琼注射液", Onco, 10, 60, OI),
    // Renal.
    d("重组人促红素注射液", Renal, 20, 200, OI),
    d("碳酸钙D3片", Renal, 10, 30, F_OUT),
    d("蔗糖铁注射液", Renal, 50, 150, OI),
    d("骨化三醇胶丸", Renal, 20, 60, F_OUT),
    // Neurology.
    d("注射用阿替普酶", Neuro, 3000, 8000, F_IN),
    d("丁苯酞软胶囊", Neuro, 100, 300, OI),
    d("甘露醇注射液", Neuro, 5, 20, F_IN),
    d("依达拉奉注射液", Neuro, 30, 150, F_IN),
    // Transplant.
    d("他克莫司胶囊", Transp, 200, 900, OI),
    d("吗替麦考酚酯胶囊", Transp, 150, 600, OI),
    // Operating theatre.
    d("氨甲环酸注射液", Surg, 5, 30, F_IN),
    d("丙泊酚乳状注射液", Surg, 20, 80, F_IN),
    d("注射用瑞芬太尼", Surg, 60, 200, F_IN),
    // Services, general.
    s("普通门诊诊查费", Gen, 3, 15, F_OUT | F_CONSULT),
    s("一般诊疗费", Gen, 8, 12, F_OUT | F_CONSULT),
    s("副主任医师门诊诊查费", Gen, 15, 40, F_OUT | F_CONSULT),
    s("血细胞分析（血常规）", Gen, 15, 25, OI),
    s("尿液分析（尿常规）", Gen, 8, 15, OI),
    s("肝功能检测", Gen, 40, 90, OI),
    s("肾功能检测", Gen, 30, 60, OI),
    s("血糖测定", Gen, 5, 15, OI),
    s("C反应蛋白测定", Gen, 20, 50, OI),
    s("常规心电图检查", Gen, 20, 40, OI),
    s("胸部X线摄影", Gen, 40, 90, OI),
    s("腹部彩色多普勒超声", Gen, 100, 200, OI),
    s("头颅CT平扫", Gen, 200, 400, OI),
    s("胸部CT平扫", Gen, 200, 400, OI),
    s("磁共振平扫", Gen, 500, 900, OI),
    s("肌肉注射", Gen, 2, 6, OI),
    s("静脉注射", Gen, 5, 12, OI),
    s("门诊静脉输液", Gen, 5, 15, F_OUT),
    s("换药", Gen, 10, 40, OI),
    s("健康体检", Gen, 100, 300, F_OUT).class(Class::C),
    s("特需病房床位费", Gen, 100, 300, F_IN).class(Class::C),
    s("输血", Gen, 20, 60, F_IN),
    // Daily ward charges.
    s("床位费（普通病房）", Ward, 15, 60, F_IN | F_DAY),
    s("二级护理", Ward, 10, 30, F_IN | F_DAY),
    s("住院诊查费", Ward, 8, 25, F_IN | F_DAY),
    s("静脉输液（住院）", Ward, 5, 15, F_IN | F_DAY),
    s("氧气吸入", Ward, 10, 40, F_IN | F_DAY),
    // Respiratory services.
    s("雾化吸入", Resp, 8, 20, OI),
    s("肺功能检查", Resp, 80, 200, OI),
    s("无创呼吸机辅助通气", Resp, 80, 200, F_IN),
    // Cardiovascular services.
    s("动态心电图", Card, 150, 250, OI),
    s("心脏彩色多普勒超声", Card, 150, 300, OI),
    s("冠状动脉造影术", Card, 1500, 3000, F_IN),
    s("经皮冠状动脉支架植入术", Card, 3000, 8000, F_IN | F_OP),
    s("心脏起搏器植入术", Card, 3000, 6000, F_IN | F_OP),
    // Diabetes services.
    s("糖化血红蛋白测定", Diab, 40, 80, OI),
    s("眼底检查", Diab, 20, 60, F_OUT),
    // Digestive services.
    s("电子胃镜检查", Dig, 150, 400, OI),
    s("电子结肠镜检查", Dig, 200, 500, OI),
    s("阑尾切除术", Dig, 800, 2500, F_IN | F_OP),
    s("腹腔镜胆囊切除术", Dig, 2000, 5000, F_IN | F_OP),
    // Orthopaedic services.
    s("骨折切开复位内固定术", Ortho, 2000, 6000, F_IN | F_OP),
    s("人工髋关节置换术", Ortho, 3000, 8000, F_IN | F_OP),
    s("腰椎间盘突出摘除术", Ortho, 2500, 6000, F_IN | F_OP),
    s("针刺治疗", Ortho, 15, 40, OI),
    s("推拿治疗", Ortho, 20, 50, F_OUT),
    s("康复训练", Ortho, 30, 80, OI),
    // Obstetric and gynaecological services.
    s("产前检查", Obs, 20, 60, F_OUT).female(),
    s("阴道分泌物检查", Obs, 10, 30, F_OUT).female(),
    s("阴道分娩", Obs, 800, 2000, F_IN | F_OP).female(),
    s("子宫下段剖宫产术", Obs, 1500, 3500, F_IN | F_OP).female(),
    s("新生儿护理", Obs, 20, 50, F_IN).female(),
    // Urological services.
    s("经尿道前列腺电切术", Uro, 2000, 5000, F_IN | F_OP).male(),
    s("前列腺特异性抗原测定", Uro, 40, 100, OI).male(),
    // Paediatric services.
    s("小儿静脉输液", Ped, 8, 20, OI).ages(0, 14),
    s("小儿推拿", Ped, 20, 50, F_OUT).ages(0, 14).class(Class::C),
    // Oncology services.
    s("静脉化疗", Onco, 50, 200, OI),
    s("调强放射治疗", Onco, 300, 1500, OI),
    s("病理检查", Onco, 200, 600, F_IN),
    s("肺癌根治术", Onco, 5000, 12000, F_IN | F_OP),
    s("胃癌根治术", Onco, 5000, 12000, F_IN | F_OP),
    s("乳腺癌改良根治术", Onco, 3000, 8000, F_IN | F_OP).female(),
    // Renal services.
    s("血液透析", Renal, 350, 500, OI),
    s("腹膜透析", Renal, 100, 300, OI),
    // Neurological services.
    s("脑血管造影", Neuro, 2000, 4000, F_IN),
    s("颅内动脉瘤栓塞术", Neuro, 5000, 12000, F_IN | F_OP),
    s("脑卒中康复训练", Neuro, 30, 80, OI),
    // Transplant services.
    s("血药浓度监测", Transp, 100, 300, OI),
    // Operating theatre and intensive care.
    s("全身麻醉", Surg, 800, 3000, F_IN),
    s("椎管内麻醉", Surg, 400, 1200, F_IN),
    s("术后镇痛", Surg, 200, 500, F_IN),
    s("重症监护", Icu, 500, 1500, F_IN | F_DAY),
    s("有创呼吸机辅助通气", Icu, 300, 800, F_IN | F_DAY),
    s("体外膜肺氧合（ECMO）", Icu, 3000, 8000, F_IN | F_DAY),
    // Materials, general.
    m("一次性使用输液器", Gen, 2, 8, OI),
    m("一次性使用无菌注射器", Gen, 1, 2, OI),
    m("静脉留置针", Gen, 10, 40, F_IN),
    m("医用敷料", Gen, 5, 30, OI),
    m("一次性导尿管", Gen, 20, 80, F_IN),
    m("医用外固定夹板", Gen, 30, 150, OI),
    // Operating-theatre materials.
    m("可吸收缝合线", Surg, 80, 300, F_IN),
    m("一次性使用吻合器", Surg, 2000, 8000, F_IN),
    m("可吸收止血纱布", Surg, 200, 800, F_IN),
    // Cardiovascular materials.
    m("冠状动脉药物洗脱支架", Card, 700, 12000, F_IN),
    m("球囊扩张导管", Card, 1000, 5000, F_IN),
    m("植入式心脏起搏器", Card, 20000, 60000, F_IN),
    // Orthopaedic materials.
    m("人工髋关节假体", Ortho, 8000, 40000, F_IN),
    m("骨科接骨板", Ortho, 2000, 15000, F_IN),
    m("骨科螺钉", Ortho, 200, 1500, F_IN),
    // Other materials.
    m("呼吸机管路", Resp, 100, 400, F_IN),
    m("一次性使用透析器", Renal, 100, 300, OI),
    m("血液透析管路", Renal, 50, 150, OI),
    m("颅内动脉瘤弹簧圈", Neuro, 8000, 20000, F_IN),
    m("一次性使用产包", Obs, 50, 200, F_IN).female(),
    m("植入式给药装置（输液港）", Onco, 3000, 8000, F_IN),
    m("一次性使用胃镜活检钳", Dig, 50, 200, OI),
];

/// Manufacturer or model variants that tell repeated item types apart.
const DRUG_VARIANTS: [&str; 12] = [
    "华康制药",
    "示范药业",
    "恒信药业",
    "天元制药",
    "济民药业",
    "长春堂",
    "瑞达制药",
    "康泰医药",
    "安和药业",
    "百草堂",
    "同德制药",
    "福源药业",
];
const OTHER_VARIANTS: [&str; 8] = [
    "甲型",
    "乙型",
    "丙型",
    "丁型",
    "加强型",
    "简易型",
    "进口",
    "国产",
];

/// One catalogue item, compact; name and code are rendered on output.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    /// Typical unit price in fen (before level markups and noise).
    pub ref_fen: u32,
    /// 最高限价 in fen, 0 when none.
    pub limit_fen: u32,
    pub kind: Kind,
    pub class: Class,
    pub group: Group,
    pub flags: u8,
    /// `1` male only, `2` female only, `0` both.
    pub sex: u8,
    pub age_min: u8,
    /// 0 means no upper limit.
    pub age_max: u8,
    /// 单日最大数量, 0 when none.
    pub max_qty: u8,
    /// 乙类先行自付比例 in per mille (0 unless class B).
    pub selfpay_pm: u16,
    /// Whether the item carries its area's `indication` (限定支付范围).
    pub indicated: bool,
    base: u16,
    variant: u32,
}

impl Item {
    /// Whether a person of this sex and age may be billed the item (no audit conflict).
    pub(crate) fn fits(&self, sex: u8, age: u32) -> bool {
        (self.sex == 0 || self.sex == sex)
            && age >= u32::from(self.age_min)
            && (self.age_max == 0 || age <= u32::from(self.age_max))
    }
}

/// Setting of a visit: outpatient (11, 14) or inpatient (21).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Setting {
    Out = 0,
    In = 1,
}

/// The catalogue and its lookup pools.
pub(crate) struct Catalog {
    pub items: Vec<Item>,
    /// Pool index for (setting, group, kind), already resolved to a non-empty pool.
    resolved: Vec<u32>,
    /// Non-empty pools of item indices.
    pools: Vec<Vec<u32>>,
    /// 诊查费 items for outpatient visits.
    consult: u32,
    /// Per-day ward items.
    ward: u32,
    /// Per-day intensive-care items.
    icu: u32,
    /// Main operations per group (may resolve to the group's inpatient services).
    ops: [u32; GROUPS],
}

impl Catalog {
    /// Builds `n ≥ 1` items from the catalogue stream.
    pub(crate) fn build(n: usize, rng: &mut ChaCha8Rng) -> Catalog {
        // Every item type once (a random subset when n is smaller), then repeats
        // weighted by kind: drugs dominate a real catalogue.
        let mut bases: Vec<u16> = (0..BASES.len() as u16).collect();
        bases.shuffle(rng);
        bases.truncate(n);
        let by_kind: [Vec<u16>; 3] = [Kind::Drug, Kind::Service, Kind::Material].map(|k| {
            (0..BASES.len() as u16)
                .filter(|&b| BASES[usize::from(b)].kind == k)
                .collect()
        });
        while bases.len() < n {
            let k = pick_weighted(rng, &[60, 28, 12]);
            let list = &by_kind[k];
            bases.push(list[rng.gen_range(0..list.len())]);
        }
        bases.shuffle(rng);

        let mut seen = vec![0u32; BASES.len()];
        let items: Vec<Item> = bases
            .iter()
            .map(|&b| {
                let variant = seen[usize::from(b)];
                seen[usize::from(b)] += 1;
                make_item(b, variant, rng)
            })
            .collect();
        let mut cat = Catalog {
            items,
            resolved: Vec::new(),
            pools: Vec::new(),
            consult: 0,
            ward: 0,
            icu: 0,
            ops: [0; GROUPS],
        };
        cat.build_pools();
        cat
    }

    fn build_pools(&mut self) {
        const ROLE: u8 = F_DAY | F_CONSULT | F_OP;
        let setting_flag = [F_OUT, F_IN];
        let mut main = vec![Vec::new(); 2 * GROUPS * 3];
        let mut any_kind = vec![vec![Vec::new(); 3]; 2];
        let mut any = vec![Vec::new(); 2];
        let (mut consult, mut ward, mut icu) = (Vec::new(), Vec::new(), Vec::new());
        let mut ops = vec![Vec::new(); GROUPS];
        for (i, it) in self.items.iter().enumerate() {
            let i = i as u32;
            for s in 0..2 {
                if it.flags & setting_flag[s] == 0 {
                    continue;
                }
                if it.flags & ROLE == 0 {
                    main[(s * GROUPS + it.group as usize) * 3 + it.kind as usize].push(i);
                    any_kind[s][it.kind as usize].push(i);
                    any[s].push(i);
                }
            }
            if it.flags & F_CONSULT != 0 {
                consult.push(i);
            }
            if it.flags & F_DAY != 0 {
                if it.group == Group::Icu {
                    icu.push(i);
                } else {
                    ward.push(i);
                }
            }
            if it.flags & F_OP != 0 {
                ops[it.group as usize].push(i);
            }
        }
        let all: Vec<u32> = (0..self.items.len() as u32).collect();
        let mut pools: Vec<Vec<u32>> = Vec::new();
        let mut intern = |v: &Vec<u32>| -> u32 {
            pools.push(v.clone());
            (pools.len() - 1) as u32
        };
        // Fall back from the exact pool to the general area, any area, any kind, and
        // finally the whole catalogue, so tiny catalogues still produce claims.
        let mut resolved = vec![0u32; 2 * GROUPS * 3];
        for s in 0..2 {
            for g in 0..GROUPS {
                for k in 0..3 {
                    let chain = [
                        &main[(s * GROUPS + g) * 3 + k],
                        &main[(s * GROUPS) * 3 + k],
                        &any_kind[s][k],
                        &any[s],
                        &all,
                    ];
                    let pick = chain.into_iter().find(|v| !v.is_empty()).unwrap_or(&all);
                    resolved[(s * GROUPS + g) * 3 + k] = intern(pick);
                }
            }
        }
        let out_service = &main[Kind::Service as usize];
        let in_service = &main[GROUPS * 3 + Kind::Service as usize];
        let first = |chain: [&Vec<u32>; 3]| {
            chain
                .into_iter()
                .find(|v| !v.is_empty())
                .unwrap_or(&all)
                .clone()
        };
        self.consult = intern(&first([&consult, out_service, &any[0]]));
        self.ward = intern(&first([&ward, in_service, &any[1]]));
        self.icu = intern(&first([&icu, &ward, &any[1]]));
        for g in 0..GROUPS {
            let group_services = &main[(GROUPS + g) * 3 + Kind::Service as usize];
            self.ops[g] = intern(&first([&ops[g], group_services, &any[1]]));
        }
        self.resolved = resolved;
        self.pools = pools;
    }

    /// Candidate items for a setting, area and kind (never empty).
    pub(crate) fn pool(&self, setting: Setting, group: Group, kind: Kind) -> &[u32] {
        let key = ((setting as usize) * GROUPS + group as usize) * 3 + kind as usize;
        &self.pools[self.resolved[key] as usize]
    }
    /// 诊查费 items.
    pub(crate) fn consult_pool(&self) -> &[u32] {
        &self.pools[self.consult as usize]
    }
    /// Daily ward items.
    pub(crate) fn ward_pool(&self) -> &[u32] {
        &self.pools[self.ward as usize]
    }
    /// Daily intensive-care items.
    pub(crate) fn icu_pool(&self) -> &[u32] {
        &self.pools[self.icu as usize]
    }
    /// Main operations of an area.
    pub(crate) fn op_pool(&self, group: Group) -> &[u32] {
        &self.pools[self.ops[group as usize] as usize]
    }

    /// Appends the code of item `i`: kind letter + 7-digit serial (`D0000001`).
    pub(crate) fn push_code(&self, buf: &mut Vec<u8>, i: u32) {
        buf.push(self.items[i as usize].kind.letter());
        push_padded(buf, u64::from(i) + 1, 7);
    }

    /// Writes `catalog.csv` with the six settlement columns and the audit columns.
    pub(crate) fn write_csv(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(b"code,name,kind,class,selfpay_prop,price_limit,sex_limit,age_min,age_max,max_qty_per_day,indication\n")?;
        let mut buf = Vec::with_capacity(256);
        for (i, it) in self.items.iter().enumerate() {
            buf.clear();
            self.push_code(&mut buf, i as u32);
            buf.push(b',');
            let b = &BASES[usize::from(it.base)];
            buf.extend_from_slice(b.name.as_bytes());
            if it.variant > 0 {
                let (list, k): (&[&str], usize) = match it.kind {
                    Kind::Drug => (&DRUG_VARIANTS, it.variant as usize - 1),
                    _ => (&OTHER_VARIANTS, it.variant as usize - 1),
                };
                buf.extend_from_slice("（".as_bytes());
                buf.extend_from_slice(list[k % list.len()].as_bytes());
                if k >= list.len() {
                    push_u64(&mut buf, (k / list.len()) as u64 + 1);
                }
                buf.extend_from_slice("）".as_bytes());
            }
            buf.push(b',');
            buf.extend_from_slice(it.kind.word().as_bytes());
            buf.push(b',');
            buf.push([b'A', b'B', b'C'][it.class as usize]);
            buf.push(b',');
            if it.class == Class::B {
                buf.extend_from_slice(b"0.");
                push_padded(&mut buf, u64::from(it.selfpay_pm / 10), 2);
            }
            buf.push(b',');
            if it.limit_fen > 0 {
                push_fen(&mut buf, i64::from(it.limit_fen));
            }
            buf.push(b',');
            if it.sex != 0 {
                push_u64(&mut buf, u64::from(it.sex));
            }
            buf.push(b',');
            if it.age_min != 0 {
                push_u64(&mut buf, u64::from(it.age_min));
            }
            buf.push(b',');
            if it.age_max != 0 {
                push_u64(&mut buf, u64::from(it.age_max));
            }
            buf.push(b',');
            if it.max_qty != 0 {
                push_u64(&mut buf, u64::from(it.max_qty));
            }
            buf.push(b',');
            if it.indicated {
                if let Some(ind) = it.group.indication() {
                    buf.extend_from_slice(ind.as_bytes());
                }
            }
            buf.push(b'\n');
            w.write_all(&buf)?;
        }
        Ok(())
    }
}

/// Draws one item of type `b`.
fn make_item(b: u16, variant: u32, rng: &mut ChaCha8Rng) -> Item {
    let base = &BASES[usize::from(b)];
    let class = base.class.unwrap_or_else(|| {
        // 甲/乙/丙 shares by kind, as in a provincial catalogue.
        let w: [u32; 3] = match base.kind {
            Kind::Drug => [45, 45, 10],
            Kind::Service => [60, 32, 8],
            Kind::Material => [30, 55, 15],
        };
        [Class::A, Class::B, Class::C][pick_weighted(rng, &w)]
    });
    let selfpay_pm = match (class, base.kind) {
        (Class::B, Kind::Material) => 200,
        (Class::B, _) => [50, 100, 150][pick_weighted(rng, &[20, 60, 20])],
        _ => 0,
    };
    let ref_fen = log_uniform(rng, base.lo * 100, base.hi * 100);
    // About 15% of the catalogue carries a 限价, only on covered (甲/乙) items.
    let limit_fen = if class != Class::C && chance(rng, 170) {
        (u64::from(ref_fen) * rng.gen_range(1000..=1300u64) / 1000) as u32
    } else {
        0
    };
    let max_qty = if base.kind == Kind::Drug && base.flags & F_OUT != 0 && chance(rng, 80) {
        [2, 3, 4, 6][rng.gen_range(0..4)]
    } else if base.flags & F_CONSULT != 0 {
        1
    } else {
        0
    };
    let indicated = base.kind == Kind::Drug
        && class == Class::B
        && base.group.indication().is_some()
        && chance(rng, 500);
    Item {
        ref_fen,
        limit_fen,
        kind: base.kind,
        class,
        group: base.group,
        flags: base.flags,
        sex: base.sex,
        age_min: base.age_min,
        age_max: base.age_max,
        max_qty,
        selfpay_pm,
        indicated,
        base: b,
        variant,
    }
}

/// A price between `lo` and `hi` fen, uniform on a logarithmic scale (prices spread
/// by ratios), drawn on a 5% ladder in integers so every platform gets the same value.
fn log_uniform(rng: &mut ChaCha8Rng, lo: u32, hi: u32) -> u32 {
    let lo = u64::from(lo.max(1));
    let hi = u64::from(hi).max(lo);
    let mut steps = 0u32;
    let mut p = lo;
    while p * 105 / 100 <= hi && steps < 1000 {
        p = p * 105 / 100 + 1;
        steps += 1;
    }
    let mut price = lo;
    for _ in 0..rng.gen_range(0..=steps) {
        price = price * 105 / 100 + 1;
    }
    let price = price * rng.gen_range(1000..1050u64) / 1000;
    price.clamp(1, hi) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn tiny_and_large_catalogues_have_pools() {
        for n in [1, 2, 7, 60, 3000] {
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            let cat = Catalog::build(n, &mut rng);
            assert_eq!(cat.items.len(), n);
            for s in [Setting::Out, Setting::In] {
                for k in [Kind::Drug, Kind::Service, Kind::Material] {
                    assert!(!cat.pool(s, Group::Card, k).is_empty());
                }
            }
            assert!(!cat.consult_pool().is_empty());
            assert!(!cat.ward_pool().is_empty());
            assert!(!cat.icu_pool().is_empty());
            assert!(!cat.op_pool(Group::Ortho).is_empty());
        }
    }

    #[test]
    fn prices_within_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..1000 {
            let p = log_uniform(&mut rng, 800, 2500);
            assert!((800..=2500).contains(&p));
        }
    }
}
