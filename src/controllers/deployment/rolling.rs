//! The arithmetic of rollouts, as Kubernetes' `deployment/util` and `rolling.go`/`sync.go`:
//! maxSurge/maxUnavailable resolution, how far the new ReplicaSet may grow, how far old ones
//! may shrink, and proportional scaling of every active ReplicaSet when a Deployment is
//! resized mid-rollout. Pure functions: they return the sizes to set, the controller writes.

use super::util::{
    self, DESIRED_REPLICAS, MAX_REPLICAS, available, by_creation, by_size_newer, by_size_older,
    int_at, is_recreate, spec_replicas,
};
use crate::api::object::ObjectExt;
use serde_json::Value;

/// `GetScaledValueFromIntOrPercent`: an integer as is, `N%` of `total` rounded up or down.
pub fn scaled_value(v: &Value, total: i64, round_up: bool) -> Result<i64, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("invalid value for IntOrString: {n}")),
        Value::String(s) => {
            let pct: i64 = s
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| {
                    format!("invalid value for IntOrString: invalid value {s:?}: not a percentage")
                })?;
            let x = pct * total;
            Ok(if round_up {
                (x + 99).div_euclid(100)
            } else {
                x.div_euclid(100)
            })
        }
        Value::Null => Ok(0),
        other => Err(format!("invalid value for IntOrString: {other}")),
    }
}

/// `ResolveFenceposts`: surge rounds up, unavailable rounds down; if both come out 0,
/// unavailable becomes 1 so a rollout can always move (validation forbids both being 0
/// as written, but 10% of 3 rounds down to 0).
pub fn resolve_fenceposts(
    max_surge: &Value,
    max_unavailable: &Value,
    desired: i64,
) -> Result<(i64, i64), String> {
    let surge = scaled_value(max_surge, desired, true)?;
    let unavailable = scaled_value(max_unavailable, desired, false)?;
    if surge == 0 && unavailable == 0 {
        return Ok((0, 1));
    }
    Ok((surge, unavailable))
}

fn fenceposts(d: &Value) -> (i64, i64) {
    let surge = d
        .pointer("/spec/strategy/rollingUpdate/maxSurge")
        .unwrap_or(&Value::Null);
    let unavailable = d
        .pointer("/spec/strategy/rollingUpdate/maxUnavailable")
        .unwrap_or(&Value::Null);
    resolve_fenceposts(surge, unavailable, spec_replicas(d)).unwrap_or((0, 0))
}

/// `MaxSurge`: 0 for Recreate.
pub fn max_surge(d: &Value) -> i64 {
    if is_recreate(d) {
        return 0;
    }
    fenceposts(d).0
}

/// `MaxUnavailable`: 0 for Recreate or no replicas; never more than the replicas.
pub fn max_unavailable(d: &Value) -> i64 {
    let replicas = spec_replicas(d);
    if is_recreate(d) || replicas == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas)
}

/// `NewRSNewReplicas`: the size the new ReplicaSet may grow to now. `all` includes `new`.
pub fn new_rs_new_replicas(d: &Value, all: &[Value], new: &Value) -> i64 {
    let desired = spec_replicas(d);
    let new_size = spec_replicas(new);
    if is_recreate(d) {
        return desired;
    }
    let max_total = desired + max_surge(d);
    let current = util::sum(all, spec_replicas);
    if current >= max_total {
        return new_size;
    }
    let up = (max_total - current).min(desired - new_size);
    new_size + up
}

/// `reconcileNewReplicaSet`: the new ReplicaSet's next size, if it changes.
pub fn reconcile_new(d: &Value, all: &[Value], new: &Value) -> Option<i64> {
    let desired = spec_replicas(d);
    let size = spec_replicas(new);
    if size == desired {
        return None;
    }
    if size > desired {
        return Some(desired);
    }
    let next = new_rs_new_replicas(d, all, new);
    (next != size).then_some(next)
}

/// How many old pods may go now (`maxScaledDown` of `reconcileOldReplicaSets`).
pub fn max_scaled_down(d: &Value, all: &[Value], new: &Value) -> i64 {
    let min_available = spec_replicas(d) - max_unavailable(d);
    let new_unavailable = spec_replicas(new) - available(new);
    util::sum(all, spec_replicas) - min_available - new_unavailable
}

/// `cleanupUnhealthyReplicas`: shrink old ReplicaSets by their unavailable pods first (oldest
/// first), at most `max` in all. Returns (name, new size) for each one to change.
pub fn cleanup_unhealthy(old: &[Value], max: i64) -> Vec<(String, i64)> {
    let mut sorted: Vec<&Value> = old.iter().collect();
    sorted.sort_by(|a, b| by_creation(a, b));
    let mut done = 0;
    let mut out = Vec::new();
    for rs in sorted {
        if done >= max {
            break;
        }
        let size = spec_replicas(rs);
        if size == 0 || size == available(rs) {
            continue;
        }
        let n = (max - done).min(size - available(rs));
        out.push((rs.name().to_string(), size - n));
        done += n;
    }
    out
}

/// `scaleDownOldReplicaSetsForRollingUpdate`: shrink old ReplicaSets (oldest first) while
/// more than `replicas - maxUnavailable` pods are available across `all`.
pub fn scale_down_old(d: &Value, all: &[Value], old: &[Value]) -> Vec<(String, i64)> {
    let min_available = spec_replicas(d) - max_unavailable(d);
    let available_pods = util::sum(all, available);
    if available_pods <= min_available {
        return Vec::new();
    }
    let total = available_pods - min_available;
    let mut sorted: Vec<&Value> = old.iter().collect();
    sorted.sort_by(|a, b| by_creation(a, b));
    let mut done = 0;
    let mut out = Vec::new();
    for rs in sorted {
        if done >= total {
            break;
        }
        let size = spec_replicas(rs);
        if size == 0 {
            continue;
        }
        let n = size.min(total - done);
        out.push((rs.name().to_string(), size - n));
        done += n;
    }
    out
}

/// Apply planned sizes to copies of the ReplicaSets (to continue planning with them).
pub fn with_sizes(rss: &[Value], plan: &[(String, i64)]) -> Vec<Value> {
    rss.iter()
        .map(|rs| {
            let mut rs = rs.clone();
            if let Some((_, n)) = plan.iter().find(|(name, _)| name == rs.name()) {
                rs["spec"]["replicas"] = Value::from(*n);
            }
            rs
        })
        .collect()
}

fn annotation_int(rs: &Value, key: &str) -> Option<i64> {
    rs.annotation(key).and_then(|s| s.parse().ok())
}

/// `IsSaturated`: the new ReplicaSet has all the Deployment's replicas, available.
pub fn is_saturated(d: &Value, rs: Option<&Value>) -> bool {
    let Some(rs) = rs else { return false };
    let Some(desired) = annotation_int(rs, DESIRED_REPLICAS) else {
        return false;
    };
    let want = spec_replicas(d);
    spec_replicas(rs) == want && desired == want && available(rs) == want
}

/// `FindActiveOrLatest`: the one active ReplicaSet; the newest if none is active; None when
/// several are active.
pub fn active_or_latest(new: Option<&Value>, old: &[Value]) -> Option<Value> {
    let mut sorted: Vec<Value> = old.to_vec();
    sorted.sort_by(|a, b| by_creation(b, a));
    let mut all = sorted.clone();
    if let Some(n) = new {
        all.push(n.clone());
    }
    let act = util::active(&all);
    match act.len() {
        0 => new.cloned().or_else(|| sorted.first().cloned()),
        1 => act.into_iter().next(),
        _ => None,
    }
}

/// `getReplicaSetFraction`: how much this ReplicaSet grows or shrinks when the Deployment's
/// ceiling (replicas + maxSurge) changes from the one recorded in its max-replicas annotation.
fn fraction(rs: &Value, d: &Value) -> i64 {
    let size = spec_replicas(rs);
    if spec_replicas(d) == 0 {
        return -size;
    }
    let max_now = spec_replicas(d) + max_surge(d);
    let mut before = annotation_int(rs, MAX_REPLICAS).unwrap_or(0);
    if before == 0 {
        before = int_at(d, "/status/replicas").unwrap_or(0);
        if before == 0 {
            before = size;
        }
    }
    if before == 0 {
        return 0;
    }
    // math.Round: halves away from zero.
    let exact = (size * max_now) as f64 / before as f64;
    exact.round() as i64 - size
}

/// `GetReplicaSetProportion`.
fn proportion(rs: &Value, d: &Value, to_add: i64, added: i64) -> i64 {
    if spec_replicas(rs) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let f = fraction(rs, d);
    let allowed = to_add - added;
    if to_add > 0 {
        f.min(allowed)
    } else {
        f.max(allowed)
    }
}

/// The sizes proportional scaling gives the active ReplicaSets (`scale` in sync.go), largest
/// first; the leftover goes to the first. Returns (name, size) for every active one.
pub fn proportional(d: &Value, active: &[Value]) -> Vec<(String, i64)> {
    let total = util::sum(active, spec_replicas);
    let allowed = if spec_replicas(d) > 0 {
        spec_replicas(d) + max_surge(d)
    } else {
        0
    };
    let to_add = allowed - total;
    let mut sorted: Vec<Value> = active.to_vec();
    match to_add.cmp(&0) {
        std::cmp::Ordering::Greater => sorted.sort_by(by_size_newer),
        std::cmp::Ordering::Less => sorted.sort_by(by_size_older),
        std::cmp::Ordering::Equal => {}
    }
    let mut added = 0;
    let mut sizes: Vec<(String, i64)> = Vec::new();
    for rs in &sorted {
        if to_add != 0 {
            let p = proportion(rs, d, to_add, added);
            sizes.push((rs.name().to_string(), spec_replicas(rs) + p));
            added += p;
        } else {
            sizes.push((rs.name().to_string(), spec_replicas(rs)));
        }
    }
    if to_add != 0
        && let Some(first) = sizes.first_mut()
    {
        first.1 = (first.1 + to_add - added).max(0);
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy(replicas: i64, surge: Value, unavailable: Value) -> Value {
        json!({"metadata":{"name":"web"},"spec":{"replicas":replicas,"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":surge,"maxUnavailable":unavailable}}}})
    }

    fn rs(name: &str, secs: u32, replicas: i64, avail: i64) -> Value {
        json!({"metadata":{"name":name,"creationTimestamp":format!("2024-01-01T00:00:{secs:02}Z")},
               "spec":{"replicas":replicas},"status":{"replicas":replicas,"availableReplicas":avail}})
    }

    #[test]
    fn percentages_round_like_kubernetes() {
        assert_eq!(scaled_value(&json!("25%"), 10, true), Ok(3));
        assert_eq!(scaled_value(&json!("25%"), 10, false), Ok(2));
        assert_eq!(scaled_value(&json!("25%"), 1, true), Ok(1));
        assert_eq!(scaled_value(&json!("25%"), 1, false), Ok(0));
        assert_eq!(scaled_value(&json!("100%"), 7, false), Ok(7));
        assert_eq!(scaled_value(&json!(3), 100, false), Ok(3));
        assert!(scaled_value(&json!("3"), 10, false).is_err());
        assert!(scaled_value(&json!("x%"), 10, false).is_err());
    }

    #[test]
    fn fenceposts_never_both_zero() {
        assert_eq!(
            resolve_fenceposts(&json!("25%"), &json!("25%"), 4),
            Ok((1, 1))
        );
        assert_eq!(
            resolve_fenceposts(&json!("25%"), &json!("25%"), 10),
            Ok((3, 2))
        );
        // 10% of 3 rounds down to 0 and there is no surge: unavailable becomes 1.
        assert_eq!(resolve_fenceposts(&json!(0), &json!("10%"), 3), Ok((0, 1)));
        assert_eq!(resolve_fenceposts(&json!(1), &json!(0), 5), Ok((1, 0)));
    }

    #[test]
    fn max_unavailable_is_capped_and_zero_for_recreate() {
        assert_eq!(max_unavailable(&deploy(2, json!(0), json!(5))), 2);
        assert_eq!(max_unavailable(&deploy(0, json!(0), json!(5))), 0);
        let r = json!({"spec":{"replicas":3,"strategy":{"type":"Recreate"}}});
        assert_eq!(max_unavailable(&r), 0);
        assert_eq!(max_surge(&r), 0);
        assert_eq!(new_rs_new_replicas(&r, &[], &rs("n", 0, 0, 0)), 3);
    }

    #[test]
    fn new_replica_set_grows_by_the_surge() {
        // 5 replicas, maxSurge 1: a new RS of 0 next to an old RS of 5 may grow to 1.
        let d = deploy(5, json!(1), json!(0));
        let old = rs("old", 0, 5, 5);
        let new = rs("new", 1, 0, 0);
        let all = vec![old.clone(), new.clone()];
        assert_eq!(reconcile_new(&d, &all, &new), Some(1));
        // At the ceiling (6 pods) it cannot grow.
        let new1 = rs("new", 1, 1, 0);
        assert_eq!(reconcile_new(&d, &[old.clone(), new1.clone()], &new1), None);
        // Never past the desired count.
        let d10 = deploy(5, json!(10), json!(0));
        assert_eq!(reconcile_new(&d10, &[old, new.clone()], &new), Some(5));
        // Too big: straight down to the desired count.
        assert_eq!(
            reconcile_new(&d, &[rs("n", 0, 7, 7)], &rs("n", 0, 7, 7)),
            Some(5)
        );
    }

    #[test]
    fn max_unavailable_zero_never_drops_below_replicas() {
        // Walk a whole rollout with maxSurge 1 / maxUnavailable 0 where pods become available
        // at once: available pods never fall below 5.
        let d = deploy(5, json!(1), json!(0));
        let mut old = rs("old", 0, 5, 5);
        let mut new = rs("new", 1, 0, 0);
        for _ in 0..20 {
            let all = vec![old.clone(), new.clone()];
            if let Some(n) = reconcile_new(&d, &all, &new) {
                new = rs("new", 1, n, n);
            } else {
                let all = vec![old.clone(), new.clone()];
                let max = max_scaled_down(&d, &all, &new);
                if max > 0 {
                    let plan = scale_down_old(&d, &all, std::slice::from_ref(&old));
                    if let Some((_, n)) = plan.first() {
                        old = rs("old", 0, *n, *n);
                    }
                }
            }
            assert!(available(&old) + available(&new) >= 5);
            assert!(spec_replicas(&old) + spec_replicas(&new) <= 6);
        }
        assert_eq!((spec_replicas(&old), spec_replicas(&new)), (0, 5));
    }

    #[test]
    fn a_stalled_new_replica_set_keeps_old_pods() {
        // New pods never become available (a bad image): with maxUnavailable 1 the old RS
        // loses exactly one pod and no more.
        let d = deploy(4, json!(1), json!(1));
        let old = rs("old", 0, 4, 4);
        let new = rs("new", 1, 1, 0);
        let all = vec![old.clone(), new.clone()];
        assert_eq!(reconcile_new(&d, &all, &new), None);
        assert_eq!(max_scaled_down(&d, &all, &new), 5 - 3 - 1);
        assert_eq!(
            scale_down_old(&d, &all, std::slice::from_ref(&old)),
            vec![("old".to_string(), 3)]
        );
        let old3 = rs("old", 0, 3, 3);
        let all = vec![old3.clone(), new.clone()];
        let new2 = rs("new", 1, 2, 0);
        assert_eq!(reconcile_new(&d, &all, &new), Some(2));
        let all = vec![old3, new2.clone()];
        assert_eq!(max_scaled_down(&d, &all, &new2), 0);
    }

    #[test]
    fn unhealthy_old_pods_go_first() {
        let a = rs("a", 0, 3, 1);
        let b = rs("b", 1, 2, 0);
        assert_eq!(
            cleanup_unhealthy(&[b.clone(), a.clone()], 3),
            vec![("a".to_string(), 1), ("b".to_string(), 1)]
        );
        assert_eq!(cleanup_unhealthy(&[b, a], 1), vec![("a".to_string(), 2)]);
    }

    #[test]
    fn proportional_scaling_spreads_new_replicas() {
        // Kubernetes' documented example: 10 replicas, maxSurge 3, mid-rollout with 8 old and
        // 5 new (ceiling 13 recorded), scaled to 15 (ceiling 18): +5 split 3 old, 2 new.
        let d = deploy(15, json!(3), json!(2));
        let mut old = rs("old", 0, 8, 8);
        old["metadata"]["annotations"] = json!({MAX_REPLICAS: "13", DESIRED_REPLICAS: "10"});
        let mut new = rs("new", 1, 5, 0);
        new["metadata"]["annotations"] = json!({MAX_REPLICAS: "13", DESIRED_REPLICAS: "10"});
        let sizes = proportional(&d, &[old.clone(), new.clone()]);
        assert_eq!(sizes, vec![("old".to_string(), 11), ("new".to_string(), 7)]);
        // Scaling down to 5 (ceiling 8): -5 taken proportionally, larger (old) first.
        let d5 = deploy(5, json!(3), json!(2));
        let sizes = proportional(&d5, &[old.clone(), new.clone()]);
        assert_eq!(sizes.iter().map(|s| s.1).sum::<i64>(), 8);
        assert_eq!(sizes, vec![("old".to_string(), 5), ("new".to_string(), 3)]);
        // To zero: everything goes.
        let d0 = deploy(0, json!(3), json!(2));
        let sizes = proportional(&d0, &[old, new]);
        assert!(sizes.iter().all(|s| s.1 == 0), "{sizes:?}");
    }

    #[test]
    fn active_or_latest_and_saturation() {
        let a = rs("a", 0, 0, 0);
        let b = rs("b", 1, 0, 0);
        assert_eq!(
            active_or_latest(None, &[a.clone(), b.clone()])
                .unwrap()
                .name(),
            "b"
        );
        let n = rs("n", 2, 3, 3);
        assert_eq!(
            active_or_latest(Some(&n), &[a.clone(), b]).unwrap().name(),
            "n"
        );
        let c = rs("c", 1, 1, 1);
        assert!(active_or_latest(Some(&n), &[a, c]).is_none());
        let d = deploy(3, json!(1), json!(0));
        assert!(!is_saturated(&d, Some(&n)));
        let mut s = n.clone();
        s["metadata"]["annotations"] = json!({DESIRED_REPLICAS: "3"});
        assert!(is_saturated(&d, Some(&s)));
    }
}
