//! Fault tests: the gateway's promises about money and availability checked while
//! something it depends on fails (a database outage, a crash). They start and stop their
//! own databases and are ignored by default; `.ci/run` runs them.

mod crash;
mod outage;
