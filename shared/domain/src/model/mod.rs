//! What the program is made of: businesses and their settings, contacts and participants, jobs,
//! leads, referrals, rewards, messages, clicks and the events published about them.

pub mod business;
pub mod click;
pub mod contact;
pub mod events;
pub mod job;
pub mod jobber;
pub mod lead;
pub mod message;
pub mod participant;
pub mod referral;
pub mod report;
pub mod reward;
pub mod search;
pub mod settings;
pub mod staff;
