//! SSRF guard shared by the relay and the gateway's URL fetchers.
//!
//! Two layers, both needed:
//! 1. [`parse_target_url`] refuses malformed or tricky URLs (userinfo, fragments,
//!    backslashes, non-http schemes) and literal addresses in any spelling.
//! 2. [`check_resolved`] must be applied to the addresses a name resolves to, *right
//!    before connecting to exactly those addresses*, so DNS rebinding has no gap.
//!
//! Everything here is pure (no I/O), so callers pick their own resolver and connector.

mod address;
mod allow_list;
mod target;

pub use address::{embedded_ipv4, is_public_ip, is_public_ipv4, is_public_ipv6};
pub use address::{parse_host_ip, parse_ipv4_lenient};
pub use allow_list::{AllowListError, HostAllowList};
pub use target::{check_address, check_resolved, is_ip_literal, parse_target_url};
pub use target::{TargetError, TargetHost, TargetUrl, UrlPolicy, NOT_PUBLIC, ONLY_HTTPS};
