//! The actions this function can serve: [`ACTIONS`] is the one list. To add one, write its module (an input
//! type, an output type, [`crate::action::Action`] and [`crate::action::Build`]: its settings and how it is
//! built; `recent_contact` is the example) and add its line to [`ACTIONS`]. `make generate` then writes its
//! Genesys files and documents its settings.

pub mod customer_lookup;
pub mod recent_contact;

use crate::action::{entry, Action, Entry};
use crate::schema::ActionContract;
use customer_lookup::CustomerLookup;
use recent_contact::RecentContactAction;

/// Every action this binary knows; the first is the default action when `DEFAULT_ACTION` is unset.
pub const ACTIONS: &[Entry] = &[entry::<CustomerLookup>(), entry::<RecentContactAction>()];

/// `customer-lookup`: the default action.
pub const CUSTOMER_LOOKUP: &str = CustomerLookup::NAME;
/// `recent-contact`.
pub const RECENT_CONTACT: &str = RecentContactAction::NAME;

/// Every action's name, in [`ACTIONS`] order.
pub const ACTION_NAMES: [&str; ACTIONS.len()] = {
    let mut names = [""; ACTIONS.len()];
    let mut i = 0;
    while i < ACTIONS.len() {
        names[i] = ACTIONS[i].name;
        i += 1;
    }
    names
};

/// Every action's contract, for `make actions` (in [`ACTIONS`] order).
pub fn contracts() -> Vec<ActionContract> {
    ACTIONS.iter().map(|a| (a.contract)()).collect()
}
