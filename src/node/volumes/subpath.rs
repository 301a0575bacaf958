//! A container's volumeMounts as runtime bind mounts: subPath and subPathExpr resolved
//! inside the volume (created when missing, never escaping it), readOnly honoured.

use super::{PodVolumes, VolumeError};
use crate::api::object::ObjectExt;
use crate::runtime::container::{Mount, MountKind};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

fn err(volume: &str, message: impl Into<String>) -> VolumeError {
    VolumeError {
        volume: volume.to_string(),
        message: message.into(),
    }
}

/// Volume types Kubernetes always mounts read-only.
fn always_readonly(volume: &Value) -> bool {
    ["configMap", "secret", "downwardAPI", "projected"]
        .iter()
        .any(|k| volume.get(*k).is_some())
        || volume
            .pointer("/persistentVolumeClaim/readOnly")
            .and_then(Value::as_bool)
            .unwrap_or(false)
}

pub fn mounts(
    volumes: &PodVolumes,
    pod: &Value,
    container: &Value,
) -> Result<Vec<Mount>, VolumeError> {
    let cname = container.get("name").and_then(Value::as_str).unwrap_or("");
    let declared: Vec<&Value> = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for vm in container
        .get("volumeMounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = vm.get("name").and_then(Value::as_str).unwrap_or("");
        let volume = declared
            .iter()
            .find(|v| v.get("name").and_then(Value::as_str) == Some(name))
            .ok_or_else(|| {
                err(
                    name,
                    format!("cannot find volume \"{name}\" to mount into container \"{cname}\""),
                )
            })?;
        let host = volumes
            .paths
            .get(name)
            .ok_or_else(|| err(name, "the volume has not been set up"))?;
        let mount_path = vm.get("mountPath").and_then(Value::as_str).unwrap_or("");
        if mount_path.is_empty() {
            return Err(err(
                name,
                format!("volumeMount \"{name}\" of container \"{cname}\" has no mountPath"),
            ));
        }
        let readonly =
            vm.get("readOnly").and_then(Value::as_bool).unwrap_or(false) || always_readonly(volume);
        let sub = match vm.get("subPathExpr").and_then(Value::as_str) {
            Some(expr) if !expr.is_empty() => expand(expr, &env_of(pod, container)),
            _ => vm
                .get("subPath")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        };
        let source = if sub.is_empty() {
            host.clone()
        } else {
            resolve(host, &sub).map_err(|e| err(name, e))?
        };
        out.push(Mount {
            source,
            destination: Path::new("/").join(mount_path),
            kind: MountKind::Bind { readonly },
        });
    }
    Ok(out)
}

/// The host path of `sub` inside the volume at `root`: rejected when absolute or with
/// `..` (the kubelet's messages), created as directories when missing (with the volume's
/// mode), and refused when a symlink leads out of the volume.
pub fn resolve(root: &Path, sub: &str) -> Result<PathBuf, String> {
    if Path::new(sub).is_absolute() {
        return Err(format!(
            "error SubPath `{sub}` must not be an absolute path"
        ));
    }
    if sub.split('/').any(|part| part == "..") {
        return Err(format!(
            "unable to provision SubPath `{sub}`: must not contain '..'"
        ));
    }
    let base =
        fs::canonicalize(root).map_err(|e| format!("volume path {}: {e}", root.display()))?;
    let mode = fs::metadata(&base)
        .map(|m| m.mode() & 0o7777)
        .unwrap_or(0o755);
    let outside = |p: &Path| {
        format!(
            "subPath `{sub}` resolves to {}, outside of the volume {}",
            p.display(),
            base.display()
        )
    };
    // Walk one component at a time so every step is checked before anything is created.
    let mut cur = base.clone();
    for c in Path::new(sub).components() {
        let Component::Normal(part) = c else {
            continue;
        };
        let next = cur.join(part);
        match fs::symlink_metadata(&next) {
            Ok(_) => {
                let real = fs::canonicalize(&next)
                    .map_err(|e| format!("subPath `{sub}`: {}: {e}", next.display()))?;
                if !real.starts_with(&base) {
                    return Err(outside(&real));
                }
                cur = real;
            }
            Err(_) => {
                fs::create_dir(&next)
                    .and_then(|()| fs::set_permissions(&next, fs::Permissions::from_mode(mode)))
                    .map_err(|e| {
                        format!(
                            "unable to provision SubPath `{sub}`: {}: {e}",
                            next.display()
                        )
                    })?;
                cur = next;
            }
        }
    }
    Ok(cur)
}

/// What subPathExpr may refer to without the full container environment: literal `env`
/// values and fieldRefs of the pod's metadata and spec.
fn env_of(pod: &Value, container: &Value) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for e in container
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = e.get("name").and_then(Value::as_str) else {
            continue;
        };
        let value = if let Some(v) = e.get("value").and_then(Value::as_str) {
            Some(expand(v, &env))
        } else if let Some(f) = e
            .pointer("/valueFrom/fieldRef/fieldPath")
            .and_then(Value::as_str)
        {
            match f {
                "metadata.name" => Some(pod.name().to_string()),
                "metadata.namespace" => Some(pod.namespace().unwrap_or("default").to_string()),
                "metadata.uid" => Some(pod.uid().to_string()),
                "spec.nodeName" => pod.str_at("/spec/nodeName").map(str::to_string),
                "spec.serviceAccountName" => {
                    pod.str_at("/spec/serviceAccountName").map(str::to_string)
                }
                _ => None,
            }
        } else {
            None
        };
        if let Some(v) = value {
            env.insert(name.to_string(), v);
        }
    }
    env
}

/// Kubernetes' `$(VAR)` expansion: known names replaced, unknown kept, `$$` → `$`.
fn expand(input: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(body) = after.strip_prefix('(')
            && let Some(end) = body.find(')')
        {
            let name = &body[..end];
            match env.get(name) {
                Some(v) => out.push_str(v),
                None => out.push_str(&rest[i..i + 3 + end]),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_follows_kubernetes() {
        let env: BTreeMap<String, String> = [("POD".to_string(), "web-0".to_string())].into();
        assert_eq!(expand("logs/$(POD)", &env), "logs/web-0");
        assert_eq!(expand("$(NOPE)/x", &env), "$(NOPE)/x");
        assert_eq!(expand("a$$(POD)", &env), "a$(POD)");
        assert_eq!(expand("$(POD", &env), "$(POD");
    }
}
