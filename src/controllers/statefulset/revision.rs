//! Template revisions without ControllerRevision objects (peapod does not serve that kind):
//! a revision is named by a hash of the pod template, computed as Kubernetes hashes a
//! ControllerRevision (FNV-32a, then `rand.SafeEncodeString` of its decimal form). The names
//! differ from Kubernetes' (whose hash covers the revision's patch and collision count), but
//! they play the same part: equal templates give equal names, a changed template a new one.

use serde_json::Value;

/// The label holding a pod's revision (`<set>-<hash>` for StatefulSets, `<hash>` for
/// DaemonSets, as Kubernetes writes them).
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// Kubernetes' rand.SafeEncodeString alphabet: no vowels, no confusable characters.
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn fnv32a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The hash of a pod template (`spec.template`).
pub fn template_hash(template: &Value) -> String {
    // serde_json with preserve_order keeps the stored key order; the template is stored as
    // written and defaulted, so the same object always serializes the same way.
    let text = serde_json::to_string(template).unwrap_or_default();
    fnv32a(text.as_bytes())
        .to_string()
        .bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

/// A pod's revision label.
pub fn pod_revision(pod: &Value) -> &str {
    pod.pointer(&format!("/metadata/labels/{REVISION_LABEL}"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_templates_share_a_hash_and_changes_make_a_new_one() {
        let a = json!({"spec":{"containers":[{"name":"c","image":"busybox:1"}]}});
        let b = json!({"spec":{"containers":[{"name":"c","image":"busybox:2"}]}});
        assert_eq!(template_hash(&a), template_hash(&a.clone()));
        assert_ne!(template_hash(&a), template_hash(&b));
        assert!(template_hash(&a).bytes().all(|c| ALPHANUMS.contains(&c)));
    }

    #[test]
    fn fnv_matches_the_reference_values() {
        assert_eq!(fnv32a(b""), 0x811c_9dc5);
        assert_eq!(fnv32a(b"a"), 0xe40c_292c);
    }
}
