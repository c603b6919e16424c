//! The actions this function can serve. To add one: write its module (an input type, an output type and
//! [`crate::action::Action`]; `recent_contact` is the example), then list it here in [`ACTION_NAMES`],
//! [`contracts`] and [`crate::App`]'s `build`. `make actions` then writes its Genesys files.

pub mod customer_lookup;
pub mod recent_contact;

use crate::action::Action;
use crate::contract::{self, ActionContract};
use customer_lookup::CustomerLookup;
use recent_contact::RecentContactAction;

/// `customer-lookup`: the default action.
pub const CUSTOMER_LOOKUP: &str = CustomerLookup::NAME;
/// `recent-contact`.
pub const RECENT_CONTACT: &str = RecentContactAction::NAME;
/// Every action this binary knows.
pub const ACTION_NAMES: [&str; 2] = [CUSTOMER_LOOKUP, RECENT_CONTACT];

/// Every action's contract, for `make actions` (in [`ACTION_NAMES`] order).
pub fn contracts() -> Vec<ActionContract> {
    vec![
        contract::of::<CustomerLookup>(),
        contract::of::<RecentContactAction>(),
    ]
}
