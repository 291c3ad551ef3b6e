//! The allocation policy: case types and the parameters of the draw (SPEC §7). The policy is itself
//! in the log (genesis and `policy_updated` events), so every draw is judged by the rules in force.

use serde::{Deserialize, Serialize};

use crate::encode::{Canonical, Dec, Decode, DecodeError, Enc};
use crate::ids::{CaseTypeCode, Specialization};

/// One kind of case: which specialization it needs, how heavy it is, and how many judges sit on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseType {
    /// The code clerks file under.
    pub code: CaseTypeCode,
    /// The specialization a judge must hold.
    pub specialization: Specialization,
    /// The workload weight, 1..=1000.
    pub weight: u32,
    /// Number of judges: 1 for a single judge, 3 for a panel (1..=9).
    pub panel: u8,
}

/// What a draw does when fewer judges than `min_pool` are eligible (SPEC §7.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// Refuse the filing; nothing is written.
    Refuse,
    /// Consider every judge of the court, any division; refuse if still too few.
    WidenToCourt,
    /// Widen to the court; if still too few but enough for the seats, draw anyway and record
    /// `below_minimum`.
    WidenThenProceed,
}

impl Fallback {
    fn byte(self) -> u8 {
        match self {
            Fallback::Refuse => 0,
            Fallback::WidenToCourt => 1,
            Fallback::WidenThenProceed => 2,
        }
    }

    /// The fallback whose canonical byte is `b`, if any.
    fn from_byte(b: u8) -> Option<Fallback> {
        Some(match b {
            0 => Fallback::Refuse,
            1 => Fallback::WidenToCourt,
            2 => Fallback::WidenThenProceed,
            _ => return None,
        })
    }
}

/// The parameters of the draw and the case types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The smallest eligible pool a draw accepts without falling back.
    pub min_pool: u32,
    /// What happens below `min_pool`.
    pub fallback: Fallback,
    /// The cap: no judge's probability exceeds `cap_num / cap_den` times their balanced rate for the
    /// case (the rate that keeps every judge level given the window's case mix and who can take
    /// what), and none exceeds `2 / |E|` whatever the cap (SPEC §7.5). Must be `>= 1`; the
    /// denominator is at most 1000.
    pub cap_num: u32,
    /// Denominator of the cap.
    pub cap_den: u32,
    /// How strongly the draw favours the least loaded, in thousandths: it moves the effective cap
    /// from 1 (0: a lottery by balanced rate) to `cap_num / cap_den` (1000: the least loaded get the most
    /// probability the cap allows).
    pub balance_permille: u32,
    /// Intake counts toward a judge's load for this many days.
    pub window_days: u32,
    /// A judge entering a pool for the first time (newly registered, or re-activated) is credited up
    /// to this many case-weight units below the mean of the judges already pooled, so a newcomer is
    /// not flooded with the court's whole backlog (0: starts exactly at the mean).
    pub catch_up_limit: u32,
    /// The case types, in ascending order of code.
    pub case_types: Vec<CaseType>,
}

impl Policy {
    /// The defaults the SPEC ships, with the given case types.
    pub fn with_case_types(mut case_types: Vec<CaseType>) -> Policy {
        case_types.sort_by(|a, b| a.code.cmp(&b.code));
        Policy {
            min_pool: 3,
            fallback: Fallback::WidenThenProceed,
            cap_num: 3,
            cap_den: 2,
            balance_permille: 1000,
            window_days: 365,
            catch_up_limit: 0,
            case_types,
        }
    }

    /// The case type with this code.
    pub fn case_type(&self, code: &CaseTypeCode) -> Option<&CaseType> {
        self.case_types
            .binary_search_by(|t| t.code.cmp(code))
            .ok()
            .map(|i| &self.case_types[i])
    }

    /// Checks the policy's own consistency; the message says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_pool == 0 {
            return Err("the minimum pool size must be at least 1".into());
        }
        if self.cap_den == 0
            || self.cap_den > 1000
            || self.cap_num < self.cap_den
            || self.cap_num > 1000 * self.cap_den
        {
            return Err(
                "the probability cap must be a fraction of at least 1 and at most 1000 \
                 (cap_den <= cap_num <= 1000 * cap_den, 0 < cap_den <= 1000)"
                    .into(),
            );
        }
        if self.balance_permille > 1000 {
            return Err("balance_permille must be between 0 and 1000".into());
        }
        if self.window_days == 0 {
            return Err("the workload window must be at least one day".into());
        }
        if self.case_types.windows(2).any(|w| w[0].code >= w[1].code) {
            return Err("case types must be listed once each, in ascending order of code".into());
        }
        for t in &self.case_types {
            if !(1..=1000).contains(&t.weight) {
                return Err(format!(
                    "case type {} has weight {}: weights run from 1 to 1000",
                    t.code, t.weight
                ));
            }
            if !(1..=9).contains(&t.panel) {
                return Err(format!(
                    "case type {} has a panel of {}: panels run from 1 to 9 judges",
                    t.code, t.panel
                ));
            }
        }
        Ok(())
    }
}

impl Canonical for Policy {
    fn encode(&self, e: &mut Enc) {
        e.u32(self.min_pool);
        e.u8(self.fallback.byte());
        e.u32(self.cap_num);
        e.u32(self.cap_den);
        e.u32(self.balance_permille);
        e.u32(self.window_days);
        e.u32(self.catch_up_limit);
        e.list(&self.case_types, |e, t| {
            e.str(t.code.as_str());
            e.str(t.specialization.as_str());
            e.u32(t.weight);
            e.u8(t.panel);
        });
    }
}

impl Decode for Policy {
    fn decode(d: &mut Dec<'_>) -> Result<Policy, DecodeError> {
        Ok(Policy {
            min_pool: d.u32()?,
            fallback: d.tag("fallback", Fallback::from_byte)?,
            cap_num: d.u32()?,
            cap_den: d.u32()?,
            balance_permille: d.u32()?,
            window_days: d.u32()?,
            catch_up_limit: d.u32()?,
            case_types: d.list(|d| {
                Ok(CaseType {
                    code: d.id::<CaseTypeCode>()?,
                    specialization: d.id::<Specialization>()?,
                    weight: d.u32()?,
                    panel: d.u8()?,
                })
            })?,
        })
    }
}
