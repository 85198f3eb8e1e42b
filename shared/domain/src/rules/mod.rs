//! The program's rules that are more than a state change: who gets credit and what is
//! suspicious, what a referrer earns, and whether a text may go.

pub mod attribution;
pub mod figures;
pub mod findings;
pub mod referrer_page;
pub mod reward_terms;
pub mod sending;
pub mod summary;
