//! Token counts without the upstream: a quick estimate for reserving quota before the
//! call, and the model family's tokenizer for when an upstream reports no usage.

use std::sync::OnceLock;
use tiktoken_rs::CoreBPE;

fn cl100k() -> Option<&'static CoreBPE> {
    static BPE: OnceLock<Option<CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::cl100k_base().ok()).as_ref()
}

fn o200k() -> Option<&'static CoreBPE> {
    static BPE: OnceLock<Option<CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().ok()).as_ref()
}

/// Loads the tokenizer tables now rather than on first use. The gateway itself does not:
/// they cost tens of megabytes and are needed only when an upstream reports no usage.
pub fn warm_up() {
    let _ = o200k();
}

/// Text gathered before it is tokenized: one tokenizer call per few KiB of stream
/// instead of one per event.
const TALLY_CHUNK: usize = 4096;

/// Counts a stream's generated tokens as it goes, for when the upstream reports no usage
/// (or the client leaves early). Text is tokenized a few KiB at a time, and the last part
/// only when asked, which for upstreams that report usage is never.
#[derive(Debug, Default, Clone)]
pub struct TokenTally {
    pending: String,
    counted: u64,
}

impl TokenTally {
    pub fn push(&mut self, model: &str, text: &str) {
        self.pending.push_str(text);
        if self.pending.len() >= TALLY_CHUNK {
            self.counted = self
                .counted
                .saturating_add(count_tokens(model, &self.pending));
            self.pending.clear();
        }
    }

    pub fn total(&self, model: &str) -> u64 {
        self.counted
            .saturating_add(count_tokens(model, &self.pending))
    }
}

/// A quick upper estimate of a text's tokens without a tokenizer: BPE vocabularies put
/// about four ASCII characters in a token (three assumed here, newlines counted on their
/// own) and seldom split a non-ASCII character into more than its UTF-8 bytes / 2.
pub fn estimate_tokens(text: &str) -> u64 {
    let other = non_ascii_bytes(text.as_bytes());
    let newlines = memchr::memchr_iter(b'\n', text.as_bytes()).count() as u64;
    let ascii = text.len() as u64 - other;
    ascii.div_ceil(3) + newlines + other.div_ceil(2)
}

/// Bytes at or above 0x80, eight at a time: each byte's top bit is moved to its lowest,
/// and one multiplication sums the eight (a byte-wise filter cost ~5 instructions a byte).
fn non_ascii_bytes(b: &[u8]) -> u64 {
    const TOP_BITS: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let (words, rest) = b.as_chunks::<8>();
    let whole: u64 = words
        .iter()
        .map(|w| (((u64::from_ne_bytes(*w) & TOP_BITS) >> 7).wrapping_mul(ONES)) >> 56)
        .sum();
    whole + rest.iter().filter(|b| !b.is_ascii()).count() as u64
}

/// Counts tokens with the encoding the model family uses (o200k for GPT-4o/4.1/5 and
/// o-series, cl100k otherwise); a byte-based estimate if the tables failed to load.
pub fn count_tokens(model: &str, text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    let m = model.to_ascii_lowercase();
    let modern = m.starts_with("gpt-4o")
        || m.starts_with("gpt-4.1")
        || m.starts_with("gpt-5")
        || m.starts_with("chatgpt-4o")
        || (m.starts_with('o') && m.chars().nth(1).is_some_and(|c| c.is_ascii_digit()));
    let bpe = if modern { o200k() } else { cl100k() };
    match bpe {
        Some(b) => b.encode_ordinary(text).len() as u64,
        None => (text.len() as u64).div_ceil(4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_bytes_are_counted_in_any_position() {
        let text = "héllo wörld, naïve café — 日本語 and plain ASCII to pad it out";
        let by_byte = text.bytes().filter(|b| !b.is_ascii()).count() as u64;
        for start in 0..text.len() {
            let tail = &text.as_bytes()[start..];
            let expected = tail.iter().filter(|b| !b.is_ascii()).count() as u64;
            assert_eq!(non_ascii_bytes(tail), expected, "from byte {start}");
        }
        assert_eq!(non_ascii_bytes(&[0xff; 64]), 64);
        assert_eq!(non_ascii_bytes(text.as_bytes()), by_byte);
    }

    #[test]
    fn the_quick_estimate_is_not_below_the_tokenizer_count() {
        for text in [
            "user\nhi\n",
            "What is the capital of France? Answer in one word, please.",
            "fn main() {\n    println!(\"{}\", 1 + 2);\n}\n",
            "日本の首都はどこですか？一言で答えてください。",
            "Ünïcödé façade — naïve café 🚀🚀",
        ] {
            for model in ["gpt-4o-mini", "gpt-3.5-turbo"] {
                let (estimate, counted) = (estimate_tokens(text), count_tokens(model, text));
                assert!(
                    estimate >= counted,
                    "{model} {text:?}: {estimate} < {counted}"
                );
            }
        }
    }

    #[test]
    fn token_counts_are_plausible() {
        let n = count_tokens("gpt-4o", "Hello, world! How are you today?");
        assert!((5..=12).contains(&n), "{n}");
        assert_eq!(count_tokens("gpt-3.5-turbo", ""), 0);
    }
}
