//! Listing the keys of a key-value bucket.
//!
//! Key design decision: keys are read from the bucket stream's subject counts (a plain,
//! paged request) rather than with the client's `keys()`, which reads them through an ordered
//! push consumer that ends on a pending count taken when it was created. In the workers'
//! bucket entries expire and are replaced all the time; when the last expected entry went
//! before it was delivered, that listing waited far longer than a tick (for good, in the
//! tests), and with it `cimhunt status` and a worker's whole loop — heartbeat, reducing and
//! all. A request either answers or fails within the JetStream timeout.

use std::time::Duration;

use async_nats::jetstream::kv;
use futures_util::StreamExt;

use crate::error::ClusterError;

/// How long a listing may take in all.
const LIMIT: Duration = Duration::from_secs(30);

/// The keys that hold a value or a deletion marker now (a caller reading them skips deleted
/// ones), sorted.
pub(crate) async fn keys(store: &kv::Store) -> Result<Vec<String>, ClusterError> {
    let what = || format!("listing the keys of {}", store.name);
    let list = async {
        let mut subjects = store
            .stream
            .info_with_subjects(format!("{}>", store.prefix))
            .await
            .map_err(|e| ClusterError::nats(what(), e))?;
        let mut out = Vec::new();
        while let Some(next) = subjects.next().await {
            let (subject, _) = next.map_err(|e| ClusterError::nats(what(), e))?;
            if let Some(key) = subject.strip_prefix(store.prefix.as_str()) {
                out.push(key.to_owned());
            }
        }
        out.sort();
        Ok(out)
    };
    tokio::time::timeout(LIMIT, list).await.map_err(|_| {
        ClusterError::nats(what(), format!("no answer within {} s", LIMIT.as_secs()))
    })?
}
