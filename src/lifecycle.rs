//! Where an intervention stands, and why it was wiped: words that errors,
//! receipts, the audit trail and the stores all use. A leaf module (nothing
//! else of the crate is imported here), so that naming them creates no import
//! circle.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an intervention's credentials were wiped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WipeReason {
    /// `intervault close`.
    Closed,
    /// The window ended.
    Expired,
    /// Wiped by a keyless command that an altered clear root misled before its
    /// sealed window ended (a contract extension): reported as tampering, never
    /// as an ordinary expiry.
    Tampered,
}

impl fmt::Display for WipeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WipeReason::Closed => "closed",
            WipeReason::Expired => "expired",
            WipeReason::Tampered => "tampered",
        })
    }
}

/// The status of an intervention, as the contract names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// now < from.
    Scheduled,
    /// from <= now < until.
    Active,
    /// Wiped by `close`.
    Closed,
    /// Wiped because the window ended.
    Expired,
    /// Wiped early because the clear root was altered (see
    /// [`WipeReason::Tampered`]).
    Tampered,
}

impl Status {
    /// The status's name in the contract.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "scheduled",
            Status::Active => "active",
            Status::Closed => "closed",
            Status::Expired => "expired",
            Status::Tampered => "tampered",
        }
    }
}

impl From<WipeReason> for Status {
    fn from(r: WipeReason) -> Self {
        match r {
            WipeReason::Closed => Status::Closed,
            WipeReason::Expired => Status::Expired,
            WipeReason::Tampered => Status::Tampered,
        }
    }
}
