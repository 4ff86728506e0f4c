//! The three calls leader election makes to the Kubernetes API server (get, create and
//! replace one `coordination.k8s.io/v1` Lease), with the pod's service account.
//!
//! In a pod, Kubernetes mounts the service account at
//! `/var/run/secrets/kubernetes.io/serviceaccount/` (`token`, `ca.crt`, `namespace`) and sets
//! `KUBERNETES_SERVICE_HOST` / `KUBERNETES_SERVICE_PORT`. The token is re-read for every call:
//! the kubelet rotates it. Two environment variables override these for tests or unusual
//! setups:
//!
//! - `KUBERNETES_SERVICE_ACCOUNT_DIR`: the directory holding `token`, `namespace` and
//!   (for `https`) `ca.crt`;
//! - `KUBERNETES_API_URL`: the API server's base URL instead of
//!   `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT` (`http://` only for a local
//!   stand-in; the token is then sent in clear).
//!
//! The `kube` crate with k8s-openapi would do this too, at the cost of a large build for three
//! calls; reqwest (already a dependency) and the small [`Lease`] model below are enough.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Where Kubernetes mounts the service account.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// How long one call to the API server may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Why talking to the API server failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KubeError {
    /// A service account file cannot be read.
    #[error("cannot read {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The API server's address or CA is unusable.
    #[error("Kubernetes API client: {0}")]
    Setup(String),
    /// The API server could not be reached.
    #[error("Kubernetes API server unreachable: {0}")]
    Transport(#[source] reqwest::Error),
    /// 409: the Lease changed since it was read (stale resourceVersion), or already exists.
    #[error("the Lease was changed by someone else (409 Conflict)")]
    Conflict,
    /// 401/403: the service account may not do this (see deploy/kubernetes/rbac.yaml).
    #[error("the service account may not {verb} leases (HTTP {status}): {message}")]
    Forbidden {
        /// get, create or update.
        verb: &'static str,
        /// 401 or 403.
        status: u16,
        /// The API server's message.
        message: String,
    },
    /// Any other answer.
    #[error("the API server answered HTTP {status} to {verb}: {message}")]
    Status {
        /// get, create or update.
        verb: &'static str,
        /// The status.
        status: u16,
        /// The API server's message.
        message: String,
    },
    /// The answer is not a Lease.
    #[error("the API server's answer is not a Lease: {0}")]
    Decode(String),
}

/// A `coordination.k8s.io/v1` Lease. Unknown fields are kept, so a replace sends them back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// `coordination.k8s.io/v1`.
    #[serde(default)]
    pub api_version: String,
    /// `Lease`.
    #[serde(default)]
    pub kind: String,
    /// Name, namespace, resourceVersion, annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The holder and its times.
    #[serde(default)]
    pub spec: LeaseSpec,
}

/// The Lease's metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Annotations (Switchboard keeps its handled events here).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The object's name.
    #[serde(default)]
    pub name: String,
    /// Its namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The version a replace must name (optimistic concurrency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// The Lease's spec, as client-go's leader election writes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseSpec {
    /// When the current holder acquired it (MicroTime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquire_time: Option<String>,
    /// The holder's identity; empty or absent: free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_identity: Option<String>,
    /// How long the holder's claim lasts after its last renewal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_duration_seconds: Option<i32>,
    /// How many times the holder changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_transitions: Option<i32>,
    /// When the holder last renewed (MicroTime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_time: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A MicroTime as the API server writes it: RFC 3339, UTC, microseconds.
pub fn micro_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The service account and API server this pod uses.
#[derive(Debug, Clone)]
pub struct InCluster {
    base: url::Url,
    token_file: PathBuf,
    namespace: String,
    http: reqwest::Client,
}

impl InCluster {
    /// Whether this process runs in a Kubernetes pod with a service account (or the overrides
    /// point at one).
    pub fn detected() -> bool {
        (std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
            || std::env::var_os("KUBERNETES_API_URL").is_some())
            && account_dir().join("token").is_file()
    }

    /// The pod's service account and API server.
    pub fn from_environment() -> Result<InCluster, KubeError> {
        let dir = account_dir();
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| KubeError::File { path, source })
        };
        let namespace = String::from_utf8_lossy(&read("namespace")?)
            .trim()
            .to_owned();
        let base = match std::env::var("KUBERNETES_API_URL") {
            Ok(url) => url,
            Err(_) => {
                let host = std::env::var("KUBERNETES_SERVICE_HOST").map_err(|_| {
                    KubeError::Setup("KUBERNETES_SERVICE_HOST is not set".to_owned())
                })?;
                let port =
                    std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".to_owned());
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host
                };
                format!("https://{host}:{port}")
            }
        };
        let base = url::Url::parse(&base)
            .map_err(|e| KubeError::Setup(format!("API server URL `{base}`: {e}")))?;
        let mut builder = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none());
        if base.scheme() == "https" {
            let ca = read("ca.crt")?;
            let certs = reqwest::Certificate::from_pem_bundle(&ca)
                .map_err(|e| KubeError::Setup(format!("ca.crt: {e}")))?;
            builder = builder.tls_certs_only(certs);
        }
        let http = builder
            .build()
            .map_err(|e| KubeError::Setup(e.to_string()))?;
        Ok(InCluster {
            base,
            token_file: dir.join("token"),
            namespace,
            http,
        })
    }

    /// The pod's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The token, read now (it rotates).
    fn token(&self) -> Result<String, KubeError> {
        std::fs::read_to_string(&self.token_file)
            .map(|t| t.trim().to_owned())
            .map_err(|source| KubeError::File {
                path: self.token_file.clone(),
                source,
            })
    }

    fn leases_url(&self, name: Option<&str>) -> Result<url::Url, KubeError> {
        let mut url = self.base.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| KubeError::Setup("the API server URL cannot be a base".into()))?;
            segments.pop_if_empty().extend([
                "apis",
                "coordination.k8s.io",
                "v1",
                "namespaces",
                &self.namespace,
                "leases",
            ]);
            if let Some(name) = name {
                segments.push(name);
            }
        }
        Ok(url)
    }

    /// The Lease `name`; `None` when it does not exist.
    pub async fn get_lease(&self, name: &str) -> Result<Option<Lease>, KubeError> {
        let request = self.http.get(self.leases_url(Some(name))?);
        match self.send("get", request).await {
            Ok(lease) => Ok(Some(lease)),
            Err(KubeError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates `lease`; [`KubeError::Conflict`] when it exists already.
    pub async fn create_lease(&self, lease: &Lease) -> Result<Lease, KubeError> {
        let request = self.http.post(self.leases_url(None)?).json(lease);
        self.send("create", request).await
    }

    /// Replaces `lease`, which names the resourceVersion it was read at;
    /// [`KubeError::Conflict`] when it changed since.
    pub async fn replace_lease(&self, lease: &Lease) -> Result<Lease, KubeError> {
        let request = self
            .http
            .put(self.leases_url(Some(&lease.metadata.name))?)
            .json(lease);
        self.send("update", request).await
    }

    async fn send(
        &self,
        verb: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<Lease, KubeError> {
        let response = request
            .bearer_auth(self.token()?)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| KubeError::Transport(e.without_url()))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| KubeError::Transport(e.without_url()))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body).map_err(|e| KubeError::Decode(e.to_string()));
        }
        // A Status object: {"kind":"Status","message":…,"reason":…,"code":…}.
        let message = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
        Err(match status {
            409 => KubeError::Conflict,
            401 | 403 => KubeError::Forbidden {
                verb,
                status,
                message,
            },
            _ => KubeError::Status {
                verb,
                status,
                message,
            },
        })
    }
}

fn account_dir() -> PathBuf {
    std::env::var_os("KUBERNETES_SERVICE_ACCOUNT_DIR").map_or_else(
        || Path::new(SERVICE_ACCOUNT_DIR).to_path_buf(),
        PathBuf::from,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_round_trips_with_fields_it_does_not_know() {
        let json = serde_json::json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "switchboard", "namespace": "chat", "resourceVersion": "42",
                         "uid": "u-1", "labels": {"a": "b"}},
            "spec": {"holderIdentity": "pod-1", "leaseDurationSeconds": 15,
                     "acquireTime": "2026-12-05T14:00:00.000000Z",
                     "renewTime": "2026-12-05T14:00:02.123456Z", "leaseTransitions": 3,
                     "preferredHolder": "x"}
        });
        let lease: Lease = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(lease.spec.holder_identity.as_deref(), Some("pod-1"));
        assert_eq!(lease.metadata.resource_version.as_deref(), Some("42"));
        assert_eq!(serde_json::to_value(&lease).unwrap(), json);
    }

    #[test]
    fn micro_times_are_written_as_the_api_server_does() {
        let at = chrono::DateTime::from_timestamp(1_764_943_200, 123_456_000).unwrap();
        assert_eq!(micro_time(at), "2025-12-05T14:00:00.123456Z");
    }
}
