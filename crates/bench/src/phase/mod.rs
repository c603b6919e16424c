//! The run, one small function per phase. Each takes the context (and the entries it measures) and
//! writes its figures into the results; `main::run` calls them in order.

pub mod actions;
pub mod batch;
pub mod cold;
pub mod enrich;
pub mod fanout;
pub mod moto;
pub mod sizes;
pub mod standins;
pub mod variants;
pub mod warm;
