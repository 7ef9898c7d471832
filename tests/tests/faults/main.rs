//! Fault tests: what a crash or an outage does to the money and to the answers.

mod crash;
