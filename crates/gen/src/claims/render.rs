//! Rendering planned visits as JSONL settlement records: claims, lines, reversals and the
//! deliberately bad records.

use super::*;

/// Renders claims from visits.
pub(super) struct Renderer<'a> {
    pub(super) ctx: &'a Ctx<'a>,
    w11: Vec<u32>,
    w21: Vec<u32>,
    /// Audit mode (`--audit-rate`): natural claims without audit findings.
    audit: bool,
}

impl<'a> Renderer<'a> {
    pub(super) fn new(ctx: &'a Ctx<'a>, audit: bool) -> Renderer<'a> {
        Renderer {
            ctx,
            w11: DIAGS.iter().map(|d| d.w11).collect(),
            w21: DIAGS.iter().map(|d| d.w21).collect(),
            audit,
        }
    }

    /// The claim of a planned visit (in audit mode, cleaned of natural findings).
    pub(super) fn claim_of(&self, v: &Visit) -> Claim {
        let mut rng = ChaCha8Rng::seed_from_u64(v.seed);
        let person = &self.ctx.persons.list[v.person as usize];
        let mut claim = match v.kind {
            OUTPATIENT => self.outpatient(&mut rng, person, v.day),
            INPATIENT => self.inpatient(&mut rng, person, v.day),
            _ => self.chronic(&mut rng, person, v.day, v.reg),
        };
        claim.acct = account_flag(&mut rng, person);
        self.audit_clean(&mut claim, person);
        claim
    }

    /// In audit mode, leaves out of `claim` what would be a natural finding ([`audit::clean`]).
    fn audit_clean(&self, claim: &mut Claim, p: &Person) {
        if self.audit {
            let age = age_on(p.birth, self.ctx.year.jan1 + claim.begn);
            audit::clean(self.ctx.cat, claim, p.sex, age);
        }
    }

    /// Writes visit `v` as settlement `pos`; returns the audit label's family, if any.
    pub(super) fn settlement(
        &self,
        buf: &mut Vec<u8>,
        pos: u64,
        v: &Visit,
        plan: Option<&audit::AuditPlan>,
    ) -> Option<&'static str> {
        let (claim, label) = match plan {
            Some(p) => p.claim(self, v),
            None => (self.claim_of(v), None),
        };
        let mut psn = Vec::with_capacity(12);
        push_psn_no(&mut psn, v.person as usize);
        self.push_claim(
            buf,
            pos,
            &psn,
            self.ctx.inst.codes[claim.inst as usize].as_bytes(),
            &claim,
        );
        label
    }

    /// Serialises a settlement in the example file's spacing.
    pub(super) fn push_claim(
        &self,
        buf: &mut Vec<u8>,
        pos: u64,
        psn: &[u8],
        inst: &[u8],
        c: &Claim,
    ) {
        buf.extend_from_slice(b"{\"claim_id\": \"S");
        push_padded(buf, pos + 1, 8);
        buf.extend_from_slice(b"\", \"psn_no\": \"");
        buf.extend_from_slice(psn);
        buf.extend_from_slice(b"\", \"fixmedins_code\": \"");
        buf.extend_from_slice(inst);
        buf.extend_from_slice(b"\", \"med_type\": \"");
        buf.extend_from_slice(c.med_type.as_bytes());
        buf.extend_from_slice(b"\", \"begndate\": \"");
        buf.extend_from_slice(&self.date(c.begn));
        buf.extend_from_slice(b"\", \"enddate\": \"");
        buf.extend_from_slice(&self.date(c.end));
        buf.extend_from_slice(b"\", \"dise_codg\": \"");
        buf.extend_from_slice(c.diag.as_bytes());
        if let Some(used) = c.acct {
            buf.extend_from_slice(if used {
                b"\", \"acct_used_flag\": \"1"
            } else {
                b"\", \"acct_used_flag\": \"0"
            });
        }
        buf.extend_from_slice(b"\", \"lines\": [");
        for (k, l) in c.lines.iter().enumerate() {
            if k > 0 {
                buf.extend_from_slice(b", ");
            }
            buf.extend_from_slice(b"{\"code\": \"");
            match l.item {
                Some(i) => self.ctx.cat.push_code(buf, i),
                None => {
                    buf.push(b'Z');
                    push_padded(buf, pos % 10_000_000, 7);
                }
            }
            buf.extend_from_slice(b"\", \"price\": \"");
            push_fen(buf, l.price);
            buf.extend_from_slice(b"\", \"qty\": \"");
            push_qty(buf, l.qty);
            buf.extend_from_slice(b"\", \"amount\": \"");
            push_fen(buf, l.amount);
            buf.extend_from_slice(b"\"}");
        }
        buf.extend_from_slice(b"]}\n");
    }

    /// `YYYY-MM-DD` of a day of the year (or any day number beyond it).
    pub(super) fn date(&self, doy: i32) -> [u8; 10] {
        let y = self.ctx.year;
        match usize::try_from(doy).ok().and_then(|d| y.dates.get(d)) {
            Some(d) => *d,
            None => format_date(y.jan1 + doy),
        }
    }

    pub(super) fn visitor(
        &self,
        p: &Person,
        day: u16,
        level: Level,
        setting: Setting,
        los: u32,
        chronic: bool,
    ) -> Visitor {
        let age = age_on(p.birth, self.ctx.year.jan1 + i32::from(day));
        Visitor {
            sex: p.sex,
            age,
            level,
            setting,
            los,
            chronic,
            cheap: true,
            damp_pm: 950,
        }
    }

    pub(super) fn pick_diag(
        &self,
        rng: &mut ChaCha8Rng,
        inpatient: bool,
        sex: u8,
        age: u32,
    ) -> &'static Diag {
        let w = if inpatient { &self.w21 } else { &self.w11 };
        for _ in 0..20 {
            let d = &DIAGS[pick_weighted(rng, w)];
            if d.fits(sex, age) {
                return d;
            }
        }
        &DIAGS[usize::from(inpatient)]
    }

    /// A level with institutions, drawn from `weights`; the 异地就医 registered
    /// mostly go to out-of-province hospitals.
    pub(super) fn pick_level(
        &self,
        rng: &mut ChaCha8Rng,
        weights: &[u32; 5],
        offsite_pm: u32,
    ) -> Level {
        let by_level = &self.ctx.inst.by_level;
        if offsite_pm > 0 && !by_level[Level::Out as usize].is_empty() && chance(rng, offsite_pm) {
            return Level::Out;
        }
        let mut w = *weights;
        for (l, list) in by_level.iter().enumerate() {
            if list.is_empty() {
                w[l] = 0;
            }
        }
        Level::ALL[pick_weighted(rng, &w)]
    }

    /// An institution of `level`: level-1 visits favour the home clinic (admissions
    /// its township centre); bigger hospitals (listed first) get more patients.
    pub(super) fn pick_inst(
        &self,
        rng: &mut ChaCha8Rng,
        level: Level,
        p: &Person,
        centre_only: bool,
    ) -> u32 {
        let inst = self.ctx.inst;
        if level == Level::L1 {
            let home = p.home as usize;
            return match (centre_only, chance(rng, 700)) {
                (true, true) => inst.centre_of(home),
                (true, false) => inst.centres[rng.gen_range(0..inst.centres.len())],
                (false, true) => inst.by_level[0][home.min(inst.by_level[0].len() - 1)],
                (false, false) => inst.by_level[0][rng.gen_range(0..inst.by_level[0].len())],
            };
        }
        let list = &inst.by_level[level as usize];
        let a = rng.gen_range(0..list.len());
        let b = rng.gen_range(0..list.len());
        list[a.min(b)]
    }

    /// An item from `pool` that fits the person and is new on the claim, after a few
    /// tries; a few lines ignore sex/age limits (audit findings in real data).
    pub(super) fn pick_item(
        &self,
        rng: &mut ChaCha8Rng,
        pool: &[u32],
        v: &Visitor,
        lines: &[Line],
    ) -> u32 {
        let items = &self.ctx.cat.items;
        let ignore_limits = chance(rng, 3);
        let allow_dear = !chance(rng, v.damp_pm);
        let mut cheapest = pool[0];
        for _ in 0..6 {
            let mut i = pool[rng.gen_range(0..pool.len())];
            if v.cheap {
                let j = pool[rng.gen_range(0..pool.len())];
                if items[j as usize].ref_fen < items[i as usize].ref_fen {
                    i = j;
                }
            }
            let it = &items[i as usize];
            if it.ref_fen < items[cheapest as usize].ref_fen {
                cheapest = i;
            }
            if it.ref_fen >= yuan(1000) && !allow_dear {
                continue;
            }
            let fits = ignore_limits || it.fits(v.sex, v.age);
            if fits && !lines.iter().any(|l| l.item == Some(i)) {
                return i;
            }
        }
        // An area with only dear items of this kind (coils, pacemakers): routine care
        // takes a general item instead.
        let it = &items[cheapest as usize];
        if it.ref_fen >= yuan(1000) && !allow_dear {
            let general = self.ctx.cat.pool(v.setting, Gen, it.kind);
            let i = general[rng.gen_range(0..general.len())];
            if items[i as usize].ref_fen < it.ref_fen {
                return i;
            }
        }
        cheapest
    }

    /// Unit price in fen: level markup on services, noise, and the 限价 mostly
    /// respected but sometimes exceeded.
    pub(super) fn price(&self, rng: &mut ChaCha8Rng, it: &Item, level: Level) -> i64 {
        let markup: u64 = if it.kind == Kind::Service {
            [850, 1000, 1100, 1200, 1250][level as usize]
        } else {
            1000
        };
        let noise: u64 = rng.gen_range(970..=1030);
        let mut p = (u64::from(it.ref_fen) * markup * noise + 500_000) / 1_000_000;
        if it.limit_fen > 0 {
            let limit = u64::from(it.limit_fen);
            p = if chance(rng, 150) {
                limit * rng.gen_range(1010..=1250u64) / 1000 + 1
            } else {
                p.min(limit)
            };
        }
        p.max(1) as i64
    }

    /// Quantity in thousandths.
    pub(super) fn qty(&self, rng: &mut ChaCha8Rng, it: &Item, v: &Visitor) -> u32 {
        let los = v.los.max(1);
        let whole: u32 = match (it.kind, v.setting) {
            _ if it.flags & F_DAY != 0 => los,
            (Kind::Drug, Setting::Out) if v.chronic && it.ref_fen >= yuan(1000) => 1,
            (Kind::Drug, Setting::Out) if v.chronic => rng.gen_range(1..=2),
            (Kind::Drug, Setting::Out) => [1, 2, 3][pick_weighted(rng, &[35, 40, 25])],
            // Doses over the stay: many of the cheap, few of the dear.
            (Kind::Drug, Setting::In) => {
                let cap = match it.ref_fen {
                    r if r >= yuan(1000) => 2,
                    r if r >= yuan(200) => los.min(4),
                    r if r >= yuan(50) => los.div_ceil(2),
                    _ => los * 2,
                };
                rng.gen_range(1..=cap.max(1))
            }
            // Dialysis sessions of a month.
            (_, Setting::Out) if v.chronic && it.group == Group::Renal => rng.gen_range(4..=13),
            (Kind::Service, Setting::Out) if it.ref_fen < yuan(100) && chance(rng, 150) => {
                rng.gen_range(2..=5)
            }
            (Kind::Service, Setting::Out) => 1,
            (Kind::Service, Setting::In) if it.ref_fen < yuan(50) => rng.gen_range(1..=los),
            (Kind::Service, Setting::In) => 1 + u32::from(chance(rng, 100)),
            (Kind::Material, _) if it.ref_fen >= yuan(1000) => 1 + u32::from(chance(rng, 100)),
            (Kind::Material, _) if it.ref_fen >= yuan(100) => rng.gen_range(1..=3),
            (Kind::Material, Setting::Out) => rng.gen_range(1..=3),
            (Kind::Material, Setting::In) => rng.gen_range(1..=(los * 2).max(2)),
        };
        let mut q = whole * 1000;
        if it.kind == Kind::Drug && it.flags & F_DAY == 0 {
            let r = rng.gen_range(0..1000);
            if r < 40 {
                q = (whole - 1) * 1000 + 500; // half a box
            } else if r < 50 {
                q = rng.gen_range(1..=2999); // weighed or split doses
            }
        }
        if it.max_qty > 0 && !chance(rng, 20) {
            q = q.min(u32::from(it.max_qty) * 1000);
        }
        q.max(1)
    }

    pub(super) fn line(
        &self,
        rng: &mut ChaCha8Rng,
        item: u32,
        v: &Visitor,
        qty: Option<u32>,
    ) -> Line {
        let it = &self.ctx.cat.items[item as usize];
        let price = self.price(rng, it, v.level);
        let qty = qty.unwrap_or_else(|| self.qty(rng, it, v));
        Line {
            item: Some(item),
            price,
            qty,
            amount: amount_fen(price, qty),
        }
    }

    /// Adds `n` lines from `pool`.
    pub(super) fn add_from(
        &self,
        rng: &mut ChaCha8Rng,
        lines: &mut Vec<Line>,
        pool: &[u32],
        v: &Visitor,
        n: usize,
        qty: Option<u32>,
    ) {
        for _ in 0..n {
            let i = self.pick_item(rng, pool, v, lines);
            let l = self.line(rng, i, v, qty);
            lines.push(l);
        }
    }

    /// Area for a filler line: mostly the diagnosis', otherwise general (paediatric
    /// for children); a few lines stray outside (限定支付范围 findings).
    pub(super) fn filler_group(
        &self,
        rng: &mut ChaCha8Rng,
        diag_group: Group,
        v: &Visitor,
        own_pm: u32,
    ) -> Group {
        const CLINICAL: [Group; 12] = [
            Resp, Card, Diab, Dig, Ortho, Obs, Uro, Ped, Onco, Renal, Neuro, Transp,
        ];
        if chance(rng, 15) {
            return CLINICAL[rng.gen_range(0..CLINICAL.len())];
        }
        if chance(rng, own_pm) {
            diag_group
        } else if v.age <= 14 && chance(rng, 400) {
            Ped
        } else {
            Gen
        }
    }

    /// 普通门诊 (med_type 11): 1–6 lines, small amounts.
    pub(super) fn outpatient(&self, rng: &mut ChaCha8Rng, p: &Person, day: u16) -> Claim {
        let age = age_on(p.birth, self.ctx.year.jan1 + i32::from(day));
        let diag = self.pick_diag(rng, false, p.sex, age);
        let level = self.pick_level(
            rng,
            &levels(p).outpatient,
            if p.offsite_on(day) { 500 } else { 0 },
        );
        let inst = self.pick_inst(rng, level, p, false);
        let v = self.visitor(p, day, level, Setting::Out, 1, false);
        let n = 1 + pick_weighted(rng, &[10, 20, 25, 20, 15, 10]);
        let mut lines = Vec::with_capacity(n);
        if chance(rng, 750) {
            self.add_from(
                rng,
                &mut lines,
                self.ctx.cat.consult_pool(),
                &v,
                1,
                Some(1000),
            );
        }
        while lines.len() < n {
            let kind =
                [Kind::Drug, Kind::Service, Kind::Material][pick_weighted(rng, &[70, 20, 10])];
            let group = self.filler_group(rng, diag.group, &v, 600);
            self.add_from(
                rng,
                &mut lines,
                self.ctx.cat.pool(Setting::Out, group, kind),
                &v,
                1,
                None,
            );
        }
        let day = i32::from(day);
        Claim {
            med_type: "11",
            inst,
            begn: day,
            end: day,
            diag: diag.code,
            lines,
            acct: None,
        }
    }

    /// 门诊慢特病 (med_type 14): the registered diagnosis, a month's medicine (or a
    /// month of dialysis, a chemotherapy cycle).
    pub(super) fn chronic(&self, rng: &mut ChaCha8Rng, p: &Person, day: u16, reg: u8) -> Claim {
        let regs = self.ctx.persons.regs(p);
        let r = regs[usize::from(reg).min(regs.len().saturating_sub(1))];
        let code = &CHRONIC_CODES[usize::from(r.code)];
        let class_one = code.group.is_class_one();
        let weights = if class_one {
            &levels(p).chronic_one
        } else {
            &levels(p).chronic_two
        };
        let level = self.pick_level(rng, weights, if p.offsite_on(day) { 500 } else { 0 });
        let inst = self.pick_inst(rng, level, p, true);
        let mut v = self.visitor(p, day, level, Setting::Out, 1, true);
        v.cheap = false;
        v.damp_pm = 0;
        let area = code.group.area();
        let n = 1 + pick_weighted(rng, &[45, 30, 15, 7, 3]);
        let mut lines = Vec::with_capacity(n + 1);
        if chance(rng, 400) {
            self.add_from(
                rng,
                &mut lines,
                self.ctx.cat.consult_pool(),
                &v,
                1,
                Some(1000),
            );
        }
        while lines.len() < n {
            let kind = if code.group == ChronicGroup::RenalFailure {
                [Kind::Drug, Kind::Service, Kind::Material][pick_weighted(rng, &[40, 35, 25])]
            } else {
                [Kind::Drug, Kind::Service, Kind::Material][pick_weighted(rng, &[80, 17, 3])]
            };
            let group = self.filler_group(rng, area, &v, 850);
            self.add_from(
                rng,
                &mut lines,
                self.ctx.cat.pool(Setting::Out, group, kind),
                &v,
                1,
                None,
            );
        }
        let day = i32::from(day);
        Claim {
            med_type: "14",
            inst,
            begn: day,
            end: day,
            diag: code.code,
            lines,
            acct: None,
        }
    }

    /// 普通住院 (med_type 21): 10–60 lines over a stay of 1–20 days ending on `day`.
    pub(super) fn inpatient(&self, rng: &mut ChaCha8Rng, p: &Person, day: u16) -> Claim {
        let cat = self.ctx.cat;
        let age = age_on(p.birth, self.ctx.year.jan1 + i32::from(day));
        let diag = self.pick_diag(rng, true, p.sex, age);
        let serious = diag.surgical || diag.severity > 0;
        let weights = if serious {
            &levels(p).inpatient_serious
        } else {
            &levels(p).inpatient
        };
        let level = self.pick_level(rng, weights, if p.offsite_on(day) { 600 } else { 0 });
        let inst = self.pick_inst(rng, level, p, true);
        let mut los = 1
            + pick_weighted(rng, &STAY_WEIGHTS) as u32
            + 2 * u32::from(diag.surgical)
            + u32::from(diag.severity);
        if diag.code == "O80" {
            los = rng.gen_range(2..=4);
        }
        // The stay lies inside the year (a 1 January discharge was admitted that day).
        let nights = los.clamp(1, 20).min(u32::from(day));
        let begn = i32::from(day) - nights as i32;
        let los = nights.max(1);
        let mut v = self.visitor(p, day, level, Setting::In, los, false);
        v.cheap = diag.severity == 0;
        v.damp_pm = if diag.severity == 0 { 900 } else { 700 };
        let extra = rng.gen_range(0..=los + 2) as usize;
        let target = (10
            + extra
            + [0, 4, 8, 10, 10][level as usize]
            + 6 * usize::from(diag.surgical)
            + 4 * usize::from(diag.severity))
        .clamp(10, 60);
        let mut lines = Vec::with_capacity(target);
        let ward = rng.gen_range(3..=5);
        self.add_from(rng, &mut lines, cat.ward_pool(), &v, ward, Some(los * 1000));
        // A few serious stays turn catastrophic: intensive care throughout and costly
        // rescue drugs, the bills of hundreds of thousands that reach every cap.
        let catastrophic = diag.severity > 0 && los >= 10 && chance(rng, 60) && !self.audit;
        if catastrophic {
            v.cheap = false;
            v.damp_pm = 0;
            let rescue = cat.pool(Setting::In, Gen, Kind::Drug);
            let plan = [(cat.icu_pool(), 1000), (cat.icu_pool(), 1000)].into_iter();
            let drugs = (0..rng.gen_range(4..=8)).map(|_| (rescue, 2000));
            for (pool, per_day) in plan.chain(drugs) {
                // The dearer of two: ECMO, albumin and carbapenems rather than saline.
                let a = self.pick_item(rng, pool, &v, &lines);
                let b = self.pick_item(rng, pool, &v, &lines);
                let items = &cat.items;
                let i = if items[b as usize].ref_fen > items[a as usize].ref_fen {
                    b
                } else {
                    a
                };
                let l = self.line(rng, i, &v, Some(los * per_day));
                lines.push(l);
            }
        } else if diag.severity >= 2 || (diag.severity == 1 && chance(rng, 250)) {
            let icu_days = rng.gen_range(1..=los.min(7));
            let n = rng.gen_range(1..=2);
            self.add_from(
                rng,
                &mut lines,
                cat.icu_pool(),
                &v,
                n,
                Some(icu_days * 1000),
            );
        }
        if diag.surgical {
            self.add_from(rng, &mut lines, cat.op_pool(diag.group), &v, 1, Some(1000));
            let n = rng.gen_range(1..=2);
            self.add_from(
                rng,
                &mut lines,
                cat.pool(Setting::In, Surg, Kind::Service),
                &v,
                n,
                None,
            );
            let n = rng.gen_range(1..=3);
            self.add_from(
                rng,
                &mut lines,
                cat.pool(Setting::In, Surg, Kind::Material),
                &v,
                n,
                None,
            );
            // Implants (stents, joints, plates) come with the operation.
            let damp = std::mem::replace(&mut v.damp_pm, 0);
            let n = rng.gen_range(0..=2);
            self.add_from(
                rng,
                &mut lines,
                cat.pool(Setting::In, diag.group, Kind::Material),
                &v,
                n,
                None,
            );
            v.damp_pm = damp;
        }
        while lines.len() < target {
            let kind =
                [Kind::Drug, Kind::Service, Kind::Material][pick_weighted(rng, &[60, 28, 12])];
            let group = self.filler_group(rng, diag.group, &v, 550);
            self.add_from(
                rng,
                &mut lines,
                cat.pool(Setting::In, group, kind),
                &v,
                1,
                None,
            );
        }
        lines.truncate(60);
        Claim {
            med_type: "21",
            inst,
            begn,
            end: i32::from(day),
            diag: diag.code,
            lines,
            acct: None,
        }
    }

    /// A malformed record of kind `seq % 10` dated `day`.
    pub(super) fn bad(&self, buf: &mut Vec<u8>, pos: u64, seq: usize, day: u16) {
        let ctx = self.ctx;
        let mut rng = stream(ctx.seed, TAG_BAD, seq as u64);
        let mut kind = BadKind::ALL[seq % BadKind::ALL.len()];
        let persons = &ctx.persons;
        if kind == BadKind::NotEnrolled && persons.unenrolled.is_empty() {
            kind = BadKind::UnknownPerson;
        }
        let person_idx = if kind == BadKind::NotEnrolled {
            persons.unenrolled[rng.gen_range(0..persons.unenrolled.len())] as usize
        } else {
            // Any enrolled person: person 0 always is.
            let mut idx = 0;
            for _ in 0..64 {
                let i = rng.gen_range(0..persons.list.len());
                if persons.list[i].enrolled {
                    idx = i;
                    break;
                }
            }
            idx
        };
        let p = &persons.list[person_idx];
        let mut claim = self.outpatient(&mut rng, p, day);
        self.audit_clean(&mut claim, p);
        let mut psn = Vec::with_capacity(12);
        push_psn_no(&mut psn, person_idx);
        let mut inst = ctx.inst.codes[claim.inst as usize].as_bytes().to_vec();
        let j = rng.gen_range(0..claim.lines.len());
        match kind {
            BadKind::UnknownPerson => {
                psn.clear();
                push_psn_no(&mut psn, persons.list.len() + seq);
            }
            BadKind::UnknownInstitution => {
                inst.clear();
                inst.extend_from_slice(b"H990199");
                push_padded(&mut inst, (seq % 100_000) as u64, 5);
            }
            BadKind::UnknownItem => claim.lines[j].item = None,
            BadKind::AmountMismatch => {
                let delta = rng.gen_range(1..=100);
                let l = &mut claim.lines[j];
                l.amount += if l.amount > delta && chance(&mut rng, 500) {
                    -delta
                } else {
                    delta
                };
            }
            BadKind::NegativePrice => {
                let l = &mut claim.lines[j];
                l.price = -l.price;
                l.amount = amount_fen(l.price, l.qty);
            }
            BadKind::BeginAfterEnd => claim.begn = claim.end + rng.gen_range(1..=3),
            BadKind::EmptyLines => claim.lines.clear(),
            BadKind::NotRegistered => {
                let held: Vec<ChronicGroup> = persons
                    .regs(p)
                    .iter()
                    .map(|r| CHRONIC_CODES[usize::from(r.code)].group)
                    .collect();
                // At most three of seven groups are held, so some code is free.
                let free: Vec<usize> = (0..CHRONIC_CODES.len())
                    .filter(|&c| {
                        !held.contains(&CHRONIC_CODES[c].group) && CHRONIC_CODES[c].fits(p.sex)
                    })
                    .collect();
                claim.med_type = "14";
                claim.diag = CHRONIC_CODES[free[rng.gen_range(0..free.len())]].code;
                self.audit_clean(&mut claim, p);
            }
            BadKind::NotJson | BadKind::NotEnrolled => {}
        }
        claim.acct = account_flag(&mut rng, p);
        let start = buf.len();
        self.push_claim(buf, pos, &psn, &inst, &claim);
        if kind == BadKind::NotJson {
            // Cut mid-record, as a transfer that broke off would.
            let len = buf.len() - start;
            buf.truncate(start + len / 2);
            buf.push(b'\n');
        }
    }
}

/// An employee's `acct_used_flag` (a share of settlements do not use the account);
/// `None`, drawing nothing, for a resident.
fn account_flag(rng: &mut ChaCha8Rng, p: &Person) -> Option<bool> {
    p.is_employee()
        .then(|| !chance(rng, employees::ACCOUNT_UNUSED_PER_MILLE))
}
