//! What the public reaches: referral links (link-click) and the website's lead form
//! (lead-intake).

pub mod leaderboard;
pub mod leads;
pub mod links;
pub mod me;
