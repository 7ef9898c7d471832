//! Small helpers with no better home.

use actix_web::{HttpMessage, HttpRequest};
use std::sync::Arc;

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The peer address of the connection. Forwarded headers are not trusted: a client
/// could forge them to dodge throttling or IP allow-lists.
pub fn client_ip(req: &HttpRequest) -> String {
    match req.peer_addr().map(|a| a.ip()) {
        Some(std::net::IpAddr::V4(v4)) => ipv4_text(v4),
        Some(ip) => ip.to_string(),
        None => "unknown".into(),
    }
}

/// An IPv4 address in dotted decimal, written digit by digit: `Display` goes through the
/// formatting machinery twice (it pads), a cost every request paid for its log row.
fn ipv4_text(ip: std::net::Ipv4Addr) -> String {
    let mut out = String::with_capacity(15);
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
    out
}

/// The request id assigned by the request-id middleware.
pub fn request_id(req: &HttpRequest) -> Arc<str> {
    req.extensions()
        .get::<RequestId>()
        .map_or_else(|| Arc::from(""), |r| r.0.clone())
}

/// Shared: the call, its meter and its log row each hold it.
#[derive(Clone, Debug)]
pub struct RequestId(pub Arc<str>);

/// A random id (a v4 UUID, 32 hex digits) from the thread's CSPRNG: `Uuid::new_v4` asks the
/// kernel for every id, a system call per request.
pub fn new_id() -> uuid::fmt::Simple {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .simple()
}

/// [`new_id`] as text, its digits written into place (through `Display` the uuid's
/// formatter and padding cost more than drawing the id).
pub fn new_id_text() -> Arc<str> {
    let mut digits = [0u8; uuid::fmt::Simple::LENGTH];
    Arc::from(&*new_id().encode_lower(&mut digits))
}

/// A body gathered from its chunks. One that came in a single chunk (most bodies: they
/// arrive with the head, or in one read) is that chunk, not a copy of it.
#[derive(Default)]
pub struct Gathered {
    first: Option<bytes::Bytes>,
    more: Option<bytes::BytesMut>,
    len: usize,
}

impl Gathered {
    /// Bytes gathered so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, chunk: bytes::Bytes) {
        self.len += chunk.len();
        match (&self.first, &mut self.more) {
            (None, _) => self.first = Some(chunk),
            (Some(head), None) => {
                let mut buf = bytes::BytesMut::with_capacity(self.len);
                buf.extend_from_slice(head);
                buf.extend_from_slice(&chunk);
                self.more = Some(buf);
            }
            (Some(_), Some(buf)) => buf.extend_from_slice(&chunk),
        }
    }

    pub fn finish(self) -> bytes::Bytes {
        match (self.more, self.first) {
            (Some(buf), _) => buf.freeze(),
            (None, first) => first.unwrap_or_default(),
        }
    }
}

/// The hasher of the maps a request looks up (caches, health, leases, prices): keyed
/// with a random seed like std's, at a fraction of SipHash's cost per lookup.
pub type FastHash = foldhash::fast::RandomState;
pub type FastMap<K, V> = std::collections::HashMap<K, V, FastHash>;

/// A bounded memo of a costly, pure function of a string (a digest, a decryption): it
/// starts over when full, so it never grows past `limit` entries. Values are handed out
/// shared: a request reads three of them, and a copy each was an allocation and a copy.
pub struct Memo {
    map: std::sync::RwLock<FastMap<Box<str>, Arc<str>>>,
    limit: usize,
}

impl Memo {
    pub fn new(limit: usize) -> Self {
        Memo {
            map: std::sync::RwLock::new(FastMap::default()),
            limit,
        }
    }

    /// The remembered value for `key`, else `compute()`'s.
    pub fn get_or_compute(&self, key: &str, compute: impl FnOnce() -> String) -> Arc<str> {
        match self.get_or_try(key, || Ok::<_, std::convert::Infallible>(compute())) {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// The remembered value for `key`, else `compute()`'s (remembered when it succeeds).
    pub fn get_or_try<E>(
        &self,
        key: &str,
        compute: impl FnOnce() -> Result<String, E>,
    ) -> Result<Arc<str>, E> {
        let known = self.map.read().ok().and_then(|m| m.get(key).cloned());
        if let Some(v) = known {
            return Ok(v);
        }
        let v: Arc<str> = Arc::from(compute()?);
        if let Ok(mut m) = self.map.write() {
            if m.len() >= self.limit {
                m.clear();
            }
            m.insert(key.into(), v.clone());
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_gathered_body_is_its_chunks_in_order() {
        let chunks = |parts: &[&'static str]| {
            let mut g = super::Gathered::default();
            for p in parts {
                g.push(bytes::Bytes::from_static(p.as_bytes()));
            }
            (g.len(), g.finish())
        };
        assert_eq!(chunks(&[]), (0, bytes::Bytes::new()));
        let (len, one) = chunks(&["{\"a\":1}"]);
        assert_eq!((len, &one[..]), (7, &b"{\"a\":1}"[..]));
        let (len, three) = chunks(&["{\"a\"", ":", "1}"]);
        assert_eq!((len, &three[..]), (7, &b"{\"a\":1}"[..]));
    }

    #[test]
    fn id_text_is_a_simple_v4_uuid() {
        let a = super::new_id_text();
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.simple().to_string(), &*a);
        assert_ne!(a, super::new_id_text());
    }

    #[test]
    fn ipv4_text_matches_display() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.100.255",
            "192.168.9.99",
            "255.255.255.255",
        ] {
            let parsed: std::net::Ipv4Addr = ip.parse().unwrap();
            assert_eq!(super::ipv4_text(parsed), parsed.to_string());
        }
    }
}
