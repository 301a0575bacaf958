//! The `pod-template-hash`: Kubernetes' `controller.ComputeHash` — FNV-32a over the pod
//! template (and the deployment's collisionCount when set), printed in decimal and mapped to
//! a vowel-free alphabet by `rand.SafeEncodeString`, so names never spell words.
//!
//! Kubernetes hashes Go's `%#v` dump of the struct; peapod hashes the template's canonical
//! JSON (keys sorted) instead. The values differ from a real cluster's, the properties that
//! matter hold: same template → same hash, any change → a new hash, collisionCount moves it.

use serde_json::Value;

/// The label (and selector key) that tells the ReplicaSets of one Deployment apart.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// FNV-32a.
pub fn fnv32a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 2_166_136_261;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(16_777_619);
    }
    h
}

/// `rand.SafeEncodeString`: every character mapped into `bcdfghjklmnpqrstvwxz2456789`.
pub fn safe_encode(s: &str) -> String {
    s.chars()
        .map(|c| char::from(ALPHANUMS[(c as usize) % ALPHANUMS.len()]))
        .collect()
}

/// The hash of a pod template with the deployment's `status.collisionCount`.
pub fn compute_hash(template: &Value, collision_count: Option<u32>) -> String {
    let mut buf = String::new();
    canonical(template, &mut buf);
    let mut bytes = buf.into_bytes();
    if let Some(c) = collision_count {
        bytes.extend_from_slice(&c.to_le_bytes());
    }
    safe_encode(&fnv32a(&bytes).to_string())
}

/// JSON with object keys sorted, so the hash does not depend on the order fields were written.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(x) = m.get(k) {
                    canonical(x, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fnv32a_known_vectors() {
        // From the FNV reference test suite.
        assert_eq!(fnv32a(b""), 0x811c9dc5);
        assert_eq!(fnv32a(b"a"), 0xe40c292c);
        assert_eq!(fnv32a(b"foobar"), 0xbf9cf968);
    }

    #[test]
    fn safe_encoding_maps_digits_like_kubernetes() {
        // '0' is 48, 48 % 27 = 21 → '4'; '6' is 54, 54 % 27 = 0 → 'b'.
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
    }

    #[test]
    fn hash_is_stable_under_key_order_and_changes_with_content() {
        let a = json!({"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"x"}]}});
        let b = json!({"spec":{"containers":[{"image":"x","name":"c"}]},"metadata":{"labels":{"app":"web"}}});
        let c = json!({"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"y"}]}});
        assert_eq!(compute_hash(&a, None), compute_hash(&b, None));
        assert_ne!(compute_hash(&a, None), compute_hash(&c, None));
        assert_ne!(compute_hash(&a, None), compute_hash(&a, Some(1)));
        assert_ne!(compute_hash(&a, Some(1)), compute_hash(&a, Some(2)));
        let h = compute_hash(&a, None);
        assert!(!h.is_empty() && h.len() <= 10, "{h}");
        assert!(h.chars().all(|c| "456789bcdf".contains(c)), "{h}");
    }
}
