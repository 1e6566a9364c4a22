//! The life of a visit at the gateway (就诊): registered or admitted, fee details uploaded and
//! withdrawn, discharged, settled, reversed. Every transaction a hospital sends is checked
//! here before anything is written; a refusal says, in Chinese, what state the visit is in.

use std::fmt;

/// 门诊 or 住院.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VisitKind {
    Outpatient,
    Inpatient,
}

impl VisitKind {
    pub fn code(self) -> &'static str {
        match self {
            VisitKind::Outpatient => "otp",
            VisitKind::Inpatient => "ipt",
        }
    }

    pub fn from_code(code: &str) -> Option<VisitKind> {
        match code {
            "otp" => Some(VisitKind::Outpatient),
            "ipt" => Some(VisitKind::Inpatient),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            VisitKind::Outpatient => "门诊",
            VisitKind::Inpatient => "住院",
        }
    }
}

/// Where a visit stands. A reversal takes a settled visit back to where it was before
/// settlement (details uploaded for 门诊, discharged for 住院); the settlement itself stays on
/// record, marked reversed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VisitState {
    /// 门诊已挂号 / 住院已入院, no fee lines.
    Open,
    /// Fee lines uploaded (at least one in force).
    Details,
    /// 已出院 (住院 only).
    Discharged,
    /// 已结算.
    Settled,
    /// 挂号或入院已撤销.
    Cancelled,
}

impl VisitState {
    pub fn code(self) -> &'static str {
        match self {
            VisitState::Open => "open",
            VisitState::Details => "details",
            VisitState::Discharged => "discharged",
            VisitState::Settled => "settled",
            VisitState::Cancelled => "cancelled",
        }
    }

    pub fn from_code(code: &str) -> Option<VisitState> {
        Some(match code {
            "open" => VisitState::Open,
            "details" => VisitState::Details,
            "discharged" => VisitState::Discharged,
            "settled" => VisitState::Settled,
            "cancelled" => VisitState::Cancelled,
            _ => return None,
        })
    }

    /// The state's name as an operator reads it.
    pub fn name(self, kind: VisitKind) -> &'static str {
        match (self, kind) {
            (VisitState::Open, VisitKind::Outpatient) => "已挂号",
            (VisitState::Open, VisitKind::Inpatient) => "已入院",
            (VisitState::Details, _) => "已上传费用明细",
            (VisitState::Discharged, _) => "已出院",
            (VisitState::Settled, _) => "已结算",
            (VisitState::Cancelled, VisitKind::Outpatient) => "挂号已撤销",
            (VisitState::Cancelled, VisitKind::Inpatient) => "入院已撤销",
        }
    }
}

/// What a transaction asks of a visit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VisitAction {
    /// 2203 就诊信息上传 (门诊).
    UploadInfo,
    /// 2204 / 2301.
    UploadDetails,
    /// 2205 / 2302; `remaining` is how many lines stay in force afterwards.
    WithdrawDetails { remaining: usize },
    /// 2402.
    Discharge,
    /// 2405; `lines` is how many lines are in force.
    CancelDischarge { lines: usize },
    /// 2202 / 2404.
    Cancel,
    /// 2206 / 2303 (computes, changes nothing).
    PreSettle,
    /// 2207 / 2304.
    Settle,
    /// 2208 / 2305.
    Reverse,
}

impl VisitAction {
    fn name(self, kind: VisitKind) -> &'static str {
        match (self, kind) {
            (VisitAction::UploadInfo, _) => "就诊信息上传",
            (VisitAction::UploadDetails, _) => "费用明细上传",
            (VisitAction::WithdrawDetails { .. }, _) => "费用明细撤销",
            (VisitAction::Discharge, _) => "出院办理",
            (VisitAction::CancelDischarge { .. }, _) => "出院撤销",
            (VisitAction::Cancel, VisitKind::Outpatient) => "挂号撤销",
            (VisitAction::Cancel, VisitKind::Inpatient) => "入院撤销",
            (VisitAction::PreSettle, _) => "预结算",
            (VisitAction::Settle, _) => "结算",
            (VisitAction::Reverse, _) => "结算撤销",
        }
    }
}

/// A refused transition, with the reason an operator can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransitionError(pub String);

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The state after `action`, or why the visit cannot take it.
pub fn transition(
    kind: VisitKind,
    state: VisitState,
    action: VisitAction,
) -> Result<VisitState, TransitionError> {
    use VisitAction as A;
    use VisitKind::{Inpatient as Ipt, Outpatient as Otp};
    use VisitState as S;
    let next = match (kind, state, action) {
        (Otp, S::Open | S::Details, A::UploadInfo) => Some(state),
        (_, S::Open | S::Details, A::UploadDetails) => Some(S::Details),
        (_, S::Details, A::WithdrawDetails { remaining }) => {
            Some(if remaining == 0 { S::Open } else { S::Details })
        }
        (Ipt, S::Open | S::Details, A::Discharge) => Some(S::Discharged),
        (Ipt, S::Discharged, A::CancelDischarge { lines }) => {
            Some(if lines == 0 { S::Open } else { S::Details })
        }
        (_, S::Open, A::Cancel) => Some(S::Cancelled),
        (Otp, S::Details, A::PreSettle | A::Settle) => Some(if action == A::Settle {
            S::Settled
        } else {
            state
        }),
        (Ipt, S::Discharged, A::PreSettle | A::Settle) => Some(if action == A::Settle {
            S::Settled
        } else {
            state
        }),
        (Otp, S::Settled, A::Reverse) => Some(S::Details),
        (Ipt, S::Settled, A::Reverse) => Some(S::Discharged),
        _ => None,
    };
    next.ok_or_else(|| TransitionError(refusal(kind, state, action)))
}

fn refusal(kind: VisitKind, state: VisitState, action: VisitAction) -> String {
    let what = action.name(kind);
    let now = state.name(kind);
    let hint = match (kind, state, action) {
        (_, VisitState::Settled, VisitAction::Settle) => "，不能重复结算",
        (_, VisitState::Settled, _) => "，请先撤销结算",
        (_, VisitState::Cancelled, _) => "，请重新挂号或办理入院",
        (_, VisitState::Details, VisitAction::Cancel) => "，请先撤销全部费用明细",
        (VisitKind::Inpatient, VisitState::Discharged, _) => "，请先撤销出院",
        (VisitKind::Inpatient, VisitState::Open | VisitState::Details, _)
            if matches!(action, VisitAction::PreSettle | VisitAction::Settle) =>
        {
            "，请先办理出院"
        }
        (_, VisitState::Open, VisitAction::PreSettle | VisitAction::Settle) => "，请先上传费用明细",
        (_, _, VisitAction::Reverse) => "，没有可撤销的结算",
        (_, _, VisitAction::UploadInfo) => "（就诊信息上传只用于门诊）",
        _ => "",
    };
    format!("{}就诊当前状态为「{now}」，不能{what}{hint}", kind.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use VisitAction as A;
    use VisitKind::{Inpatient as Ipt, Outpatient as Otp};
    use VisitState as S;

    #[test]
    fn outpatient_path() {
        let s = transition(Otp, S::Open, A::UploadInfo).unwrap();
        let s = transition(Otp, s, A::UploadDetails).unwrap();
        assert_eq!(s, S::Details);
        assert_eq!(transition(Otp, s, A::PreSettle), Ok(S::Details));
        let s = transition(Otp, s, A::Settle).unwrap();
        assert_eq!(s, S::Settled);
        let e = transition(Otp, s, A::Settle).unwrap_err();
        assert!(e.0.contains("不能重复结算"), "{e}");
        let s = transition(Otp, s, A::Reverse).unwrap();
        assert_eq!(s, S::Details);
        assert!(transition(Otp, s, A::Reverse).is_err());
        assert_eq!(transition(Otp, s, A::Settle), Ok(S::Settled));
    }

    #[test]
    fn inpatient_path() {
        let s = transition(Ipt, S::Open, A::UploadDetails).unwrap();
        let e = transition(Ipt, s, A::Settle).unwrap_err();
        assert!(e.0.contains("请先办理出院"), "{e}");
        let s = transition(Ipt, s, A::Discharge).unwrap();
        assert!(transition(Ipt, s, A::UploadDetails).is_err());
        assert_eq!(
            transition(Ipt, s, A::CancelDischarge { lines: 3 }),
            Ok(S::Details)
        );
        let s = transition(Ipt, s, A::Settle).unwrap();
        assert_eq!(transition(Ipt, s, A::Reverse), Ok(S::Discharged));
        assert!(transition(Ipt, S::Open, A::UploadInfo).is_err());
    }

    #[test]
    fn withdrawing_and_cancelling() {
        assert_eq!(
            transition(Otp, S::Details, A::WithdrawDetails { remaining: 0 }),
            Ok(S::Open)
        );
        assert_eq!(
            transition(Otp, S::Details, A::WithdrawDetails { remaining: 2 }),
            Ok(S::Details)
        );
        assert!(transition(Otp, S::Details, A::Cancel).is_err());
        assert_eq!(transition(Otp, S::Open, A::Cancel), Ok(S::Cancelled));
        for action in [A::UploadDetails, A::Settle, A::Cancel, A::Reverse] {
            assert!(transition(Ipt, S::Cancelled, action).is_err());
        }
    }

    #[test]
    fn every_state_and_action_answers_without_panicking() {
        let states = [S::Open, S::Details, S::Discharged, S::Settled, S::Cancelled];
        let actions = [
            A::UploadInfo,
            A::UploadDetails,
            A::WithdrawDetails { remaining: 0 },
            A::Discharge,
            A::CancelDischarge { lines: 0 },
            A::Cancel,
            A::PreSettle,
            A::Settle,
            A::Reverse,
        ];
        for kind in [Otp, Ipt] {
            for s in states {
                assert_eq!(VisitState::from_code(s.code()), Some(s));
                for a in actions {
                    match transition(kind, s, a) {
                        Ok(next) if a != A::Cancel => {
                            assert_ne!(next, S::Cancelled, "{s:?} {a:?}")
                        }
                        Ok(next) => assert_eq!(next, S::Cancelled),
                        Err(e) => assert!(e.0.contains("不能"), "{e}"),
                    }
                }
            }
        }
        // Only Cancel reaches Cancelled, and only from Open.
        assert_eq!(transition(Otp, S::Open, A::Cancel), Ok(S::Cancelled));
    }
}
