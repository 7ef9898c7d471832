//! Optional host allow-list (`RELAY_ALLOWED_HOSTS`): exact names and `*.suffix` wildcards.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com`: any name strictly below `example.com`, at any depth.
    Suffix(String),
}

/// A list of allowed hosts; the empty list allows every host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostAllowList {
    patterns: Vec<HostPattern>,
}

/// A malformed allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowListError(pub String);

impl fmt::Display for AllowListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid host pattern {:?}", self.0)
    }
}

impl std::error::Error for AllowListError {}

fn normalise(host: &str) -> String {
    let host = host.trim().trim_end_matches('.');
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.to_ascii_lowercase()
}

impl HostAllowList {
    /// Parses a comma-separated list such as `api.openai.com, *.openai.azure.com`.
    pub fn parse(list: &str) -> Result<Self, AllowListError> {
        let mut patterns = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let name = normalise(entry);
            let pattern = match name.strip_prefix("*.") {
                Some(suffix) => HostPattern::Suffix(suffix.to_owned()),
                None => HostPattern::Exact(name.clone()),
            };
            let body = match &pattern {
                HostPattern::Exact(n) | HostPattern::Suffix(n) => n,
            };
            let valid_chars = body
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
            if body.is_empty() || !valid_chars || body.starts_with('.') {
                return Err(AllowListError(entry.to_owned()));
            }
            patterns.push(pattern);
        }
        Ok(Self { patterns })
    }

    /// True when no restriction is configured.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `host` (a URL host, possibly bracketed IPv6) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        if self.patterns.is_empty() {
            return true;
        }
        let host = normalise(host);
        self.patterns.iter().any(|pattern| match pattern {
            HostPattern::Exact(name) => *name == host,
            HostPattern::Suffix(suffix) => host
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_list_allows_everything() {
        let list = HostAllowList::parse(" , ").unwrap();
        assert!(list.is_empty());
        assert!(list.allows("anything.example"));
    }

    #[test]
    fn exact_and_wildcard_entries_match_case_insensitively() {
        let list = HostAllowList::parse("api.openai.com, *.openai.azure.com,[::1]").unwrap();
        assert!(list.allows("api.openai.com"));
        assert!(list.allows("API.OpenAI.com."));
        assert!(list.allows("me.openai.azure.com"));
        assert!(list.allows("a.b.openai.azure.com"));
        assert!(list.allows("[::1]"));
        assert!(
            !list.allows("openai.azure.com"),
            "wildcard does not match the apex"
        );
        assert!(!list.allows("evilopenai.azure.com"));
        assert!(!list.allows("openai.azure.com.evil.com"));
        assert!(!list.allows("api.openai.com.evil.com"));
        assert!(!list.allows("xapi.openai.com"));
    }

    #[test]
    fn malformed_entries_are_rejected() {
        for bad in ["*", "*.", "a*.b.com", "foo/bar", "*.*.com", "user@host"] {
            assert!(HostAllowList::parse(bad).is_err(), "{bad}");
        }
    }
}
