//! Channel selection: the highest priority tier first, weighted random inside a tier,
//! never a channel that already failed for this request.

use crate::store::{Channel, CHANNEL_ENABLED};
use rand::Rng;
use std::sync::Arc;

/// Enabled channels of `group` that list `model`.
pub fn candidates(channels: &[Arc<Channel>], group: &str, model: &str) -> Vec<Arc<Channel>> {
    channels
        .iter()
        .filter(|c| {
            c.status == CHANNEL_ENABLED && c.group == group && c.models.iter().any(|m| m == model)
        })
        .cloned()
        .collect()
}

/// Whether any channel at all (enabled or not, any group) knows the model.
pub fn model_known(channels: &[Arc<Channel>], model: &str) -> bool {
    channels.iter().any(|c| c.models.iter().any(|m| m == model))
}

/// Models the group can reach through enabled channels, sorted and unique.
pub fn group_models(channels: &[Arc<Channel>], group: &str) -> Vec<String> {
    let mut out: Vec<String> = channels
        .iter()
        .filter(|c| c.status == CHANNEL_ENABLED && c.group == group)
        .flat_map(|c| c.models.iter().cloned())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The name the upstream knows the model by.
pub fn upstream_model<'a>(c: &'a Channel, model: &'a str) -> &'a str {
    c.model_mapping.get(model).map_or(model, String::as_str)
}

/// Picks the next channel to try, or `None` when every candidate has been tried: among
/// the untried channels of the highest priority, one at random by weight (evenly when
/// all weigh 0). Walks the candidates instead of collecting them: a request makes this
/// pick at least once.
pub fn pick<'a, R: Rng>(
    cands: &'a [Arc<Channel>],
    tried: &[i64],
    rng: &mut R,
) -> Option<&'a Arc<Channel>> {
    let untried = || cands.iter().filter(|c| !tried.contains(&c.id));
    let top = untried().map(|c| c.priority).max()?;
    let tier = || untried().filter(move |c| c.priority == top);
    let (members, total) = tier().fold((0usize, 0u64), |(n, sum), c| {
        (n + 1, sum + c.weight.max(0) as u64)
    });
    if members == 1 {
        return tier().next();
    }
    if total == 0 {
        return tier().nth(rng.gen_range(0..members));
    }
    let mut roll = rng.gen_range(0..total);
    let mut last = None;
    for c in tier() {
        let w = c.weight.max(0) as u64;
        if roll < w {
            return Some(c);
        }
        roll -= w;
        last = Some(c);
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ChannelType;
    use std::collections::BTreeMap;

    fn ch(id: i64, priority: i64, weight: i64) -> Arc<Channel> {
        Arc::new(Channel {
            id,
            channel_type: ChannelType::OpenAi,
            name: format!("c{id}"),
            base_url: String::new(),
            key_ciphertext: String::new(),
            key_preview: String::new(),
            models: vec!["m".into()],
            model_mapping: BTreeMap::new(),
            priority,
            weight,
            status: CHANNEL_ENABLED,
            group: "default".into(),
            use_relay: None,
            api_version: String::new(),
            responses_api: false,
            response_time_ms: 0,
            used_quota: 0,
            test_at: None,
            test_success: None,
            test_error: String::new(),
            disabled_reason: String::new(),
            disabled_keys: Vec::new(),
            created_at: 0,
            updated_at: 0,
        })
    }

    #[test]
    fn higher_priority_first_then_fallback() {
        let cs = vec![ch(1, 0, 1), ch(2, 10, 1)];
        let mut rng = rand::thread_rng();
        let mut tried = Vec::new();
        assert_eq!(pick(&cs, &tried, &mut rng).unwrap().id, 2);
        tried.push(2);
        assert_eq!(pick(&cs, &tried, &mut rng).unwrap().id, 1);
        tried.push(1);
        assert!(pick(&cs, &tried, &mut rng).is_none());
    }

    #[test]
    fn weights_split_traffic_within_a_tier() {
        let cs = vec![ch(1, 5, 1), ch(2, 5, 3), ch(3, 5, 0)];
        let mut rng = rand::thread_rng();
        let mut counts = [0u32; 4];
        for _ in 0..4000 {
            counts[pick(&cs, &[], &mut rng).unwrap().id as usize] += 1;
        }
        assert_eq!(counts[3], 0);
        assert!((800..1200).contains(&counts[1]), "{counts:?}");
        assert!((2800..3200).contains(&counts[2]), "{counts:?}");
    }
}
