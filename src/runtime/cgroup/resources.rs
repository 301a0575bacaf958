//! Kubernetes resources → cgroup settings, with the kubelet's arithmetic
//! (pkg/kubelet/cm/helpers_linux.go and kuberuntime_container_linux.go).

use super::CgroupError;
use crate::api::quantity::Quantity;
use serde_json::Value;

/// The CFS period the kubelet uses (100 ms).
pub const DEFAULT_CPU_PERIOD_US: u64 = 100_000;
/// The kubelet's default is unlimited; peapod limits every pod so a fork bomb cannot take the
/// host. Threads count as pids too, so this leaves room for thread-heavy servers.
pub const DEFAULT_POD_PIDS_LIMIT: i64 = 1024;
const MIN_SHARES: u64 = 2;
const MAX_SHARES: u64 = 262_144;
const SHARES_PER_CPU: i64 = 1024;
/// The kernel refuses CFS quotas under 1 ms.
const MIN_QUOTA_US: i64 = 1000;

/// What one cgroup should be limited to. `None` means unlimited (or, for shares, the kernel
/// default), and `apply` writes it that way, so applying is idempotent and complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub cpu_quota_us: Option<i64>,
    pub cpu_period_us: u64,
    /// v1 `cpu.shares`; on v2 converted to `cpu.weight` by [`shares_to_weight`].
    pub cpu_shares: Option<u64>,
    pub memory_limit: Option<i64>,
    pub pids_limit: Option<i64>,
}

impl Default for Resources {
    fn default() -> Resources {
        Resources {
            cpu_quota_us: None,
            cpu_period_us: DEFAULT_CPU_PERIOD_US,
            cpu_shares: None,
            memory_limit: None,
            pids_limit: None,
        }
    }
}

impl Resources {
    /// One container's cgroup settings from its `resources.requests` and `resources.limits`
    /// maps (each a JSON object or null).
    pub fn from_k8s(requests: &Value, limits: &Value) -> Result<Resources, CgroupError> {
        Ok(K8sResources::parse(requests, limits)?.container())
    }

    /// The pod cgroup's settings, as the kubelet computes them: shares from the pod's effective
    /// cpu request; a quota and a memory limit only when every container declares that limit
    /// (then the effective pod limit: the larger of the app containers plus sidecars and the
    /// biggest init container step); and the pod pids limit.
    pub fn for_pod(
        containers: &[K8sResources],
        init_containers: &[K8sResources],
        pids_limit: Option<i64>,
    ) -> Resources {
        let all = || containers.iter().chain(init_containers);
        let cpu_declared = all().all(|c| c.cpu_limit_milli.is_some());
        let memory_declared = all().all(|c| c.memory_limit.is_some());
        let cpu_request = pod_total(containers, init_containers, |c| c.cpu_request_milli);
        let cpu_limit = pod_total(containers, init_containers, |c| {
            c.cpu_limit_milli.unwrap_or(0)
        });
        let memory_limit = pod_total(containers, init_containers, |c| c.memory_limit.unwrap_or(0));
        let has_containers = !containers.is_empty() || !init_containers.is_empty();
        Resources {
            cpu_quota_us: if cpu_declared && has_containers {
                milli_to_quota(cpu_limit, DEFAULT_CPU_PERIOD_US)
            } else {
                None
            },
            cpu_period_us: DEFAULT_CPU_PERIOD_US,
            cpu_shares: Some(milli_to_shares(cpu_request)),
            memory_limit: (memory_declared && has_containers && memory_limit > 0)
                .then_some(memory_limit),
            pids_limit,
        }
    }
}

/// Kubernetes' PodRequests/PodLimits: app containers and sidecars run together; each plain
/// init container runs alone next to the sidecars started before it; the pod needs the larger.
fn pod_total(
    containers: &[K8sResources],
    init_containers: &[K8sResources],
    f: impl Fn(&K8sResources) -> i64,
) -> i64 {
    let mut sidecars: i64 = 0;
    let mut init_peak: i64 = 0;
    for c in init_containers {
        let step = if c.sidecar {
            sidecars = sidecars.saturating_add(f(c));
            sidecars
        } else {
            sidecars.saturating_add(f(c))
        };
        init_peak = init_peak.max(step);
    }
    let app = containers
        .iter()
        .fold(0i64, |acc, c| acc.saturating_add(f(c)));
    app.saturating_add(sidecars).max(init_peak)
}

/// One container's requests and limits as numbers (cpu in millicores, memory in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct K8sResources {
    pub cpu_request_milli: i64,
    pub cpu_limit_milli: Option<i64>,
    pub memory_request: i64,
    pub memory_limit: Option<i64>,
    /// An init container with `restartPolicy: Always`: runs for the pod's whole life.
    pub sidecar: bool,
}

impl K8sResources {
    /// From a container object (`resources.requests`, `resources.limits`, `restartPolicy`).
    pub fn from_container(container: &Value) -> Result<K8sResources, CgroupError> {
        let res = container.get("resources").unwrap_or(&Value::Null);
        let mut r = K8sResources::parse(
            res.get("requests").unwrap_or(&Value::Null),
            res.get("limits").unwrap_or(&Value::Null),
        )?;
        r.sidecar = container.get("restartPolicy").and_then(Value::as_str) == Some("Always");
        Ok(r)
    }

    /// From the two maps. A missing request defaults to the limit, as the API server defaults
    /// it; a zero limit means no limit, as in the kubelet.
    pub fn parse(requests: &Value, limits: &Value) -> Result<K8sResources, CgroupError> {
        let cpu_limit = quantity(limits, "limits", "cpu")?.map(|q| clamp(q.milli_value()));
        let mem_limit = quantity(limits, "limits", "memory")?.map(|q| clamp(q.value()));
        let cpu_request = quantity(requests, "requests", "cpu")?.map(|q| clamp(q.milli_value()));
        let mem_request = quantity(requests, "requests", "memory")?.map(|q| clamp(q.value()));
        Ok(K8sResources {
            cpu_request_milli: cpu_request.or(cpu_limit).unwrap_or(0),
            cpu_limit_milli: cpu_limit.filter(|&v| v != 0),
            memory_request: mem_request.or(mem_limit).unwrap_or(0),
            memory_limit: mem_limit.filter(|&v| v != 0),
            sidecar: false,
        })
    }

    /// The container cgroup's settings (kubelet's calculateLinuxResources). No pids limit:
    /// Kubernetes limits pids per pod, not per container.
    pub fn container(&self) -> Resources {
        Resources {
            cpu_quota_us: self
                .cpu_limit_milli
                .and_then(|m| milli_to_quota(m, DEFAULT_CPU_PERIOD_US)),
            cpu_period_us: DEFAULT_CPU_PERIOD_US,
            cpu_shares: Some(milli_to_shares(self.cpu_request_milli)),
            memory_limit: self.memory_limit,
            pids_limit: None,
        }
    }

    /// Whether the container asks for nothing (its pod may be BestEffort).
    pub fn is_empty(&self) -> bool {
        self.cpu_request_milli == 0
            && self.cpu_limit_milli.is_none()
            && self.memory_request == 0
            && self.memory_limit.is_none()
    }
}

fn quantity(map: &Value, which: &str, key: &str) -> Result<Option<Quantity>, CgroupError> {
    let v = match map {
        Value::Null => return Ok(None),
        Value::Object(m) => match m.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(v) => v,
        },
        other => {
            return Err(CgroupError::Invalid(format!(
                "resources.{which}: must be a map such as {{\"cpu\": \"500m\"}}, not {other}"
            )));
        }
    };
    let q = Quantity::from_json(v)
        .map_err(|e| CgroupError::Invalid(format!("resources.{which}.{key}: {e}")))?;
    if q.nano_value() < 0 {
        return Err(CgroupError::Invalid(format!(
            "resources.{which}.{key}: must be greater than or equal to 0, not {q}"
        )));
    }
    Ok(Some(q))
}

fn clamp(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// kubelet MilliCPUToShares: 1 cpu = 1024 shares, at least 2, at most 262144.
pub fn milli_to_shares(milli: i64) -> u64 {
    if milli <= 0 {
        return MIN_SHARES;
    }
    let shares = (milli as i128 * SHARES_PER_CPU as i128 / 1000) as u128;
    shares.clamp(MIN_SHARES as u128, MAX_SHARES as u128) as u64
}

/// kubelet MilliCPUToQuota: 500m is 50000 µs per 100000 µs, at least 1 ms; 0 means no quota.
pub fn milli_to_quota(milli: i64, period_us: u64) -> Option<i64> {
    if milli <= 0 {
        return None;
    }
    let quota = milli as i128 * period_us as i128 / 1000;
    Some(clamp(quota).max(MIN_QUOTA_US))
}

/// runc's v1 shares → v2 weight mapping: [2, 262144] onto [1, 10000].
pub fn shares_to_weight(shares: u64) -> u64 {
    let s = shares.clamp(MIN_SHARES, MAX_SHARES);
    1 + ((s - 2) * 9999) / 262_142
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn k(requests: Value, limits: Value) -> K8sResources {
        K8sResources::parse(&requests, &limits).unwrap()
    }

    #[test]
    fn half_a_cpu_and_128mi() {
        let r =
            Resources::from_k8s(&Value::Null, &json!({"cpu": "500m", "memory": "128Mi"})).unwrap();
        assert_eq!(r.cpu_quota_us, Some(50_000));
        assert_eq!(r.cpu_period_us, 100_000);
        // The request defaults to the limit: 500m → 512 shares.
        assert_eq!(r.cpu_shares, Some(512));
        assert_eq!(r.memory_limit, Some(134_217_728));
        assert_eq!(r.pids_limit, None);
    }

    #[test]
    fn kubelet_share_and_quota_arithmetic() {
        assert_eq!(milli_to_shares(0), 2);
        assert_eq!(milli_to_shares(1), 2);
        assert_eq!(milli_to_shares(100), 102);
        assert_eq!(milli_to_shares(1000), 1024);
        assert_eq!(milli_to_shares(1_000_000), 262_144);
        assert_eq!(milli_to_quota(0, 100_000), None);
        assert_eq!(milli_to_quota(1, 100_000), Some(1000));
        assert_eq!(milli_to_quota(2500, 100_000), Some(250_000));
        assert_eq!(milli_to_quota(i64::MAX, 100_000), Some(i64::MAX));
    }

    #[test]
    fn weight_spans_one_to_ten_thousand() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(0), 1);
        assert_eq!(shares_to_weight(u64::MAX), 10_000);
    }

    #[test]
    fn requests_only_give_shares_and_no_limits() {
        let r = Resources::from_k8s(&json!({"cpu": "250m", "memory": "64Mi"}), &json!({})).unwrap();
        assert_eq!(r.cpu_shares, Some(256));
        assert_eq!(r.cpu_quota_us, None);
        assert_eq!(r.memory_limit, None);
        let empty = Resources::from_k8s(&Value::Null, &Value::Null).unwrap();
        assert_eq!(empty.cpu_shares, Some(2));
        assert!(k(Value::Null, Value::Null).is_empty());
    }

    #[test]
    fn zero_limit_is_no_limit_and_numbers_are_quantities() {
        let r = Resources::from_k8s(&Value::Null, &json!({"cpu": 0, "memory": "0"})).unwrap();
        assert_eq!((r.cpu_quota_us, r.memory_limit), (None, None));
        let r = Resources::from_k8s(&Value::Null, &json!({"cpu": 2, "memory": "1G"})).unwrap();
        assert_eq!(r.cpu_quota_us, Some(200_000));
        assert_eq!(r.memory_limit, Some(1_000_000_000));
    }

    #[test]
    fn bad_input_is_an_error_naming_the_field() {
        let e = Resources::from_k8s(&Value::Null, &json!({"cpu": "lots"})).unwrap_err();
        assert!(e.to_string().starts_with("resources.limits.cpu:"), "{e}");
        let e = Resources::from_k8s(&json!({"memory": "-1"}), &Value::Null).unwrap_err();
        assert!(e.to_string().contains("resources.requests.memory"), "{e}");
        let e = Resources::from_k8s(&json!("1"), &Value::Null).unwrap_err();
        assert!(e.to_string().contains("must be a map"), "{e}");
    }

    #[test]
    fn pod_gets_the_sum_when_every_container_has_limits() {
        let a = k(
            json!({"cpu": "100m"}),
            json!({"cpu": "500m", "memory": "128Mi"}),
        );
        let b = k(Value::Null, json!({"cpu": "250m", "memory": "64Mi"}));
        let r = Resources::for_pod(&[a, b], &[], Some(1024));
        assert_eq!(r.cpu_quota_us, Some(75_000));
        assert_eq!(r.memory_limit, Some(192 << 20));
        assert_eq!(r.cpu_shares, Some(milli_to_shares(350)));
        assert_eq!(r.pids_limit, Some(1024));
    }

    #[test]
    fn one_container_without_a_limit_leaves_the_pod_unlimited() {
        let a = k(Value::Null, json!({"cpu": "500m", "memory": "128Mi"}));
        let b = k(json!({"cpu": "100m"}), json!({"memory": "64Mi"}));
        let r = Resources::for_pod(&[a, b], &[], None);
        assert_eq!(r.cpu_quota_us, None);
        assert_eq!(r.memory_limit, Some(192 << 20));
        let best_effort = Resources::for_pod(&[K8sResources::default()], &[], Some(64));
        assert_eq!(best_effort.cpu_shares, Some(2));
        assert_eq!(
            (best_effort.cpu_quota_us, best_effort.memory_limit),
            (None, None)
        );
        assert_eq!(Resources::for_pod(&[], &[], None).memory_limit, None);
    }

    #[test]
    fn init_containers_count_by_their_peak_and_sidecars_add_up() {
        let app = k(Value::Null, json!({"cpu": "500m", "memory": "100Mi"}));
        let big_init = k(Value::Null, json!({"cpu": "2", "memory": "50Mi"}));
        let r = Resources::for_pod(&[app], &[big_init], None);
        // cpu: the init step (2000m) beats the app (500m); memory: the app beats the init.
        assert_eq!(r.cpu_quota_us, Some(200_000));
        assert_eq!(r.memory_limit, Some(100 << 20));

        let sidecar = K8sResources::from_container(&json!({
            "name": "log", "restartPolicy": "Always",
            "resources": {"limits": {"cpu": "100m", "memory": "10Mi"}}
        }))
        .unwrap();
        assert!(sidecar.sidecar);
        let r = Resources::for_pod(&[app], &[sidecar], None);
        assert_eq!(r.cpu_quota_us, Some(60_000));
        assert_eq!(r.memory_limit, Some(110 << 20));
    }
}
